"""Detector trigger: a streaming detector on the errors, the scores or a feature — when it matters.

:meth:`DetectorTrigger.observe` feeds a River detector (ADWIN, Page-Hinkley, KSWIN, DDM, EDDM,
HDDM-A, HDDM-W) the rows of its stream that arrived since the previous check
(:class:`~lifelong.monitoring.watch.DetectorWatch`: the champion's 0/1 errors on rows whose
label is final, its scores, or a numeric input column), and keeps the detector's state from
check to check; after a restart the state is rebuilt by replaying the stream deterministically.
:meth:`DetectorTrigger.check` decides from the assessment in ``state.extra``, so it is a pure
function of the state. It fires when the detector signalled at least ``persistence`` changes
since the last training (so a rejected update is not retried on the same evidence) **and**,
unless ``require_impact`` is off, the champion's metric since the first of them dropped by at
least ``min_impact`` from its value before the change (held-out rows and the stream's labeled
rows up to the detection) — estimated without labels (CBPE, against its own estimate on the
held-out rows), or measured on final labels with an
error rate significantly higher (one-sided Welch t-test at ``alpha``) than before.
Detections in the first ``min_rows`` rows of a stream are warm-up and do not count. The reason names the detector, the stream, and the row index and event time of
the detection. The combination's ``cooldown`` spaces firings.

Examples
--------
>>> from datetime import datetime, timezone
>>> trigger = DetectorTrigger(detector="page_hinkley", stream="feature:f1")
>>> now = datetime(2024, 1, 2, tzinfo=timezone.utc)
>>> trigger.check(TriggerState(now=now, last_trained_at=now, labeled_rows=0, labeled_rows_at_last_training=0)).reason
'no page_hinkley assessment of the feature:f1 stream: no champion yet'
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from lifelong.durations import format_duration
from lifelong.errors import ConfigError
from lifelong.monitoring.detectors import DriftDetector
from lifelong.monitoring.watch import Detection, DetectorAssessment, DetectorWatch
from lifelong.triggers.base import Decision, Trigger, TriggerState

if TYPE_CHECKING:
    from lifelong.monitoring.context import MonitorContext

DetectorKind = Literal["adwin", "page_hinkley", "kswin", "ddm", "eddm", "hddm_a", "hddm_w"]


def _where(detection: Detection) -> str:
    return f"row {detection.index} ({detection.at.isoformat()})"


class DetectorTrigger(Trigger):
    """Fire when a streaming detector signals a change of ``stream`` that costs at least ``min_impact``.

    Parameters
    ----------
    detector
        A detector kind (built with River's defaults) or a configured, unfed detector.
    stream
        ``error`` (0/1 errors on labeled rows), ``prediction`` (the champion's scores) or
        ``feature:NAME`` (a numeric input column).
    persistence
        Detections needed since the last training.
    replay
        How far back the stream is replayed at most when a check finds no state (a restart).
    min_rows
        Rows needed to estimate or measure the metric, and the warm-up of the stream.
    require_impact, min_impact
        Whether a drop of the metric of at least ``min_impact`` is needed to fire.
    alpha
        A measured drop counts only when the error rate rose significantly at this level
        (one-sided Welch t-test on the 0/1 errors after the detection against before it).
    """

    kind = "detector"

    def __init__(
        self,
        *,
        detector: DriftDetector | DetectorKind = "adwin",
        stream: str = "error",
        persistence: int = 1,
        replay: timedelta = timedelta(days=7),
        min_rows: int = 200,
        require_impact: bool = True,
        min_impact: float = 0.02,
        alpha: float = 0.01,
    ) -> None:
        from lifelong.monitoring.streaming import build_detector

        if isinstance(persistence, bool) or not isinstance(persistence, int) or persistence < 1:
            raise ConfigError(f"persistence: expected an integer >= 1, got {persistence!r}")
        if not isinstance(min_impact, int | float) or isinstance(min_impact, bool) or not min_impact >= 0:
            raise ConfigError(f"min_impact: expected a metric drop >= 0, got {min_impact!r}")
        if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
            raise ConfigError(f"alpha: expected a level in (0, 1) such as 0.01, got {alpha!r}")
        if not isinstance(replay, timedelta):
            raise ConfigError(f"replay: expected a duration, got {replay!r}")
        built = detector if isinstance(detector, DriftDetector) else build_detector(detector)
        self.watch = DetectorWatch(built, stream, replay=replay, min_rows=min_rows)
        self.detector = self.watch.template
        self.stream = stream
        self.persistence = persistence
        self.require_impact = bool(require_impact)
        self.min_impact = float(min_impact)
        self.alpha = float(alpha)
        self.key = f"detector:{self.detector!r}:{stream}:{format_duration(replay)}:{min_rows}"

    def observe(self, context: MonitorContext, now: datetime) -> dict[str, Any]:
        return {self.key: self.watch.observe(context, now)}

    def check(self, state: TriggerState) -> Decision:
        name = f"{self.detector.kind} assessment of the {self.stream} stream"
        found = state.extra.get(self.key)
        if not isinstance(found, DetectorAssessment):
            return Decision(False, self.kind, f"no {name}: no champion yet")
        if found.at != state.now:
            return Decision(False, self.kind, f"stale {name} from {found.at.isoformat()}")
        details = {**found.to_dict(), "persistence": self.persistence, "min_impact": self.min_impact, "alpha": self.alpha}
        fresh = found.fresh(state.last_trained_at)
        seen = f"{found.seen} rows since {found.start.isoformat()}, up to {found.until.isoformat()}"
        if found.note:
            seen += f"; {found.note}"
        if len(fresh) < self.persistence:
            since = "since the last training" if state.last_trained_at is not None else "so far"
            reason = (f"{self.detector.kind} on the {self.stream} stream of champion {found.champion}: {len(fresh)} detection(s) "
                      f"{since} (needs {self.persistence}); {seen}")
            return Decision(False, self.kind, reason, details)
        first, latest = fresh[0], fresh[-1]
        what = f"{self.detector.kind} detected a change in the {self.stream} stream of champion {found.champion} at {_where(latest)}"
        if len(fresh) > 1:
            what += f", {len(fresh)} detections since the last training, the first at {_where(first)}"
        if not self.require_impact:
            return Decision(True, self.kind, what, details)
        impact = found.impact
        known: dict[str, float] = {}
        if impact is not None:
            drops = {"estimated": impact.estimated_drop, "measured": impact.measured_drop}
            known = {kind: value for kind, value in drops.items() if value is not None}
        significant = found.p_value is not None and found.p_value < self.alpha
        crossing = {kind: value for kind, value in known.items() if value >= self.min_impact and (kind == "estimated" or significant)}
        metric = impact.metric if impact is not None else "metric"
        impact_text = ", ".join(f"{kind} {metric} drop {value:+.4f}" for kind, value in known.items()) or "no impact measurable yet"
        if found.p_value is not None:
            impact_text += f" (error rate rise p={found.p_value:.2g}, alpha {self.alpha})"
        if impact is None or not crossing:
            why = "not significant or " if "measured" in known and not significant else ""
            return Decision(False, self.kind, f"{what}; but {impact_text} is {why}below min_impact {self.min_impact}", details)
        baseline = f"{impact.baseline:.4f}" if impact.baseline is not None else "unknown"
        reason = f"{what}; {impact_text} since {first.at.isoformat()} (before: {baseline}, min_impact {self.min_impact})"
        return Decision(True, self.kind, reason, details)


__all__ = ["DetectorKind", "DetectorTrigger"]
