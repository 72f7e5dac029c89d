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


LeafTriggerConfig = Annotated[
    IntervalTriggerConfig | CronTriggerConfig | VolumeTriggerConfig, Field(discriminator="kind")
]


class TriggersConfig(Strict):
    """Combination of triggers: ``any`` fires when one fires, ``all`` when every one does."""

    combine: Literal["any", "all"] = "any"
    cooldown: Duration = timedelta(0)
    triggers: tuple[LeafTriggerConfig, ...] = (
        IntervalTriggerConfig(kind="interval", every=timedelta(days=1)),
    )


__all__ = ["CronTriggerConfig", "IntervalTriggerConfig", "LeafTriggerConfig", "TriggersConfig", "VolumeTriggerConfig"]
