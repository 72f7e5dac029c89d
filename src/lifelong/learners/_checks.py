"""Validation shared by the learners: hyperparameters and training/prediction inputs.

Every failure raises a :mod:`lifelong.errors` exception whose message names the parameter,
what was expected and what was received.

Examples
--------
>>> import numpy as np
>>> check_features(np.zeros((2, 3)), n_features=3).shape
(2, 3)
>>> check_features(np.zeros((2, 2)), n_features=3)
Traceback (most recent call last):
...
lifelong.errors.ValidationError: X: expected 3 feature columns, got 2
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lifelong.errors import ConfigError, ValidationError

FloatArray = NDArray[np.float64]


def check_int(name: str, value: object, *, minimum: int) -> int:
    """``value`` as an int ``>= minimum`` (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ConfigError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def check_float(
    name: str,
    value: object,
    *,
    low: float,
    high: float,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """``value`` as a finite float within ``low``..``high`` (bounds as stated)."""
    left = "[" if low_inclusive else "("
    right = "]" if high_inclusive else ")"
    expected = f"a number in {left}{low}, {high}{right}"
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ConfigError(f"{name}: expected {expected}, got {value!r}")
    number = float(value)
    below = number < low if low_inclusive else number <= low
    above = number > high if high_inclusive else number >= high
    if math.isnan(number) or below or above:
        raise ConfigError(f"{name}: expected {expected}, got {value!r}")
    return number


def check_choice(name: str, value: object, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(f"{name}: expected one of {list(choices)}, got {value!r}")
    return value


def check_features(X: object, *, n_features: int | None = None) -> FloatArray:
    """``X`` as a 2-D float64 array with at least one row (and ``n_features`` columns)."""
    try:
        array = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"X: expected a 2-D array of numbers, got {exc}", field="X") from exc
    if array.ndim != 2:
        raise ValidationError(
            f"X: expected a 2-D array (rows, features), got {array.ndim} dimension(s)", field="X"
        )
    if array.shape[0] == 0:
        raise ValidationError("X: expected at least one row, got 0", field="X")
    if n_features is not None and array.shape[1] != n_features:
        raise ValidationError(
            f"X: expected {n_features} feature columns, got {array.shape[1]}", field="X"
        )
    return array


def check_target(y: object, n_rows: int) -> NDArray[Any]:
    """``y`` as a 1-D array with one value per row of ``X``."""
    array = np.asarray(y)
    if array.ndim != 1:
        raise ValidationError(f"y: expected a 1-D array, got {array.ndim} dimension(s)", field="y")
    if array.shape[0] != n_rows:
        raise ValidationError(
            f"y: expected {n_rows} values (one per row of X), got {array.shape[0]}", field="y"
        )
    return array


def check_weight(sample_weight: object, n_rows: int) -> FloatArray | None:
    """``sample_weight`` as a 1-D array of non-negative finite floats, or ``None``."""
    if sample_weight is None:
        return None
    try:
        array = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"sample_weight: expected numbers, got {exc}", field="sample_weight"
        ) from exc
    if array.ndim != 1 or array.shape[0] != n_rows:
        raise ValidationError(
            f"sample_weight: expected {n_rows} values (one per row of X), got shape {array.shape}",
            field="sample_weight",
        )
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ValidationError(
            "sample_weight: expected finite numbers >= 0, got negative or non-finite values",
            field="sample_weight",
        )
    return array


def check_known_labels(y: NDArray[Any], classes: NDArray[Any]) -> None:
    """Refuse labels that are not among ``classes`` (a stateful update cannot add a class)."""
    unknown = np.setdiff1d(np.unique(y), classes)
    if unknown.size:
        raise ValidationError(
            f"y: expected labels among the fitted classes {classes.tolist()}, "
            f"got unseen label(s) {unknown.tolist()}; a new class needs a fit from scratch",
            field="y",
        )


def json_labels(classes: NDArray[Any]) -> list[Any]:
    """Class labels as plain JSON values (numpy scalars become Python ones)."""
    return [item.item() if isinstance(item, np.generic) else item for item in classes.tolist()]


__all__ = [
    "FloatArray",
    "check_choice",
    "check_features",
    "check_float",
    "check_int",
    "check_known_labels",
    "check_target",
    "check_weight",
    "json_labels",
]
