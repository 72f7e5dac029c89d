"""Performance trigger: fire on a significant rise of the champion's loss since its training.

Not a raw threshold: :meth:`PerformanceTrigger.check` fires when a one-sided Welch t-test on
per-row losses says the latest complete window (labels no longer pending) is worse than the
champion's held-out rows at level ``alpha``, **and** the mean loss rose by at least
``min_increase`` (so a tiny, merely significant change on a huge window does not retrain). Only a
window that began after the last training counts, so a rejected update is not retried on the
same evidence.

Examples
--------
>>> from datetime import datetime, timezone
>>> trigger = PerformanceTrigger(window=timedelta(hours=6))
>>> now = datetime(2024, 1, 2, tzinfo=timezone.utc)
>>> trigger.check(TriggerState(now=now, last_trained_at=now, labeled_rows=0, labeled_rows_at_last_training=0)).reason
'no performance assessment: no champion yet'
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from lifelong.durations import format_duration
from lifelong.errors import ConfigError
from lifelong.monitoring.degradation import PerformanceAssessment, assess_performance
from lifelong.monitoring.performance import Loss
from lifelong.triggers.base import Decision, Trigger, TriggerState

if TYPE_CHECKING:
    from lifelong.monitoring.context import MonitorContext


class PerformanceTrigger(Trigger):
    """Fire when the champion's loss on a complete recent window is significantly above its baseline."""

    kind = "performance"

    def __init__(
        self,
        *,
        window: timedelta = timedelta(days=1),
        loss: Loss = "log_loss",
        alpha: float = 0.01,
        min_increase: float = 0.0,
        min_rows: int = 100,
        lookback: int = 3,
    ) -> None:
        if window <= timedelta(0):
            raise ConfigError(f"window: expected a duration > 0, got {format_duration(window)!r}")
        if loss not in ("error", "log_loss", "brier"):
            raise ConfigError(f"loss: expected 'error', 'log_loss' or 'brier', got {loss!r}")
        if not 0 < alpha < 1:
            raise ConfigError(f"alpha: expected a level in (0, 1) such as 0.01, got {alpha!r}")
        if not min_increase >= 0:
            raise ConfigError(f"min_increase: expected a loss increase >= 0, got {min_increase!r}")
        for name, value in (("min_rows", min_rows), ("lookback", lookback)):
            if isinstance(value, bool) or not isinstance(value, int) or value < (2 if name == "min_rows" else 1):
                raise ConfigError(f"{name}: expected an integer >= {2 if name == 'min_rows' else 1}, got {value!r}")
        self.window = window
        self.loss: Loss = loss
        self.alpha = float(alpha)
        self.min_increase = float(min_increase)
        self.min_rows = min_rows
        self.lookback = lookback
        self.key = f"performance:{format_duration(window)}:{loss}:{min_rows}:{lookback}"

    def observe(self, context: MonitorContext, now: datetime) -> dict[str, Any]:
        found = assess_performance(context, now=now, window=self.window, loss=self.loss, min_rows=self.min_rows, lookback=self.lookback)
        return {self.key: found}

    def check(self, state: TriggerState) -> Decision:
        found = state.extra.get(self.key)
        if not isinstance(found, PerformanceAssessment):
            return Decision(False, self.kind, "no performance assessment: no champion yet")
        if found.at != state.now:
            return Decision(False, self.kind, f"stale performance assessment from {found.at.isoformat()}")
        details = {**found.to_dict(), "alpha": self.alpha, "min_increase": self.min_increase}
        window = found.window
        increase = found.increase
        if window is None or found.p_value is None or increase is None or found.baseline_loss is None or window.mean_loss is None:
            return Decision(False, self.kind, found.note or "no complete window to test", details)
        if state.last_trained_at is not None and window.start < state.last_trained_at:
            reason = (
                f"no complete {format_duration(self.window)} window since the last training at {state.last_trained_at.isoformat()} "
                f"(the latest starts at {window.start.isoformat()}): waiting for fresh evidence"
            )
            return Decision(False, self.kind, reason, details)
        summary = (
            f"{self.loss} {window.mean_loss:.4f} on {window.rows} rows of {window.start:%Y-%m-%d %H:%M}–{window.end:%Y-%m-%d %H:%M} "
            f"vs {found.baseline_loss:.4f} on champion {found.champion}'s {found.baseline_rows} held-out rows "
            f"({increase:+.4f}; one-sided Welch t-test p={found.p_value:.2g}, alpha {self.alpha})"
        )
        if window.value is not None and found.baseline_value is not None:
            summary += f"; {window.metric} {window.value:.4f} vs {found.baseline_value:.4f}"
        significant = found.p_value < self.alpha
        large = increase >= self.min_increase
        fire = significant and large and increase > 0
        if fire:
            return Decision(True, self.kind, f"performance dropped: {summary}", details)
        why = "not significant" if not significant else f"increase below min_increase {self.min_increase}"
        return Decision(False, self.kind, f"no significant drop ({why}): {summary}", details)


__all__ = ["PerformanceTrigger"]
