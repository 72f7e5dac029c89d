"""Triggers: when to update."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field

from lifelong.config.base import Duration, Strict


class IntervalTriggerConfig(Strict):
    """Fire every ``every`` since the last training."""

    kind: Literal["interval"]
    every: Duration


class CronTriggerConfig(Strict):
    """Fire at the times of a cron expression (UTC)."""

    kind: Literal["cron"]
    expression: str


class VolumeTriggerConfig(Strict):
    """Fire when labeled rows grew by ``growth`` (0.5 = +50%) since the last training."""

    kind: Literal["volume"]
    growth: float = Field(gt=0)
    min_rows: int = Field(default=100, ge=0)


class DriftTriggerConfig(Strict):
    """Fire on a drift that matters: the last ``persistence`` windows all drifted (features that carry at
    least ``min_importance`` of the model's importance, Benjamini-Hochberg at ``alpha``, or the scores) and
    the metric dropped by ``min_impact`` (estimated by CBPE or measured on complete labels)."""

    kind: Literal["drift"]
    window: Duration = timedelta(days=1)
    persistence: int = Field(default=2, ge=1)
    alpha: float = Field(default=0.01, gt=0, lt=1)
    numeric_test: Literal["ks", "psi", "wasserstein"] = "ks"
    categorical_test: Literal["chi2", "psi"] = "chi2"
    min_importance: float = Field(default=0.2, ge=0, le=1)
    prediction_alpha: float = Field(default=0.01, gt=0, lt=1)
    min_rows: int = Field(default=200, ge=2)
    require_impact: bool = True
    min_impact: float = Field(default=0.02, ge=0)


class PerformanceTriggerConfig(Strict):
    """Fire when the loss on the latest complete window is significantly above the champion's held-out loss
    (one-sided Welch t-test at ``alpha``) and rose by at least ``min_increase``."""

    kind: Literal["performance"]
    window: Duration = timedelta(days=1)
    loss: Literal["error", "log_loss", "brier"] = "log_loss"
    alpha: float = Field(default=0.01, gt=0, lt=1)
    min_increase: float = Field(default=0.0, ge=0)
    min_rows: int = Field(default=100, ge=2)
    lookback: int = Field(default=3, ge=1)


class CostTriggerConfig(Strict):
    """Fire when the expected gain (points of 0.01 of the metric, at ``value_per_point`` each) exceeds the
    training cost (mean CPU seconds at ``cost_per_cpu_second``), both from recent recorded updates."""

    kind: Literal["cost"]
    value_per_point: float = Field(gt=0)
    cost_per_cpu_second: float = Field(gt=0)
    history: int = Field(default=10, ge=1)
    min_history: int = Field(default=2, ge=1)


LeafTriggerConfig = Annotated[
    IntervalTriggerConfig
    | CronTriggerConfig
    | VolumeTriggerConfig
    | DriftTriggerConfig
    | PerformanceTriggerConfig
    | CostTriggerConfig,
    Field(discriminator="kind"),
]


class TriggersConfig(Strict):
    """Combination of triggers: ``any`` fires when one fires, ``all`` when every one does."""

    combine: Literal["any", "all"] = "any"
    cooldown: Duration = timedelta(0)
    triggers: tuple[LeafTriggerConfig, ...] = (
        IntervalTriggerConfig(kind="interval", every=timedelta(days=1)),
    )


__all__ = [
    "CostTriggerConfig",
    "CronTriggerConfig",
    "DriftTriggerConfig",
    "IntervalTriggerConfig",
    "LeafTriggerConfig",
    "PerformanceTriggerConfig",
    "TriggersConfig",
    "VolumeTriggerConfig",
]
