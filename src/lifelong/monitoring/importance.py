"""Which drifts matter: weight each input feature by the model's importance of it.

A learner reports importance per column of its matrix (numeric columns, then one column per
declared category); the weight of an input feature is the sum over its columns, normalized so
that the weights sum to 1. A model without importances weighs every feature equally.

Examples
--------
>>> import numpy as np
>>> from lifelong.features import FeaturePipeline
>>> features = FeaturePipeline(numeric=("x", "y"), categorical={"c": ("a", "b")})
>>> feature_weights(features, np.array([6.0, 0.0, 1.0, 1.0]))
{'x': 0.75, 'y': 0.0, 'c': 0.25}
>>> feature_weights(features, None)
{'x': 0.3333333333333333, 'y': 0.3333333333333333, 'c': 0.3333333333333333}
>>> drifted_importance({"x": 0.75, "y": 0.0, "c": 0.25}, ["y", "c"])
0.25
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
from numpy.typing import NDArray

from lifelong.errors import ConfigError
from lifelong.features import FeaturePipeline


def feature_weights(features: FeaturePipeline, importance: NDArray[np.float64] | None) -> dict[str, float]:
    """Normalized importance of each input feature (equal weights when ``importance`` is None or all zero)."""
    inputs = features.columns
    if importance is None:
        return {name: 1.0 / len(inputs) for name in inputs}
    values = np.abs(np.asarray(importance, dtype=np.float64))
    if values.shape != (features.n_features,):
        raise ConfigError(
            f"importance: expected one value per model column ({features.n_features}), got shape {values.shape}"
        )
    totals = dict.fromkeys(inputs, 0.0)
    for column, value in zip(features.feature_names, values, strict=True):
        totals[column.split("=", 1)[0] if column not in totals else column] += float(value)
    grand = sum(totals.values())
    if not np.isfinite(grand) or grand <= 0:
        return {name: 1.0 / len(inputs) for name in inputs}
    return {name: value / grand for name, value in totals.items()}


def drifted_importance(weights: Mapping[str, float], drifted: Iterable[str]) -> float:
    """The share of the model's importance carried by the drifted features."""
    return float(sum(weights.get(name, 0.0) for name in set(drifted)))


__all__ = ["drifted_importance", "feature_weights"]
