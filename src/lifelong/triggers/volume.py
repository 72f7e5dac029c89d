"""Volume trigger: fire when labeled data grew by a fraction since the last training.

Examples
--------
>>> from datetime import datetime, timezone
>>> now = datetime(2024, 1, 1, tzinfo=timezone.utc)
>>> trigger = VolumeTrigger(growth=0.5, min_rows=10)
>>> trigger.check(TriggerState(now=now, last_trained_at=now, labeled_rows=160, labeled_rows_at_last_training=100)).fire
True
>>> trigger.check(TriggerState(now=now, last_trained_at=now, labeled_rows=140, labeled_rows_at_last_training=100)).fire
False
"""

from __future__ import annotations

from lifelong.errors import ConfigError
from lifelong.triggers.base import Decision, Trigger, TriggerState


class VolumeTrigger(Trigger):
    """Fire when labeled rows reached ``(1 + growth)`` times the count at the last training."""

    kind = "volume"
    needs_labeled_rows = True

    def __init__(self, *, growth: float, min_rows: int = 100) -> None:
        if not growth > 0:
            raise ConfigError(f"growth: expected a fraction > 0 such as 0.5, got {growth!r}")
        if min_rows < 0:
            raise ConfigError(f"min_rows: expected an integer >= 0, got {min_rows!r}")
        self.growth = growth
        self.min_rows = min_rows

    def check(self, state: TriggerState) -> Decision:
        base = state.labeled_rows_at_last_training
        new_rows = state.labeled_rows - base
        needed = max(self.min_rows, int(round(base * self.growth)))
        fire = new_rows >= needed and new_rows > 0
        reason = f"{new_rows} new labeled rows since the last training (needs {needed}: +{self.growth:.0%}, min {self.min_rows})"
        return Decision(fire, self.kind, reason, {"new_rows": new_rows, "needed": needed})


__all__ = ["VolumeTrigger"]
