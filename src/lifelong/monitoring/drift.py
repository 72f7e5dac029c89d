"""A drift that matters: persistent, on features the model relies on, and costing performance.

:func:`assess_drift` compares the last ``persistence`` windows of the champion's inputs with the
rows it was trained on. A window *drifted* when the features that drifted (Benjamini-Hochberg
across features) carry at least ``min_importance`` of the model's importance, or when the
champion's scores drifted (a KS test on them). The drift is *persistent* when every one of the
consecutive windows drifted. Its *impact* is the drop of the evaluation metric from the
champion's held-out value: estimated without labels by CBPE on the latest window (binary
classifiers), and measured on the latest window whose labels are complete. The assessment keeps
every number; :class:`~lifelong.triggers.drift.DriftTrigger` decides from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from lifelong.evaluation.metrics import get_metric
from lifelong.labels.base import LABEL
from lifelong.monitoring.batch import (
    CategoricalTest,
    DriftReport,
    FeatureDrift,
    FeatureDriftTest,
    NumericTest,
)
from lifelong.monitoring.cbpe import CBPE, Estimate
from lifelong.monitoring.context import MonitorContext, positive_scores, trained_at
from lifelong.monitoring.importance import drifted_importance, feature_weights
from lifelong.monitoring.performance import PerformanceMonitor, WindowPerformance
from lifelong.monitoring.statistics import ks_2samp_sorted


@dataclass(frozen=True)
class DriftPolicy:
    """How drift is tested: window size, persistence, levels and the share of importance that matters."""

    window: timedelta = timedelta(days=1)
    persistence: int = 2
    alpha: float = 0.01
    numeric_test: NumericTest = "ks"
    categorical_test: CategoricalTest = "chi2"
    min_importance: float = 0.2
    prediction_alpha: float = 0.01
    min_rows: int = 200

    def key(self) -> str:
        return repr(self)


@dataclass(frozen=True)
class WindowDrift:
    """One window against the champion's training rows."""

    start: datetime
    end: datetime
    rows: int
    report: DriftReport | None
    importance_share: float
    prediction: FeatureDrift | None
    drifted: bool
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "rows": self.rows,
            "drifted": self.drifted,
            "importance_share": self.importance_share,
            "features": self.report.to_dict() if self.report is not None else None,
            "prediction": self.prediction.to_dict() if self.prediction is not None else None,
            "note": self.note,
        }


@dataclass(frozen=True)
class Impact:
    """The metric at training time and its estimated (no labels) and measured (labels) drops."""

    metric: str
    baseline: float | None
    estimated: Estimate | None
    measured: WindowPerformance | None

    def _drop(self, value: float | None, reference: float | None) -> float | None:
        if value is None or reference is None or not np.isfinite(value):
            return None
        return get_metric(self.metric).better(reference, value)

    @property
    def estimated_drop(self) -> float | None:
        """The estimate's drop from the same estimate on the champion's held-out rows.

        Estimate against estimate, so that what the estimator gets wrong on this model (an
        uncalibrated one, say) cancels out; against ``baseline`` when that is unknown.
        """
        if self.estimated is None:
            return None
        reference = self.estimated.reference_estimate
        return self._drop(self.estimated.value, reference if np.isfinite(reference) else self.baseline)

    @property
    def measured_drop(self) -> float | None:
        return self._drop(self.measured.value if self.measured is not None else None, self.baseline)

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "baseline": self.baseline,
            "estimated": self.estimated.to_dict() if self.estimated is not None else None,
            "estimated_drop": self.estimated_drop,
            "measured": self.measured.to_dict() if self.measured is not None else None,
            "measured_drop": self.measured_drop,
        }


@dataclass(frozen=True)
class DriftAssessment:
    """Everything the drift trigger decides from, computed at ``at`` for ``champion``."""

    at: datetime
    champion: str
    policy: DriftPolicy
    windows: tuple[WindowDrift, ...]
    weights: dict[str, float]
    impact: Impact

    @property
    def persistent(self) -> bool:
        return len(self.windows) == self.policy.persistence and all(w.drifted for w in self.windows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "champion": self.champion,
            "persistent": self.persistent,
            "windows": [w.to_dict() for w in self.windows],
            "weights": self.weights,
            "impact": self.impact.to_dict(),
        }


def _prediction_drift(reference_scores: np.ndarray[Any, Any], scores: np.ndarray[Any, Any], alpha: float) -> FeatureDrift | None:
    if len(reference_scores) == 0 or len(scores) == 0:
        return None
    statistic, p_value = ks_2samp_sorted(reference_scores, scores)
    return FeatureDrift("prediction", "ks", statistic, p_value, p_value, alpha, p_value < alpha, len(reference_scores), len(scores))


def _window(context: MonitorContext, tester: FeatureDriftTest, weights: dict[str, float], reference_scores: np.ndarray[Any, Any],
            version: Any, policy: DriftPolicy, start: datetime, end: datetime) -> tuple[WindowDrift, np.ndarray[Any, Any]]:
    frame = context.inputs(start, end)
    if len(frame) < policy.min_rows:
        note = f"{len(frame)} rows, fewer than min_rows {policy.min_rows}: not tested"
        return WindowDrift(start, end, len(frame), None, 0.0, None, False, note), np.empty(0)
    report = tester.test(frame)
    share = drifted_importance(weights, report.drifted)
    scores = positive_scores(context.load_bundle(version), frame)
    prediction = _prediction_drift(reference_scores, scores, policy.prediction_alpha)
    drifted = share >= policy.min_importance or (prediction is not None and prediction.drifted)
    return WindowDrift(start, end, len(frame), report, share, prediction, drifted), scores


def _calibration(context: MonitorContext, version: Any, now: datetime) -> tuple[float | None, CBPE | None]:
    """The champion's metric on its held-out rows, and CBPE calibrated on them (binary classifiers)."""
    metric = context.metric
    holdout = context.holdout_rows(version, now)
    if not len(holdout) or LABEL not in holdout.columns:
        return None, None
    proba, classes = context.scorer(version)(holdout)
    y = holdout[LABEL].to_numpy()
    value = get_metric(metric).compute(y, proba, classes)
    baseline = float(value) if np.isfinite(value) else None
    cbpe = None
    if len(classes) == 2 and len(np.unique(y)) == 2 and metric in ("roc_auc", "accuracy"):
        cbpe = CBPE(metric="roc_auc" if metric == "roc_auc" else "accuracy").fit((y == classes[1]).astype(int), proba[:, 1])
    return baseline, cbpe


def _impact(context: MonitorContext, version: Any, latest_scores: np.ndarray[Any, Any], policy: DriftPolicy, now: datetime) -> Impact:
    metric = context.metric
    baseline, cbpe = context.derived(version, f"calibration:{metric}", lambda: _calibration(context, version, now))
    estimate = cbpe.estimate(latest_scores) if cbpe is not None and len(latest_scores) else None
    scorer = context.scorer(version)
    monitor = PerformanceMonitor(labeler=context.labeler, store=context.store, scorer=scorer, metric=metric,
                                 min_rows=min(policy.min_rows, 30), memo=context.window_memo(version))
    measured = monitor.latest_complete(now, size=policy.window, lookback=policy.persistence)
    at = trained_at(version)
    if measured is not None and at is not None and measured.start < at:
        measured = None  # a window from before the champion was trained says nothing about drift since
    return Impact(metric, baseline, estimate, measured)


def assess_drift(context: MonitorContext, policy: DriftPolicy, now: datetime) -> DriftAssessment | None:
    """The drift of the last ``policy.persistence`` windows before ``now``; None without a champion or its training rows."""
    version = context.champion()
    if version is None:
        return None
    reference = context.reference(version)
    if len(reference) == 0:
        return None
    bundle = context.load_bundle(version)
    features = bundle.features

    def prepare() -> tuple[FeatureDriftTest, dict[str, float], np.ndarray[Any, Any]]:
        tester = FeatureDriftTest(numeric_test=policy.numeric_test, categorical_test=policy.categorical_test, alpha=policy.alpha)
        tester.fit(reference, numeric=features.numeric, categorical=tuple(features.categorical))
        weights = feature_weights(features, bundle.learner.feature_importance())
        return tester, weights, np.sort(positive_scores(bundle, reference))

    tester, weights, reference_scores = context.cached((version.version, "drift", policy.key()), prepare)
    windows: list[WindowDrift] = []
    latest_scores = np.empty(0)
    for k in range(policy.persistence):
        end = now - k * policy.window
        window, scores = _window(context, tester, weights, reference_scores, version, policy, end - policy.window, end)
        if k == 0:
            latest_scores = scores
        windows.append(window)
    impact = _impact(context, version, latest_scores, policy, now)
    return DriftAssessment(now, version.version, policy, tuple(reversed(windows)), weights, impact)


__all__ = ["DriftAssessment", "DriftPolicy", "Impact", "WindowDrift", "assess_drift"]
