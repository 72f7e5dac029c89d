"""Refusing non-finite feature values in a learner's input.

The :class:`~lifelong.features.FeaturePipeline` decides what a missing or infinite value
becomes (``missing: impute`` or ``error``); a learner below it either has a native policy for
``NaN`` (gradient-boosted trees treat it as missing) or refuses such rows with a
:class:`~lifelong.errors.ValidationError` naming the first bad cell.

Examples
--------
>>> import numpy as np
>>> refuse_non_finite(np.array([[1.0, np.nan]]), allow_nan=True).shape
(1, 2)
>>> refuse_non_finite(np.array([[1.0, np.inf]]), allow_nan=True)
Traceback (most recent call last):
...
lifelong.errors.ValidationError: X: expected finite numbers (NaN means missing), got inf at row 0, column 1
"""

from __future__ import annotations

import numpy as np

from lifelong.errors import ValidationError
from lifelong.learners._checks import FloatArray


def refuse_non_finite(X: FloatArray, *, allow_nan: bool) -> FloatArray:
    """Return ``X`` unchanged, or raise on the first ``inf`` (and ``NaN`` unless allowed)."""
    bad = np.isinf(X) if allow_nan else ~np.isfinite(X)
    if bad.any():
        row, column = (int(i) for i in np.argwhere(bad)[0])
        expected = "finite numbers (NaN means missing)" if allow_nan else "finite numbers"
        raise ValidationError(
            f"X: expected {expected}, got {X[row, column]} at row {row}, column {column}",
            field="X",
        )
    return X


__all__ = ["refuse_non_finite"]
