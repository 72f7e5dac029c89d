"""Cost-aware trigger: retrain when the expected gain is worth more than the training costs.

Both sides are estimated from the recent updates the registry recorded
(:mod:`lifelong.monitoring.costs`): the metric gain per hour of staleness (challenger minus
champion on the same held-out rows, over the time the champion had served) times the hours since
the last training gives the expected gain; a metric *point* is 0.01 of the metric (one
percentage point of accuracy or AUC) and is worth ``value_per_point``. The cost is the mean
training CPU seconds times ``cost_per_cpu_second``.

Examples
--------
>>> from datetime import datetime, timedelta, timezone
>>> from lifelong.monitoring.costs import CostHistory, UpdateRecord
>>> t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
>>> trigger = CostAwareTrigger(value_per_point=10.0, cost_per_cpu_second=1.0)
>>> history = CostHistory(t0 + timedelta(hours=36), t0 + timedelta(hours=24), (
...     UpdateRecord("1.1", t0 + timedelta(hours=12), t0, 4.0, 0.012),
...     UpdateRecord("1.2", t0 + timedelta(hours=24), t0 + timedelta(hours=12), 6.0, 0.012)))
>>> state = TriggerState(now=t0 + timedelta(hours=36), last_trained_at=t0 + timedelta(hours=24), labeled_rows=0,
...                      labeled_rows_at_last_training=0, extra={trigger.key: history})
>>> decision = trigger.check(state)
>>> decision.fire, decision.details["expected_value"], decision.details["expected_cost"]
(True, 12.0, 5.0)
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from lifelong.errors import ConfigError
from lifelong.monitoring.costs import CostHistory, cost_history
from lifelong.triggers.base import Decision, Trigger, TriggerState

if TYPE_CHECKING:
    from lifelong.monitoring.context import MonitorContext

POINT = 0.01
"""One metric point, in metric units."""


class CostAwareTrigger(Trigger):
    """Fire when (expected gain in points) × ``value_per_point`` exceeds (mean CPU s) × ``cost_per_cpu_second``."""

    kind = "cost"

    def __init__(self, *, value_per_point: float, cost_per_cpu_second: float, history: int = 10, min_history: int = 2) -> None:
        for name, value in (("value_per_point", value_per_point), ("cost_per_cpu_second", cost_per_cpu_second)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ConfigError(f"{name}: expected a number > 0, got {value!r}")
        if isinstance(min_history, bool) or not isinstance(min_history, int) or min_history < 1:
            raise ConfigError(f"min_history: expected an integer >= 1, got {min_history!r}")
        if isinstance(history, bool) or not isinstance(history, int) or history < min_history:
            raise ConfigError(f"history: expected an integer >= min_history ({min_history}), got {history!r}")
        self.value_per_point = float(value_per_point)
        self.cost_per_cpu_second = float(cost_per_cpu_second)
        self.history = history
        self.min_history = min_history
        self.key = f"cost:{history}"

    def observe(self, context: MonitorContext, now: datetime) -> dict[str, Any]:
        return {self.key: cost_history(context.versions(), now=now, keep=self.history)}

    def check(self, state: TriggerState) -> Decision:
        found = state.extra.get(self.key)
        if not isinstance(found, CostHistory) or found.at != state.now:
            return Decision(False, self.kind, "no cost history for this check")
        if len(found.records) < self.min_history:
            reason = f"cost history: expected at least {self.min_history} recorded updates with gains, got {len(found.records)}"
            return Decision(False, self.kind, reason, found.to_dict())
        points = found.expected_gain / POINT
        value = points * self.value_per_point
        cost = found.mean_cpu_s * self.cost_per_cpu_second
        details = {**found.to_dict(), "expected_points": points, "expected_value": value, "expected_cost": cost,
                   "value_per_point": self.value_per_point, "cost_per_cpu_second": self.cost_per_cpu_second}
        summary = (
            f"expected gain {points:+.2f} points after {found.staleness_hours:.1f}h "
            f"({found.gain_per_hour / POINT:+.3f} points/h over {len(found.records)} updates) worth {value:.2f} "
            f"vs training cost {cost:.2f} ({found.mean_cpu_s:.1f} CPU s)"
        )
        if value > cost:
            return Decision(True, self.kind, f"worth retraining: {summary}", details)
        return Decision(False, self.kind, f"not worth it yet: {summary}", details)


__all__ = ["POINT", "CostAwareTrigger"]
