"""A streaming detector fed, check after check, with one stream of the champion.

:class:`DetectorWatch` keeps a River detector (:mod:`lifelong.monitoring.streaming`) fed with
the rows that arrived since its last :meth:`~DetectorWatch.observe`, in event-time order (ties
by event id):

- ``error``: 1 where the answer was wrong, 0 where it was right, on labeled rows whose label is
  final (older than the context's ``label_delay``). When the labeled rows carry the served
  ``prediction`` (natural labels join the prediction log), it is the served error of the rows
  the champion answered; otherwise the champion's own prediction on the row.
- ``prediction``: the champion's score on each input row (P(second class) for binary models).
- ``feature:NAME``: the numeric input column ``NAME`` (missing values are skipped).

The stream belongs to one champion: it starts at the champion's training time (or ``replay``
before the first observation, when that is later) and starts over when the champion changes.

State across restarts is **rebuilt, not persisted**: a new watch replays the stream from its
start up to the same cutoff, and since the detectors are deterministic (KSWIN is seeded), it
reaches the state an uninterrupted watch has, provided the champion was trained within
``replay`` of the restart and no event was stored behind the cutoff later. Time going backwards
replays too.

Each observation returns a :class:`DetectorAssessment`: the detections (row index in the stream
and event time) and, when one came after the last training, the impact on the champion's metric
since the first such detection (:class:`~lifelong.monitoring.drift.Impact`): estimated by CBPE on
the scores and measured on final labels, against the metric *before* the change — the champion's
held-out rows pooled with the stream's labeled rows up to the detection, so a lucky holdout does
not make ordinary performance look like a drop — with the p-value of a one-sided Welch t-test
that the champion's 0/1 error rate rose after the detection. Detections within the first ``min_rows`` rows of
a stream are warm-up: they do not count, as nothing before them measures the performance.

Examples
--------
>>> parse_stream("feature:f1")
('feature', 'f1')
>>> parse_stream("error")
('error', None)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from lifelong.errors import ConfigError
from lifelong.evaluation.metrics import get_metric
from lifelong.events.batch import EVENT_ID, EVENT_TIME
from lifelong.labels.base import LABEL
from lifelong.monitoring.context import MonitorContext, positive_scores, trained_at
from lifelong.monitoring.degradation import one_sided_welch
from lifelong.monitoring.detectors import DriftDetector
from lifelong.monitoring.drift import Impact, _calibration
from lifelong.monitoring.performance import WindowPerformance, row_losses
from lifelong.registry.types import ModelVersion

StreamKind = Literal["error", "prediction", "feature"]
MAX_DETECTIONS = 1000
"""Detections kept per watch (the most recent)."""


def parse_stream(stream: str) -> tuple[StreamKind, str | None]:
    """``error``, ``prediction`` or ``feature:NAME`` as (kind, feature name)."""
    if stream == "error":
        return "error", None
    if stream == "prediction":
        return "prediction", None
    name = stream[len("feature:"):] if isinstance(stream, str) and stream.startswith("feature:") else ""
    if name.strip():
        return "feature", name
    raise ConfigError(f"stream: expected 'error', 'prediction' or 'feature:NAME', got {stream!r}")


@dataclass(frozen=True)
class Detection:
    """A change the detector signalled: the row's position in the stream and its event time."""

    index: int
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "at": self.at.isoformat()}


@dataclass(frozen=True)
class DetectorAssessment:
    """What a watch saw up to ``at``: rows fed, detections, and the impact since the fresh ones."""

    at: datetime
    champion: str
    detector: str
    stream: str
    start: datetime
    until: datetime
    seen: int
    detections: tuple[Detection, ...]
    last_training: datetime | None
    impact: Impact | None
    warmup: int = 0
    p_value: float | None = None
    note: str = ""

    def fresh(self, since: datetime | None) -> tuple[Detection, ...]:
        """The detections at or after ``since`` (all when None), past the first ``warmup`` rows of the stream."""
        return tuple(d for d in self.detections if d.index >= self.warmup and (since is None or d.at >= since))

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "champion": self.champion,
            "detector": self.detector,
            "stream": self.stream,
            "start": self.start.isoformat(),
            "until": self.until.isoformat(),
            "seen": self.seen,
            "detections": [d.to_dict() for d in self.detections[-20:]],
            "detection_count": len(self.detections),
            "last_training": self.last_training.isoformat() if self.last_training is not None else None,
            "impact": self.impact.to_dict() if self.impact is not None else None,
            "warmup": self.warmup,
            "p_value": self.p_value,
            "note": self.note,
        }


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    keys = [column for column in (EVENT_TIME, EVENT_ID) if column in frame.columns]
    return frame.sort_values(keys, kind="mergesort").reset_index(drop=True) if keys and len(frame) else frame


def _errors(context: MonitorContext, version: ModelVersion, labeled: pd.DataFrame) -> tuple[NDArray[Any], NDArray[np.float64]]:
    """Event times and 0/1 errors of labeled rows: the served answers when logged, else the champion's."""
    if "prediction" in labeled.columns:  # the prediction log joined with feedback: what was served
        if "model_version" in labeled.columns:
            labeled = labeled[labeled["model_version"].astype(str) == version.version]
        served = labeled["prediction"].astype(str).to_numpy()
        errors = np.asarray(served != labeled[LABEL].astype(str).to_numpy(), dtype=np.float64)
    else:
        proba, classes = context.scorer(version)(labeled)
        errors = row_losses(labeled[LABEL].to_numpy(), proba, classes, "error")
    return labeled[EVENT_TIME].to_numpy(dtype=object), errors


@dataclass
class _Stream:
    """One champion's stream: where it starts, how far it was fed, the detector and its detections."""

    champion: str
    start: datetime
    until: datetime
    detector: DriftDetector
    detections: list[Detection]
    baseline: tuple[datetime, float | None, NDArray[np.float64]] | None = None


class DetectorWatch:
    """Feed ``detector`` (an unfed template, cloned per champion) with ``stream`` of the champion.

    Parameters
    ----------
    detector
        The detector to run; it is cloned, never fed itself.
    stream
        ``error``, ``prediction`` or ``feature:NAME``.
    replay
        How far back a new watch (a restart) replays at most.
    min_rows
        Rows needed to estimate or measure a metric; also the warm-up of a stream (detections
        in its first ``min_rows`` rows do not count).
    """

    def __init__(self, detector: DriftDetector, stream: str, *, replay: timedelta = timedelta(days=7), min_rows: int = 200) -> None:
        self.kind, self.feature = parse_stream(stream)
        if detector.input == "binary" and self.kind != "error":
            raise ConfigError(f"stream: expected 'error' for the binary {detector.kind} detector (it reads 0/1 errors), got {stream!r}")
        if replay <= timedelta(0):
            raise ConfigError(f"replay: expected a duration > 0, got {replay!r}")
        if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 2:
            raise ConfigError(f"min_rows: expected an integer >= 2, got {min_rows!r}")
        self.template = detector.clone()
        self.stream = stream
        self.replay = replay
        self.min_rows = min_rows
        self._state: _Stream | None = None

    def _cutoff(self, context: MonitorContext, now: datetime) -> datetime:
        return now - context.label_delay if self.kind == "error" else now

    def _values(self, context: MonitorContext, version: ModelVersion, start: datetime, end: datetime,
                now: datetime) -> tuple[NDArray[Any], NDArray[np.float64], str]:
        """Event times and values of the stream's rows with ``start <= event_time < end``."""
        empty = (np.empty(0, dtype=object), np.empty(0))
        if self.kind == "error":
            labeled = _ordered(context.labeler.label(context.store, start, end, now=now).frame)
            if not len(labeled) or LABEL not in labeled.columns:
                return (*empty, "")
            return (*_errors(context, version, labeled), "")
        frame = _ordered(context.inputs(start, end))
        if not len(frame):
            return (*empty, "")
        if self.kind == "prediction":
            return frame[EVENT_TIME].to_numpy(dtype=object), positive_scores(context.load_bundle(version), frame), ""
        if self.feature not in frame.columns:
            return (*empty, f"feature {self.feature!r} is not a column of the inputs ({', '.join(map(str, frame.columns))})")
        values = pd.to_numeric(frame[self.feature], errors="coerce").to_numpy(dtype=np.float64)
        keep = np.isfinite(values)
        return frame[EVENT_TIME].to_numpy(dtype=object)[keep], values[keep], ""

    @staticmethod
    def _feed(stream: _Stream, times: NDArray[Any], values: NDArray[np.float64]) -> None:
        detector = stream.detector
        for at, value in zip(times, values, strict=True):
            index = detector.n_seen
            detector.update(float(value))
            if detector.drift_detected:
                stream.detections.append(Detection(index, pd.Timestamp(at).to_pydatetime()))
        del stream.detections[:-MAX_DETECTIONS]

    def observe(self, context: MonitorContext, now: datetime) -> DetectorAssessment | None:
        """Feed the rows since the last call and assess; None without a champion."""
        version = context.champion()
        if version is None:
            return None
        end = self._cutoff(context, now)
        stream = self._state
        backwards = stream is not None and stream.start < stream.until and end < stream.until
        if stream is None or stream.champion != version.version or backwards:
            trained = trained_at(version)
            start = now - self.replay if trained is None else max(trained, now - self.replay)
            if stream is not None and backwards and stream.champion == version.version:
                start = stream.start  # time went backwards: replay the same stream
            stream = self._state = _Stream(version.version, start, start, self.template.clone(), [])
        note = ""
        if end > stream.until:
            times, values, note = self._values(context, version, stream.until, end, now)
            self._feed(stream, times, values)
            stream.until = end
        since = max((at for at in map(trained_at, context.versions()) if at is not None), default=None)
        found = DetectorAssessment(now, version.version, self.template.kind, self.stream, stream.start, stream.until,
                                   stream.detector.n_seen, tuple(stream.detections), since, None, warmup=self.min_rows, note=note)
        fresh = found.fresh(since)
        if not fresh:
            return found
        impact, p_value = self._impact(context, version, stream, fresh[0].at, now)
        return replace(found, impact=impact, p_value=p_value)

    def _metric(self, context: MonitorContext, version: ModelVersion, labeled: pd.DataFrame) -> tuple[float | None, NDArray[np.float64]]:
        """The metric and the per-row 0/1 errors of the champion on ``labeled`` (None below ``min_rows``)."""
        if len(labeled) < self.min_rows or LABEL not in labeled.columns:
            return None, np.empty(0)
        proba, classes = context.scorer(version)(labeled)
        y = labeled[LABEL].to_numpy()
        value = get_metric(context.metric).compute(y, proba, classes)
        return (float(value) if np.isfinite(value) else None), row_losses(y, proba, classes, "error")

    def _baseline(self, context: MonitorContext, version: ModelVersion, stream: _Stream, until: datetime,
                  now: datetime) -> tuple[float | None, NDArray[np.float64]]:
        """The metric before the change: held-out rows and the stream's labeled rows up to ``until``, pooled."""
        if stream.baseline is not None and stream.baseline[0] == until:
            return stream.baseline[1], stream.baseline[2]
        before = context.labeler.label(context.store, stream.start, until, now=now).frame
        frames = [frame for frame in (context.holdout_rows(version, now), before) if len(frame)]
        value, errors = self._metric(context, version, pd.concat(frames, ignore_index=True) if frames else pd.DataFrame())
        if until <= now - context.label_delay:  # labels before the change are final: keep it
            stream.baseline = (until, value, errors)
        return value, errors

    def _impact(self, context: MonitorContext, version: ModelVersion, stream: _Stream, start: datetime,
                now: datetime) -> tuple[Impact, float | None]:
        """The metric since ``start`` (estimated by CBPE on scores, measured on final labels) against before it,
        and the p-value of "the error rate rose" (one-sided Welch t-test on the 0/1 errors)."""
        metric = context.metric
        cbpe = context.derived(version, f"calibration:{metric}", lambda: _calibration(context, version, now))[1]
        baseline, errors_before = self._baseline(context, version, stream, start, now)
        estimate = None
        if cbpe is not None:
            inputs = context.inputs(start, now)
            if len(inputs) >= self.min_rows:
                estimate = cbpe.estimate(positive_scores(context.load_bundle(version), inputs))
        end = now - context.label_delay
        labeled = context.labeler.label(context.store, start, end, now=now).frame if end > start else pd.DataFrame()
        value, errors_after = self._metric(context, version, labeled)
        measured = None if value is None else WindowPerformance(start, end, len(labeled), 0, True, metric, value, float(errors_after.mean()))
        p_value = one_sided_welch(errors_after, errors_before)[1] if len(errors_after) and len(errors_before) else None
        return Impact(metric, baseline, estimate, measured), p_value


__all__ = ["MAX_DETECTIONS", "Detection", "DetectorAssessment", "DetectorWatch", "StreamKind", "parse_stream"]
