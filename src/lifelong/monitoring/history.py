"""Drift and performance over time, window by window, for ``lifelong monitor``.

Every aligned window of the last ``windows`` is compared with the current champion's training
rows (features with Benjamini-Hochberg across them, weighted by importance; the scores), its
metric is estimated without labels (CBPE, binary classifiers) and measured once its labels are
complete. Nothing is stored: the history is recomputed from the event store and the registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from lifelong.config.monitoring import MonitoringConfig
from lifelong.evaluation.metrics import get_metric
from lifelong.labels.base import LABEL
from lifelong.monitoring.batch import FeatureDriftTest
from lifelong.monitoring.cbpe import CBPE
from lifelong.monitoring.context import MonitorContext, positive_scores, trained_at
from lifelong.monitoring.importance import drifted_importance, feature_weights
from lifelong.monitoring.performance import PerformanceMonitor, aligned_end
from lifelong.monitoring.statistics import ks_2samp_sorted


@dataclass(frozen=True)
class MonitorWindow:
    """One window: its drift against the champion's training rows, and its metric estimated and measured."""

    start: datetime
    end: datetime
    rows: int
    drift_share: float | None
    drifted: tuple[str, ...]
    importance_share: float | None
    prediction_p: float | None
    estimated: float | None
    measured: float | None
    labeled: int
    pending: int
    complete: bool
    latest_version: str | None
    matters: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "rows": self.rows,
            "drift_share": self.drift_share,
            "drifted": list(self.drifted),
            "importance_share": self.importance_share,
            "prediction_p": self.prediction_p,
            "estimated": self.estimated,
            "measured": self.measured,
            "labeled": self.labeled,
            "pending": self.pending,
            "complete": self.complete,
            "latest_version": self.latest_version,
            "matters": self.matters,
        }


@dataclass(frozen=True)
class MonitorHistory:
    """The windows of one model, oldest first, and what they are compared with."""

    model: str
    champion: str | None
    metric: str
    baseline: float | None
    windows: tuple[MonitorWindow, ...]
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "champion": self.champion,
            "metric": self.metric,
            "baseline": self.baseline,
            "note": self.note,
            "windows": [w.to_dict() for w in self.windows],
        }


def _latest_trained(trained: list[tuple[datetime, str]], moment: datetime) -> str | None:
    """The newest version the loop had trained by ``moment`` (data time), if any."""
    found = [version for at, version in trained if at <= moment]
    return found[-1] if found else None


def monitor_history(context: MonitorContext, config: MonitoringConfig, now: datetime) -> MonitorHistory:
    """The last ``config.windows`` windows of ``config.window`` before ``now``."""
    version = context.champion()
    metric = context.metric
    if version is None:
        return MonitorHistory(context.name, None, metric, None, (), "no champion yet")
    bundle = context.load_bundle(version)
    reference = context.reference(version)
    tester = None
    reference_scores = np.empty(0)
    weights = feature_weights(bundle.features, bundle.learner.feature_importance())
    if len(reference):
        tester = FeatureDriftTest(numeric_test=config.numeric_test, categorical_test=config.categorical_test, alpha=config.alpha)
        tester.fit(reference, numeric=bundle.features.numeric, categorical=tuple(bundle.features.categorical))
        reference_scores = np.sort(positive_scores(bundle, reference))
    holdout = context.holdout_rows(version, now)
    scorer = context.scorer(version)
    baseline: float | None = None
    cbpe: CBPE | None = None
    if len(holdout) and LABEL in holdout.columns:
        proba, classes = scorer(holdout)
        y = holdout[LABEL].to_numpy()
        value = get_metric(metric).compute(y, proba, classes)
        baseline = float(value) if np.isfinite(value) else None
        if len(classes) == 2 and len(np.unique(y)) == 2 and metric in ("roc_auc", "accuracy"):
            cbpe = CBPE(metric="roc_auc" if metric == "roc_auc" else "accuracy").fit((y == classes[1]).astype(int), proba[:, 1])
    monitor = PerformanceMonitor(labeler=context.labeler, store=context.store, scorer=scorer, metric=metric, loss=config.loss, min_rows=config.min_rows)
    trained = sorted((at, v.version) for v in context.versions() if (at := trained_at(v)) is not None)
    end = aligned_end(now, config.window)
    windows = []
    for k in reversed(range(config.windows)):
        start, stop = end - (k + 1) * config.window, end - k * config.window
        frame = context.inputs(start, stop)
        share = importance = prediction_p = estimated = None
        drifted: tuple[str, ...] = ()
        if tester is not None and len(frame) >= config.min_rows:
            report = tester.test(frame)
            share, drifted = report.share, report.drifted
            importance = drifted_importance(weights, drifted)
            scores = positive_scores(bundle, frame)
            prediction_p = ks_2samp_sorted(reference_scores, scores)[1] if len(reference_scores) else None
            estimated = cbpe.estimate(scores).value if cbpe is not None else None
        performance = monitor.window(start, stop, now=now)
        champion = _latest_trained(trained, stop)
        matters = ((importance or 0.0) >= config.min_importance and bool(drifted)) or (prediction_p is not None and prediction_p < config.alpha)
        windows.append(MonitorWindow(start, stop, len(frame), share, drifted, importance, prediction_p, estimated,
                                     performance.value, performance.rows, performance.pending, performance.complete, champion, matters))
    return MonitorHistory(context.name, version.version, metric, baseline, tuple(windows))


__all__ = ["MonitorHistory", "MonitorWindow", "monitor_history"]
