"""Calibration: expected calibration error (ECE) over equal-width confidence bins.

Examples
--------
>>> import numpy as np
>>> y = np.array([0, 1, 1, 0])
>>> proba = np.array([[0.9, 0.1], [0.1, 0.9], [0.2, 0.8], [0.7, 0.3]])
>>> round(expected_calibration_error(y, proba, np.array([0, 1]), bins=10), 4)
0.175
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from lifelong.errors import ConfigError
from lifelong.evaluation.gates import Comparison, Gate, GateResult, needs_data


def expected_calibration_error(
    y: NDArray[Any], proba: NDArray[np.float64], classes: NDArray[Any], *, bins: int = 10
) -> float:
    """Binned ECE: the row-weighted mean of ``|accuracy - confidence|`` per bin.

    With two classes the confidence is the probability of the positive class (``classes[1]``)
    and the accuracy the share of positives in the bin; with more, the top-label confidence
    and whether the top label is right.
    """
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ConfigError(f"bins: expected an integer >= 1, got {bins!r}")
    truth = np.asarray(y)
    p = np.asarray(proba, dtype=np.float64)
    if len(truth) == 0:
        return float("nan")
    labels = np.asarray(classes)
    if p.shape[1] == 2:
        confidence = p[:, 1]
        outcome = (truth == labels[1]).astype(np.float64)
    else:
        top = p.argmax(axis=1)
        confidence = p[np.arange(len(p)), top]
        outcome = (labels[top] == truth).astype(np.float64)
    index = np.clip((confidence * bins).astype(np.int64), 0, bins - 1)
    counts = np.bincount(index, minlength=bins).astype(np.float64)
    mean_conf = np.bincount(index, weights=confidence, minlength=bins)
    mean_out = np.bincount(index, weights=outcome, minlength=bins)
    used = counts > 0
    gaps = np.abs(mean_out[used] - mean_conf[used])
    return float(gaps.sum() / len(truth))


class CalibrationGate(Gate):
    """Reject a challenger whose ECE exceeds ``max_ece``, or the champion's by more than ``max_increase``.

    Examples
    --------
    >>> from lifelong.evaluation.data import EvaluationData, ScoredRows
    >>> from lifelong.evaluation.metrics import get_metric
    >>> y = np.array([0, 1] * 50)
    >>> wrong = np.where(y == 0, 0.99, 0.01)  # confidently wrong on every row
    >>> rows = ScoredRows(y, np.array([0, 1]), np.column_stack([1 - wrong, wrong]), None, None)
    >>> data = EvaluationData(get_metric("accuracy"), rows, None)
    >>> CalibrationGate(max_ece=0.1).check(Comparison("accuracy", True, 0.0, None, 100, data=data)).passed
    False
    """

    kind = "calibration"

    def __init__(
        self, *, bins: int = 10, max_ece: float | None = 0.1, max_increase: float | None = None
    ) -> None:
        if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
            raise ConfigError(f"bins: expected an integer >= 2, got {bins!r}")
        for name, value in (("max_ece", max_ece), ("max_increase", max_increase)):
            if value is not None and not 0 <= value <= 1:
                raise ConfigError(f"{name}: expected a number in [0, 1] or None, got {value!r}")
        self.bins = bins
        self.max_ece = max_ece
        self.max_increase = max_increase

    def check(self, comparison: Comparison) -> GateResult:
        data = comparison.data
        if data is None:
            return needs_data(self.kind)
        rows = data.holdout
        ece = expected_calibration_error(rows.y, rows.challenger, rows.classes, bins=self.bins)
        values: dict[str, Any] = {
            "bins": self.bins,
            "ece": ece,
            "max_ece": self.max_ece,
            "max_increase": self.max_increase,
        }
        problems: list[str] = []
        if self.max_ece is not None and not ece <= self.max_ece:
            problems.append(f"ECE {ece:.4f} > {self.max_ece}")
        if rows.champion is not None:
            champion = expected_calibration_error(rows.y, rows.champion, rows.classes, bins=self.bins)
            values["champion_ece"] = champion
            if self.max_increase is not None and not ece - champion <= self.max_increase:
                problems.append(f"ECE {ece:.4f} exceeds the champion's {champion:.4f} by more than {self.max_increase}")
        if problems:
            return GateResult(self.kind, False, "calibration: " + "; ".join(problems), values)
        versus = f" (champion {values['champion_ece']:.4f})" if "champion_ece" in values else ""
        return GateResult(self.kind, True, f"ECE {ece:.4f}{versus} over {self.bins} bins within limits", values)


__all__ = ["CalibrationGate", "expected_calibration_error"]
