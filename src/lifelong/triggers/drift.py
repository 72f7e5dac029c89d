"""Drift trigger: fire on a drift that matters — persistent, important, and costing performance.

:meth:`DriftTrigger.observe` measures (:func:`lifelong.monitoring.drift.assess_drift`);
:meth:`DriftTrigger.check` decides from the measurement in ``state.extra``, so it is a pure
function of the state. It fires when the last ``persistence`` windows all drifted (features
carrying at least ``min_importance`` of the model's importance, Benjamini-Hochberg at ``alpha``
across features, or the champion's scores) **and**, unless ``require_impact`` is off, the metric
dropped by at least ``min_impact`` from the champion's held-out value — estimated without labels
(CBPE, against its own estimate on the held-out rows, so the estimator's bias on the model
cancels) or measured on a complete labeled window. The windows must all begin after the last
training, so a rejected update is not retried on the same evidence.

Examples
--------
>>> from datetime import datetime, timezone
>>> trigger = DriftTrigger()
>>> now = datetime(2024, 1, 2, tzinfo=timezone.utc)
>>> trigger.check(TriggerState(now=now, last_trained_at=now, labeled_rows=0, labeled_rows_at_last_training=0)).reason
'no drift assessment: no champion or no training rows to compare with'
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from lifelong.durations import format_duration
from lifelong.errors import ConfigError
from lifelong.monitoring.batch import CategoricalTest, NumericTest
from lifelong.monitoring.drift import (
    DriftAssessment,
    DriftPolicy,
    WindowDrift,
    assess_drift,
)
from lifelong.triggers.base import Decision, Trigger, TriggerState

if TYPE_CHECKING:
    from lifelong.monitoring.context import MonitorContext


def _describe_window(window: WindowDrift) -> str:
    if window.report is None:
        return window.note
    parts = []
    for feature in window.report.features:
        if feature.drifted:
            shown = f"p={feature.adjusted_p_value:.2g}" if feature.adjusted_p_value is not None else f"{feature.statistic:.3g}"
            parts.append(f"{feature.feature} ({feature.test} {shown})")
    if window.prediction is not None and window.prediction.drifted:
        parts.append(f"prediction (ks p={window.prediction.p_value:.2g})")
    return ", ".join(parts) or "nothing drifted"


class DriftTrigger(Trigger):
    """Fire on persistent drift of important features or scores that costs at least ``min_impact``."""

    kind = "drift"

    def __init__(
        self,
        *,
        window: timedelta = timedelta(days=1),
        persistence: int = 2,
        alpha: float = 0.01,
        numeric_test: NumericTest = "ks",
        categorical_test: CategoricalTest = "chi2",
        min_importance: float = 0.2,
        prediction_alpha: float = 0.01,
        min_rows: int = 200,
        require_impact: bool = True,
        min_impact: float = 0.02,
    ) -> None:
        if window <= timedelta(0):
            raise ConfigError(f"window: expected a duration > 0, got {format_duration(window)!r}")
        if isinstance(persistence, bool) or not isinstance(persistence, int) or persistence < 1:
            raise ConfigError(f"persistence: expected an integer >= 1, got {persistence!r}")
        for name, value in (("alpha", alpha), ("prediction_alpha", prediction_alpha)):
            if not 0 < value < 1:
                raise ConfigError(f"{name}: expected a level in (0, 1) such as 0.01, got {value!r}")
        if not 0 <= min_importance <= 1:
            raise ConfigError(f"min_importance: expected a share in [0, 1], got {min_importance!r}")
        if not min_impact >= 0:
            raise ConfigError(f"min_impact: expected a metric drop >= 0, got {min_impact!r}")
        if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 2:
            raise ConfigError(f"min_rows: expected an integer >= 2, got {min_rows!r}")
        self.policy = DriftPolicy(
            window=window,
            persistence=persistence,
            alpha=alpha,
            numeric_test=numeric_test,
            categorical_test=categorical_test,
            min_importance=min_importance,
            prediction_alpha=prediction_alpha,
            min_rows=min_rows,
        )
        self.require_impact = require_impact
        self.min_impact = float(min_impact)
        self.key = f"drift:{self.policy.key()}"

    def observe(self, context: MonitorContext, now: datetime) -> dict[str, Any]:
        return {self.key: assess_drift(context, self.policy, now)}

    def check(self, state: TriggerState) -> Decision:
        assessment = state.extra.get(self.key)
        if not isinstance(assessment, DriftAssessment):
            return Decision(False, self.kind, "no drift assessment: no champion or no training rows to compare with")
        if assessment.at != state.now:
            return Decision(False, self.kind, f"stale drift assessment from {assessment.at.isoformat()}")
        details = assessment.to_dict()
        window_text = format_duration(self.policy.window)
        if not assessment.persistent:
            drifted = sum(w.drifted for w in assessment.windows)
            reason = f"{drifted} of the last {self.policy.persistence} {window_text} windows drifted (needs all)"
            return Decision(False, self.kind, reason, details)
        first = assessment.windows[0]
        if state.last_trained_at is not None and first.start < state.last_trained_at:
            reason = (
                f"the last {self.policy.persistence} {window_text} windows drifted, but they began before the last training "
                f"at {state.last_trained_at.isoformat()}: waiting for {self.policy.persistence} fresh windows"
            )
            return Decision(False, self.kind, reason, details)
        latest = assessment.windows[-1]
        what = (
            f"{self.policy.persistence} consecutive {window_text} windows drifted against champion {assessment.champion}'s "
            f"training rows; latest: {_describe_window(latest)}, carrying {latest.importance_share:.0%} of the model's importance"
        )
        impact = assessment.impact
        drops = {"estimated": impact.estimated_drop, "measured": impact.measured_drop}
        known = {name: value for name, value in drops.items() if value is not None}
        crossing = {name: value for name, value in known.items() if value >= self.min_impact}
        if not self.require_impact:
            return Decision(True, self.kind, what, details)
        impact_text = ", ".join(f"{name} {impact.metric} drop {value:+.4f}" for name, value in known.items()) or "no impact measurable yet"
        if not crossing:
            reason = f"{what}; but {impact_text} is below min_impact {self.min_impact}"
            return Decision(False, self.kind, reason, details)
        reason = f"{what}; {impact_text} (baseline {impact.baseline:.4f}, min_impact {self.min_impact})"
        return Decision(True, self.kind, reason, details)


__all__ = ["DriftTrigger"]
