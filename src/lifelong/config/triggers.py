"""Triggers: when to update."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

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


class ADWINConfig(Strict):
    """ADWIN (River's ``drift.ADWIN``) on any numeric stream; River's defaults."""

    kind: Literal["adwin"]
    delta: float = Field(default=0.002, gt=0, lt=1)
    clock: int = Field(default=32, ge=1)
    max_buckets: int = Field(default=5, ge=1)
    min_window_length: int = Field(default=5, ge=1)
    grace_period: int = Field(default=10, ge=1)


class PageHinkleyConfig(Strict):
    """Page-Hinkley (River's ``drift.PageHinkley``) on any numeric stream; River's defaults."""

    kind: Literal["page_hinkley"]
    min_instances: int = Field(default=30, ge=1)
    delta: float = Field(default=0.005, ge=0)
    threshold: float = Field(default=50.0, gt=0)
    alpha: float = Field(default=1 - 0.0001, gt=0, le=1)
    mode: Literal["up", "down", "both"] = "both"


class KSWINConfig(Strict):
    """KSWIN (River's ``drift.KSWIN``) on any numeric stream; seeded for reproducible runs."""

    kind: Literal["kswin"]
    alpha: float = Field(default=0.005, gt=0, lt=1)
    window_size: int = Field(default=100, ge=2)
    stat_size: int = Field(default=30, ge=1)
    seed: int = 0

    @model_validator(mode="after")
    def _sizes(self) -> KSWINConfig:
        if self.stat_size >= self.window_size:
            raise ValueError(f"stat_size: expected fewer than window_size ({self.window_size}), got {self.stat_size}")
        return self


class DDMConfig(Strict):
    """DDM (River's ``drift.binary.DDM``) on the 0/1 error stream."""

    kind: Literal["ddm"]
    warm_start: int = Field(default=30, ge=1)
    warning_threshold: float = Field(default=2.0, gt=0)
    drift_threshold: float = Field(default=3.0, gt=0)

    @model_validator(mode="after")
    def _thresholds(self) -> DDMConfig:
        if self.drift_threshold <= self.warning_threshold:
            raise ValueError(f"drift_threshold: expected more than warning_threshold ({self.warning_threshold}), got {self.drift_threshold}")
        return self


class EDDMConfig(Strict):
    """EDDM (River's ``drift.binary.EDDM``) on the 0/1 error stream."""

    kind: Literal["eddm"]
    warm_start: int = Field(default=30, ge=1)
    alpha: float = Field(default=0.95, gt=0, lt=1)
    beta: float = Field(default=0.9, gt=0, lt=1)

    @model_validator(mode="after")
    def _levels(self) -> EDDMConfig:
        if self.beta >= self.alpha:
            raise ValueError(f"beta: expected less than alpha ({self.alpha}), got {self.beta}")
        return self


class HDDMAConfig(Strict):
    """HDDM-A (River's ``drift.binary.HDDMA``) on the 0/1 error stream."""

    kind: Literal["hddm_a"]
    drift_confidence: float = Field(default=0.001, gt=0, lt=1)
    warning_confidence: float = Field(default=0.005, gt=0, lt=1)
    two_sided_test: bool = False


class HDDMWConfig(Strict):
    """HDDM-W (River's ``drift.binary.HDDMW``) on the 0/1 error stream."""

    kind: Literal["hddm_w"]
    drift_confidence: float = Field(default=0.001, gt=0, lt=1)
    warning_confidence: float = Field(default=0.005, gt=0, lt=1)
    lambda_val: float = Field(default=0.05, gt=0, lt=1)
    two_sided_test: bool = False


BINARY_DETECTORS = ("ddm", "eddm", "hddm_a", "hddm_w")


def _detector_kind(value: Any) -> Any:
    """``detector: adwin`` is short for ``detector: {kind: adwin}`` (River's defaults)."""
    return {"kind": value} if isinstance(value, str) else value


DetectorConfig = Annotated[
    ADWINConfig | PageHinkleyConfig | KSWINConfig | DDMConfig | EDDMConfig | HDDMAConfig | HDDMWConfig,
    Field(discriminator="kind"),
    BeforeValidator(_detector_kind),
]


class DetectorTriggerConfig(Strict):
    """Fire when a streaming detector, fed check after check with ``stream`` (``error``: the 0/1 errors on
    labeled rows; ``prediction``: the champion's scores; ``feature:NAME``: a numeric input), signalled
    ``persistence`` changes since the last training and the metric dropped by ``min_impact`` (estimated by CBPE,
    or measured on final labels with an error rate significantly higher at ``alpha``). A restart rebuilds the detector by replaying at most ``replay`` of the stream."""

    kind: Literal["detector"]
    detector: DetectorConfig = ADWINConfig(kind="adwin")
    stream: str = Field(default="error", pattern=r"^(error|prediction|feature:\S+)$")
    persistence: int = Field(default=1, ge=1)
    replay: Duration = timedelta(days=7)
    min_rows: int = Field(default=200, ge=2)
    require_impact: bool = True
    min_impact: float = Field(default=0.02, ge=0)
    alpha: float = Field(default=0.01, gt=0, lt=1)

    @model_validator(mode="after")
    def _binary_reads_errors(self) -> DetectorTriggerConfig:
        if self.detector.kind in BINARY_DETECTORS and self.stream != "error":
            raise ValueError(f"stream: expected 'error' for the {self.detector.kind} detector (it reads 0/1 errors), got {self.stream!r}")
        return self


LeafTriggerConfig = Annotated[
    IntervalTriggerConfig
    | CronTriggerConfig
    | VolumeTriggerConfig
    | DriftTriggerConfig
    | PerformanceTriggerConfig
    | CostTriggerConfig
    | DetectorTriggerConfig,
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
    "ADWINConfig",
    "CostTriggerConfig",
    "CronTriggerConfig",
    "DDMConfig",
    "DetectorConfig",
    "DetectorTriggerConfig",
    "DriftTriggerConfig",
    "EDDMConfig",
    "HDDMAConfig",
    "HDDMWConfig",
    "IntervalTriggerConfig",
    "KSWINConfig",
    "LeafTriggerConfig",
    "PageHinkleyConfig",
    "PerformanceTriggerConfig",
    "TriggersConfig",
    "VolumeTriggerConfig",
]
