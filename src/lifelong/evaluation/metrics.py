"""Metrics computed from class probabilities, with their direction.

Examples
--------
>>> import numpy as np
>>> metric = get_metric("accuracy")
>>> metric.compute(np.array([0, 1, 1]), np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]), np.array([0, 1]))
0.6666666666666666
>>> metric.higher_is_better
True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score

from lifelong.errors import ConfigError


def _labels(proba: NDArray[np.float64], classes: NDArray[Any]) -> NDArray[Any]:
    return classes[np.argmax(proba, axis=1)]


def _roc_auc(y: NDArray[Any], proba: NDArray[np.float64], classes: NDArray[Any]) -> float:
    if len(np.unique(y)) < 2:
        return math.nan
    if proba.shape[1] == 2:
        return float(roc_auc_score(y == classes[1], proba[:, 1]))
    present = np.isin(classes, np.unique(y))
    if present.sum() < 2:
        return math.nan
    scores = proba[:, present] / np.clip(proba[:, present].sum(axis=1, keepdims=True), 1e-12, None)
    return float(roc_auc_score(y, scores, multi_class="ovr", labels=classes[present]))


def _accuracy(y: NDArray[Any], proba: NDArray[np.float64], classes: NDArray[Any]) -> float:
    predicted = _labels(proba, classes)
    if len(y) == 0 or len(y) != len(predicted):  # scikit-learn's answer (or error) for the odd cases
        return float(accuracy_score(y, predicted))
    return float(np.mean(y == predicted))  # the same share, without scikit-learn's input checks


def _log_loss(y: NDArray[Any], proba: NDArray[np.float64], classes: NDArray[Any]) -> float:
    return float(log_loss(y, np.clip(proba, 1e-15, 1.0), labels=classes))


def _f1(y: NDArray[Any], proba: NDArray[np.float64], classes: NDArray[Any]) -> float:
    average = "binary" if len(classes) == 2 else "macro"
    kwargs: dict[str, Any] = {"pos_label": classes[1]} if average == "binary" else {}
    return float(f1_score(y, _labels(proba, classes), average=average, zero_division=0.0, **kwargs))


@dataclass(frozen=True)
class Metric:
    """A named metric and whether higher values are better."""

    name: str
    higher_is_better: bool
    function: Callable[[NDArray[Any], NDArray[np.float64], NDArray[Any]], float]

    def compute(self, y: NDArray[Any], proba: NDArray[np.float64], classes: NDArray[Any]) -> float:
        """The metric of probabilities ``proba`` (columns ordered as ``classes``) against ``y``."""
        return self.function(np.asarray(y), np.asarray(proba, dtype=np.float64), np.asarray(classes))

    def better(self, a: float, b: float) -> float:
        """How much ``a`` is better than ``b`` (positive when better), whatever the direction."""
        return a - b if self.higher_is_better else b - a


_METRICS = {
    "roc_auc": Metric("roc_auc", True, _roc_auc),
    "accuracy": Metric("accuracy", True, _accuracy),
    "log_loss": Metric("log_loss", False, _log_loss),
    "f1": Metric("f1", True, _f1),
}


def get_metric(name: str) -> Metric:
    """The metric called ``name``; the error lists the known ones."""
    try:
        return _METRICS[name]
    except KeyError:
        raise ConfigError(f"evaluation.metric: expected one of {sorted(_METRICS)}, got {name!r}") from None


__all__ = ["Metric", "get_metric"]
