"""Combinations of triggers (any / all) with a cooldown between firings.

Examples
--------
>>> from datetime import datetime, timedelta, timezone
>>> from lifelong.triggers.time import IntervalTrigger
>>> from lifelong.triggers.volume import VolumeTrigger
>>> now = datetime(2024, 1, 2, tzinfo=timezone.utc)
>>> combined = CombinedTrigger([IntervalTrigger(every=timedelta(days=1)), VolumeTrigger(growth=1.0)], combine="all")
>>> combined.check(TriggerState(now=now, last_trained_at=now - timedelta(days=1), labeled_rows=150,
...                             labeled_rows_at_last_training=100)).fire
False
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from lifelong.durations import format_duration
from lifelong.errors import ConfigError
from lifelong.triggers.base import Decision, Trigger, TriggerState

if TYPE_CHECKING:
    from lifelong.monitoring.context import MonitorContext


class CombinedTrigger(Trigger):
    """Fire when ``any`` (or ``all``) of ``triggers`` fire, at most once per ``cooldown``."""

    kind = "combined"

    def __init__(
        self,
        triggers: Sequence[Trigger],
        *,
        combine: Literal["any", "all"] = "any",
        cooldown: timedelta = timedelta(0),
    ) -> None:
        if not triggers:
            raise ConfigError("triggers: expected at least one trigger, got none")
        if combine not in ("any", "all"):
            raise ConfigError(f"combine: expected 'any' or 'all', got {combine!r}")
        self.triggers = tuple(triggers)
        self.needs_labeled_rows = any(trigger.needs_labeled_rows for trigger in self.triggers)
        self.combine = combine
        self.cooldown = cooldown

    def observe(self, context: MonitorContext, now: datetime) -> dict[str, Any]:
        """What every combined trigger needs, merged (each trigger uses its own keys)."""
        merged: dict[str, Any] = {}
        for trigger in self.triggers:
            merged.update(trigger.observe(context, now))
        return merged

    def check(self, state: TriggerState) -> Decision:
        if state.last_fired_at is not None and state.now - state.last_fired_at < self.cooldown:
            remaining = self.cooldown - (state.now - state.last_fired_at)
            return Decision(False, self.kind, f"cooling down for {format_duration(remaining)}")
        decisions = [trigger.check(state) for trigger in self.triggers]
        fired = [d for d in decisions if d.fire]
        fire = bool(fired) if self.combine == "any" else len(fired) == len(decisions)
        chosen = fired if fire else decisions
        kind = "+".join(d.kind for d in chosen) if fire else self.kind
        reason = "; ".join(d.reason for d in chosen)
        return Decision(fire, kind, reason, {"decisions": [d.to_dict() for d in decisions]})


__all__ = ["CombinedTrigger"]
