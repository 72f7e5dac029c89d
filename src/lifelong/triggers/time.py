"""Time-based triggers: a fixed interval, or a cron expression.

Examples
--------
>>> from datetime import datetime, timedelta, timezone
>>> start = datetime(2024, 1, 1, tzinfo=timezone.utc)
>>> trigger = IntervalTrigger(every=timedelta(days=1))
>>> trigger.check(TriggerState(now=start, last_trained_at=start, labeled_rows=0, labeled_rows_at_last_training=0)).fire
False
>>> trigger.check(TriggerState(now=start + timedelta(days=1), last_trained_at=start, labeled_rows=0, labeled_rows_at_last_training=0)).reason
'1d since the last training (every 1d)'
"""

from __future__ import annotations

from datetime import datetime, timedelta

from croniter import croniter

from lifelong.durations import format_duration
from lifelong.errors import ConfigError
from lifelong.triggers.base import Decision, Trigger, TriggerState


class IntervalTrigger(Trigger):
    """Fire once ``every`` has passed since the last training (at once when never trained)."""

    kind = "interval"

    def __init__(self, *, every: timedelta) -> None:
        if every <= timedelta(0):
            raise ConfigError(f"every: expected a duration > 0, got {format_duration(every)!r}")
        self.every = every

    def check(self, state: TriggerState) -> Decision:
        if state.last_trained_at is None:
            return Decision(True, self.kind, "never trained")
        elapsed = state.now - state.last_trained_at
        fire = elapsed >= self.every
        reason = f"{format_duration(elapsed)} since the last training (every {format_duration(self.every)})"
        return Decision(fire, self.kind, reason, {"elapsed_s": elapsed.total_seconds()})


class CronTrigger(Trigger):
    """Fire when a scheduled time of ``expression`` (UTC) passed since the last training.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> trigger = CronTrigger(expression="0 3 * * *")
    >>> last = datetime(2024, 1, 1, 12, tzinfo=timezone.utc)
    >>> state = TriggerState(now=datetime(2024, 1, 2, 3, 0, 1, tzinfo=timezone.utc), last_trained_at=last,
    ...                      labeled_rows=0, labeled_rows_at_last_training=0)
    >>> trigger.check(state).fire
    True
    """

    kind = "cron"

    def __init__(self, *, expression: str) -> None:
        if not croniter.is_valid(expression):
            raise ConfigError(f"expression: expected a cron expression such as '0 3 * * *', got {expression!r}")
        self.expression = expression

    def next_after(self, moment: datetime) -> datetime:
        """The first scheduled time strictly after ``moment``."""
        value: datetime = croniter(self.expression, moment).get_next(datetime)
        return value

    def check(self, state: TriggerState) -> Decision:
        if state.last_trained_at is None:
            return Decision(True, self.kind, "never trained")
        due = self.next_after(state.last_trained_at)
        fire = state.now >= due
        return Decision(fire, self.kind, f"schedule {self.expression!r} due at {due.isoformat()}", {"due": due.isoformat()})


__all__ = ["CronTrigger", "IntervalTrigger"]
