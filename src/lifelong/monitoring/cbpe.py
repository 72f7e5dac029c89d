"""Performance without labels: confidence-based performance estimation (CBPE) for classifiers.

A calibrated probability is the chance that the prediction is right, so the metric a binary
classifier reaches on a window can be estimated from its scores alone: the expected accuracy
is the mean chance of being right, the expected ROC AUC comes from the expected true- and
false-positive counts at every threshold. Scores are first calibrated on a labeled reference
window (isotonic regression) when that lowers the expected calibration error in a
cross-validation on the reference, as NannyML's CBPE does; the benchmark compares the two.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> p = rng.uniform(size=5000)
>>> y = (rng.uniform(size=5000) < p).astype(int)
>>> cbpe = CBPE(metric="accuracy").fit(y, p)
>>> estimate = cbpe.estimate(rng.uniform(size=4000))
>>> round(estimate.value, 2)
0.75
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Self

import numpy as np
from numpy.typing import NDArray
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import accuracy_score, auc, roc_auc_score
from sklearn.model_selection import StratifiedShuffleSplit

from lifelong.errors import ConfigError, DataError

CBPEMetric = Literal["roc_auc", "accuracy"]
Calibration = Literal["auto", "isotonic", "none"]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Estimate:
    """An estimated metric, its standard error (sampling only) and the reference it came from."""

    metric: str
    value: float
    standard_error: float
    rows: int
    reference_value: float
    calibrated: bool
    reference_estimate: float = float("nan")  # the same estimate on the reference rows themselves

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "value": self.value,
            "standard_error": self.standard_error,
            "rows": self.rows,
            "reference_value": self.reference_value,
            "reference_estimate": self.reference_estimate,
            "calibrated": self.calibrated,
        }


def expected_roc_auc(calibrated: FloatArray, scores: FloatArray) -> float:
    """ROC AUC expected from calibrated probabilities, thresholds taken on the model's scores."""
    order = np.argsort(scores)[::-1]
    expected = np.asarray(calibrated, dtype=np.float64)[order]
    tps = np.asarray(np.round(np.r_[0.0, np.cumsum(expected)], 5), dtype=np.float64)
    fps = np.asarray(np.round(np.r_[0.0, 1 + np.arange(len(expected)) - np.cumsum(expected)], 5), dtype=np.float64)
    if tps[-1] <= 0 or fps[-1] <= 0:
        return float("nan")
    return float(auc(fps / fps[-1], tps / tps[-1]))


def expected_accuracy(calibrated: FloatArray, predictions: NDArray[Any]) -> float:
    """Accuracy expected from calibrated probabilities of the positive class."""
    right = np.where(np.asarray(predictions) == 1, calibrated, 1 - np.asarray(calibrated))
    return float(np.mean(right))


def _ece(y: NDArray[Any], p: FloatArray, bins: int) -> float:
    order = np.argsort(p)
    edges = np.linspace(0, len(p), bins + 1).astype(int)
    total = 0.0
    for start, end in zip(edges[:-1], edges[1:], strict=True):
        chunk = order[start:end]
        if len(chunk):
            total += len(chunk) / len(p) * abs(float(np.mean(y[chunk])) - float(np.mean(p[chunk])))
    return total


def needs_calibration(y: NDArray[Any], p: FloatArray, *, splits: int = 10, bins: int = 10, seed: int = 42) -> bool:
    """Whether isotonic calibration lowers the expected calibration error out of sample."""
    if len(np.unique(y)) < 2 or roc_auc_score(y, p) > 0.999:
        return False
    splitter = StratifiedShuffleSplit(n_splits=splits, test_size=0.1, random_state=seed)
    truth, raw, fixed = [], [], []
    for train, test in splitter.split(p, y):
        model = IsotonicRegression(out_of_bounds="clip", increasing=True).fit(p[train], y[train])
        truth.append(y[test])
        raw.append(p[test])
        fixed.append(model.predict(p[test]))
    y_all, raw_all, fixed_all = np.concatenate(truth), np.concatenate(raw), np.concatenate(fixed)
    return _ece(y_all, raw_all, bins) > _ece(y_all, fixed_all, bins)


def hanley_mcneil_error(auc_value: float, positives: float, negatives: float) -> float:
    """Standard error of a ROC AUC over ``positives`` and ``negatives`` rows (Hanley and McNeil, 1982)."""
    if positives < 1 or negatives < 1 or not np.isfinite(auc_value):
        return float("nan")
    q1 = auc_value / (2 - auc_value)
    q2 = 2 * auc_value**2 / (1 + auc_value)
    variance = (
        auc_value * (1 - auc_value) + (positives - 1) * (q1 - auc_value**2) + (negatives - 1) * (q2 - auc_value**2)
    ) / (positives * negatives)
    return float(np.sqrt(max(variance, 0.0)))


class CBPE:
    """Estimate a binary classifier's metric on unlabeled windows.

    Parameters
    ----------
    metric
        ``roc_auc`` or ``accuracy``.
    calibration
        ``auto`` (isotonic when it helps on the reference), ``isotonic`` or ``none``.
    threshold
        Score at or above which the prediction is the positive class (for accuracy).
    """

    def __init__(self, *, metric: CBPEMetric = "roc_auc", calibration: Calibration = "auto", threshold: float = 0.5) -> None:
        if metric not in ("roc_auc", "accuracy"):
            raise ConfigError(f"metric: expected 'roc_auc' or 'accuracy', got {metric!r}")
        if calibration not in ("auto", "isotonic", "none"):
            raise ConfigError(f"calibration: expected 'auto', 'isotonic' or 'none', got {calibration!r}")
        if not 0 < threshold < 1:
            raise ConfigError(f"threshold: expected a number in (0, 1), got {threshold!r}")
        self.metric: CBPEMetric = metric
        self.calibration: Calibration = calibration
        self.threshold = float(threshold)
        self._calibrator: IsotonicRegression | None = None
        self._reference_value = float("nan")
        self._reference_std = float("nan")
        self._reference_fraction = float("nan")
        self._reference_estimate = float("nan")
        self._fitted = False

    def fit(self, y: NDArray[Any], scores: FloatArray) -> Self:
        """Calibrate on a labeled reference (0/1 labels, positive-class scores)."""
        y_arr, p = self._checked(scores, y)
        if len(np.unique(y_arr)) < 2:
            raise DataError(f"y: expected both classes in the reference, got only {np.unique(y_arr).tolist()}")
        calibrate = self.calibration == "isotonic" or (self.calibration == "auto" and needs_calibration(y_arr, p))
        self._calibrator = IsotonicRegression(out_of_bounds="clip", increasing=True).fit(p, y_arr) if calibrate else None
        if self.metric == "accuracy":
            right = (y_arr == (p >= self.threshold)).astype(np.float64)
            self._reference_value = float(accuracy_score(y_arr, p >= self.threshold))
            self._reference_std = float(np.std(right))
        else:
            self._reference_value = float(roc_auc_score(y_arr, p))
            self._reference_fraction = float(np.mean(y_arr))
        self._reference_estimate = self._expected(p, (p >= self.threshold).astype(int))[0]
        self._fitted = True
        return self

    def calibrated(self, scores: FloatArray) -> FloatArray:
        """Scores mapped through the reference's calibration (unchanged when none was needed)."""
        p = np.asarray(scores, dtype=np.float64)
        return p if self._calibrator is None else np.asarray(self._calibrator.predict(p), dtype=np.float64)

    def estimate(self, scores: FloatArray, *, predictions: NDArray[Any] | None = None) -> Estimate:
        """The metric expected on a window of unlabeled scores.

        ``predictions`` (0/1) are the labels the model answered, when they are not simply
        ``scores >= threshold``; they matter for accuracy only.
        """
        if not self._fitted:
            raise ConfigError("CBPE: expected fit() on a labeled reference before estimate()")
        p = self._checked(scores)[1]
        if len(p) == 0:
            raise DataError("scores: expected at least one score to estimate from, got none")
        answered = (p >= self.threshold).astype(int) if predictions is None else np.asarray(predictions).ravel()
        if len(answered) != len(p):
            raise DataError(f"predictions: expected {len(p)} values (one per score), got {len(answered)}")
        value, error = self._expected(p, answered)
        return Estimate(
            self.metric, value, error, len(p), self._reference_value, self._calibrator is not None, self._reference_estimate
        )

    def _expected(self, p: FloatArray, answered: NDArray[Any]) -> tuple[float, float]:
        """The metric expected from scores ``p`` (and answered labels, for accuracy), with its standard error."""
        calibrated = self.calibrated(p)
        if self.metric == "accuracy":
            return expected_accuracy(calibrated, answered), float(self._reference_std / np.sqrt(len(p)))
        value = expected_roc_auc(calibrated, p)
        positives = self._reference_fraction * len(p)
        return value, hanley_mcneil_error(value, positives, len(p) - positives)

    @staticmethod
    def _checked(scores: Any, y: Any = None) -> tuple[NDArray[Any], FloatArray]:
        p = np.asarray(scores, dtype=np.float64).ravel()
        if not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
            raise DataError("scores: expected probabilities in [0, 1] without NaN, got values outside")
        if y is None:
            return np.empty(0), p
        y_arr = np.asarray(y).ravel()
        if len(y_arr) != len(p):
            raise DataError(f"y: expected {len(p)} labels (one per score), got {len(y_arr)}")
        if not np.isin(y_arr, (0, 1)).all():
            raise DataError(f"y: expected 0/1 labels, got values {sorted(set(np.unique(y_arr).tolist()))[:5]}")
        return y_arr.astype(np.int64), p


__all__ = [
    "CBPE",
    "CBPEMetric",
    "Calibration",
    "Estimate",
    "expected_accuracy",
    "expected_roc_auc",
    "hanley_mcneil_error",
    "needs_calibration",
]
