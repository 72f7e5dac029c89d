"""Probabilities of a binary logistic regression without scikit-learn's per-call input handling.

On one row, most of ``LogisticRegression.predict_proba`` is scikit-learn checking its input
(``validate_data``: array-namespace and dataframe detection, feature-name checks), which the
server has already done: ``predict_array`` receives a float64 matrix of the right width whose
values are finite. :func:`binary_logistic_proba` repeats only the arithmetic, the same numpy
operations in the same order as scikit-learn (``X @ coef_.T + intercept_``, ``expit``, then
``[1 - p, p]``), so the probabilities are bitwise identical. It is used only for an exact
``LogisticRegression`` with two classes and dense coefficients, and only after it answered a
set of probe rows exactly as scikit-learn does; anything else keeps scikit-learn's own call.

Examples
--------
>>> import numpy as np
>>> from sklearn.linear_model import LogisticRegression
>>> X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.5]])
>>> estimator = LogisticRegression().fit(X, [0, 0, 1, 1])
>>> proba = binary_logistic_proba(estimator)
>>> bool(np.array_equal(proba(X), estimator.predict_proba(X)))
True
>>> binary_logistic_proba(object()) is None
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special
from sklearn.linear_model import LogisticRegression

ProbaFn = Callable[[NDArray[np.float64]], NDArray[np.float64]]
_PROBE_SEED = 0


def binary_logistic_proba(estimator: Any) -> ProbaFn | None:
    """``predict_proba`` of a fitted binary ``LogisticRegression`` without input handling, or None.

    None when ``estimator`` is anything else (a subclass, more classes, sparse coefficients),
    or when the arithmetic does not reproduce scikit-learn's answer on probe rows exactly.
    """
    if type(estimator) is not LogisticRegression:
        return None
    coef = getattr(estimator, "coef_", None)
    intercept = getattr(estimator, "intercept_", None)
    classes = getattr(estimator, "classes_", None)
    if (
        not isinstance(coef, np.ndarray)
        or not isinstance(intercept, np.ndarray)
        or classes is None
        or np.size(classes) != 2
        or coef.ndim != 2
        or coef.shape[0] != 1
        or coef.dtype != np.float64
    ):
        return None
    coef_t = coef.T

    def proba(X: NDArray[np.float64]) -> NDArray[np.float64]:
        scores = X @ coef_t + intercept
        prob = np.reshape(scores, (-1,))
        prob = np.asarray(special.expit(prob, out=prob))
        return np.stack([1 - prob, prob], axis=1)

    rng = np.random.default_rng(_PROBE_SEED)
    width = coef.shape[1]
    for rows in (1, 2, 7, 64):
        probe = rng.normal(scale=3.0, size=(rows, width))
        if not np.array_equal(proba(probe), estimator.predict_proba(probe)):
            return None
    return proba


__all__ = ["binary_logistic_proba"]
