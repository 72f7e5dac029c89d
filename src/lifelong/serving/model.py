"""What the prediction server serves, and the narrow interfaces it needs from the rest of lifelong.

The server depends on three small protocols rather than on the registry or the event store:
a :class:`ModelLoader` (which version is champion, and how to load one), a
:class:`PredictionSink` (where prediction rows are appended) and optional
:class:`AdminActions` (promote, roll back).

Examples
--------
>>> import numpy as np
>>> from sklearn.linear_model import LogisticRegression
>>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
>>> estimator = LogisticRegression().fit(X, [0, 0, 1, 1])
>>> served = served_from_estimator("churn", "1.0", estimator, features=("x",))
>>> [spec.name for spec in served.inputs], served.classes
(['x'], (0, 1))
>>> labels, proba = served.predict(pd.DataFrame({"x": [0.0, 3.0]}))
>>> labels.tolist(), proba.shape
([0, 1], (2, 2))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal, Protocol, get_args

import numpy as np
import pandas as pd
import sklearn
from numpy.typing import NDArray

from lifelong.errors import ConfigError

Datatype = Literal["FP64", "INT64", "BYTES", "BOOL"]
DATATYPES: tuple[str, ...] = get_args(Datatype)

FrameFn = Callable[[pd.DataFrame], tuple[NDArray[Any], NDArray[np.float64]]]
ArrayFn = Callable[[NDArray[np.float64]], tuple[NDArray[Any], NDArray[np.float64]]]


@dataclass(frozen=True)
class InputSpec:
    """One input column of a served model.

    Parameters
    ----------
    name
        Column name, as the client sends it.
    datatype
        One of ``FP64``, ``INT64``, ``BYTES`` (a string) or ``BOOL``.
    required
        Whether every request must carry it; an optional input may be absent or null.

    Examples
    --------
    >>> InputSpec("amount", "FP64")
    InputSpec(name='amount', datatype='FP64', required=True)
    """

    name: str
    datatype: Datatype
    required: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"InputSpec.name: expected a non-empty string, got {self.name!r}")
        if self.datatype not in DATATYPES:
            raise ConfigError(
                f"InputSpec.datatype of {self.name!r}: expected one of {list(DATATYPES)}, "
                f"got {self.datatype!r}"
            )


@dataclass(frozen=True)
class ServedModel:
    """A loaded model version, ready to answer.

    Parameters
    ----------
    model, version
        Model name and the version that answers.
    inputs
        Feature columns plus pass-through keys the client sends (an impression id, say).
    classes
        Class labels, in the column order of the probabilities.
    predict
        ``frame -> (labels, probabilities of shape (n, k))``.
    platform
        Framework name reported in the model metadata.
    features, predict_array
        Optional fast path: when ``predict_array`` is given, the server stacks the ``features``
        columns (all required ``FP64`` inputs) into a float matrix and calls it, skipping
        pandas. The server has already checked that matrix: float64, two dimensions, one
        column per feature, at least one row, every value finite (see :func:`checked_matrix`).

    Examples
    --------
    >>> import numpy as np
    >>> def constant(frame):
    ...     return np.zeros(len(frame), dtype=np.int64), np.tile([1.0, 0.0], (len(frame), 1))
    >>> served = ServedModel("m", "1.0", (InputSpec("x", "FP64"),), (0, 1), constant)
    >>> served.predict(pd.DataFrame({"x": [1.0]}))[0].tolist()
    [0]
    """

    model: str
    version: str
    inputs: tuple[InputSpec, ...]
    classes: tuple[Any, ...]
    predict: FrameFn
    platform: str = "lifelong"
    features: tuple[str, ...] = ()
    predict_array: ArrayFn | None = None

    def __post_init__(self) -> None:
        names = [spec.name for spec in self.inputs]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ConfigError(
                f"ServedModel.inputs of {self.model!r}: expected unique names, got duplicates {duplicates}"
            )
        if not self.classes:
            raise ConfigError(
                f"ServedModel.classes of {self.model!r}: expected at least one class, got ()"
            )
        if self.predict_array is not None:
            fp64 = {spec.name for spec in self.inputs if spec.datatype == "FP64" and spec.required}
            missing = [name for name in self.features if name not in fp64]
            if not self.features or missing:
                raise ConfigError(
                    f"ServedModel.features of {self.model!r}: expected required FP64 inputs for "
                    f"predict_array, got {list(self.features)} (not FP64 inputs: {missing})"
                )


@dataclass(frozen=True, eq=False)
class PredictionResult:
    """The answer to one prediction request, named with the version that produced it.

    Examples
    --------
    >>> import numpy as np
    >>> result = PredictionResult("m", "1.0", "r1", np.array([1]), np.array([[0.2, 0.8]]), (0, 1))
    >>> result.scores.tolist()
    [0.8]
    """

    model: str
    version: str
    request_id: str
    labels: NDArray[Any]
    probabilities: NDArray[np.float64]
    classes: tuple[Any, ...]

    @property
    def scores(self) -> NDArray[np.float64]:
        """Probability of the positive class for binary models, the top probability otherwise."""
        return positive_scores(self.probabilities)


def positive_scores(probabilities: NDArray[np.float64]) -> NDArray[np.float64]:
    """Score per row: ``p[:, 1]`` for two classes, the row maximum otherwise."""
    if probabilities.ndim != 2 or probabilities.shape[1] == 0:
        return np.zeros(len(probabilities), dtype=np.float64)
    if probabilities.shape[1] == 2:
        return np.ascontiguousarray(probabilities[:, 1], dtype=np.float64)
    return np.asarray(probabilities.max(axis=1), dtype=np.float64)


def checked_matrix() -> AbstractContextManager[None]:
    """Context in which scikit-learn skips the input checks the server has already made.

    ``predict_array`` receives a float64 matrix whose shape and finiteness the server checked
    (NaN and infinities are refused with a 400 that names the input), so scikit-learn's own
    per-call finiteness scan and parameter validation are repeated work; this turns them off
    for the call (thread-local, restored on exit).

    Examples
    --------
    >>> with checked_matrix():
    ...     sklearn.get_config()["assume_finite"]
    True
    >>> sklearn.get_config()["assume_finite"]
    False
    """
    context: AbstractContextManager[None] = sklearn.config_context(
        assume_finite=True, skip_parameter_validation=True
    )
    return context


class ModelLoader(Protocol):
    """Where served models come from (the registry, or an in-memory fake)."""

    def models(self) -> list[str]:
        """Names of the models that can be served."""
        ...

    def champion_version(self, model: str) -> str | None:
        """The version that should answer now; cheap, polled."""
        ...

    def load(self, model: str, version: str) -> ServedModel:
        """Load one version completely (artifacts read and checked)."""
        ...


class PredictionSink(Protocol):
    """Where prediction rows go: the event store's append (idempotent by ``event_id``)."""

    def append(self, stream: str, frame: pd.DataFrame) -> object:
        """Store ``frame`` in ``stream``."""
        ...


class AdminActions(Protocol):
    """Champion moves the admin API may trigger."""

    def promote(self, model: str, version: str, *, actor: str, reason: str) -> None:
        """Make ``version`` the champion of ``model``."""
        ...

    def rollback(self, model: str, *, actor: str, reason: str) -> str:
        """Restore the previous champion; return the restored version."""
        ...


class ProbabilisticEstimator(Protocol):
    """What :func:`served_from_estimator` needs: scikit-learn's or a lifelong Learner's shape."""

    @property
    def classes_(self) -> Any: ...

    def predict_proba(self, X: NDArray[np.float64]) -> Any: ...


def served_from_estimator(
    model: str,
    version: str,
    estimator: ProbabilisticEstimator,
    *,
    features: Sequence[str],
    extra_inputs: Sequence[InputSpec] = (),
    platform: str = "sklearn",
) -> ServedModel:
    """Wrap a fitted classifier as a :class:`ServedModel` over ``FP64`` feature columns.

    Parameters
    ----------
    model, version
        Names reported in every response.
    estimator
        A fitted object with ``predict_proba`` and ``classes_`` (scikit-learn or a Learner).
    features
        Feature columns, in the order the estimator was trained on.
    extra_inputs
        Pass-through inputs (ids) the client sends and the prediction log keeps.
    platform
        Reported in the model metadata.
    """
    classes = np.asarray(estimator.classes_)
    columns = list(features)

    def predict_array(X: NDArray[np.float64]) -> tuple[NDArray[Any], NDArray[np.float64]]:
        with checked_matrix():
            proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
        return classes[proba.argmax(axis=1)], proba

    def predict(frame: pd.DataFrame) -> tuple[NDArray[Any], NDArray[np.float64]]:
        proba = np.asarray(estimator.predict_proba(frame[columns].to_numpy(dtype=np.float64)))
        return classes[proba.argmax(axis=1)], proba.astype(np.float64, copy=False)

    inputs = tuple(InputSpec(name, "FP64") for name in columns) + tuple(extra_inputs)
    return ServedModel(
        model=model,
        version=version,
        inputs=inputs,
        classes=tuple(classes.tolist()),
        predict=predict,
        platform=platform,
        features=tuple(columns),
        predict_array=predict_array,
    )


__all__ = [
    "DATATYPES",
    "AdminActions",
    "Datatype",
    "InputSpec",
    "ModelLoader",
    "PredictionResult",
    "PredictionSink",
    "ProbabilisticEstimator",
    "ServedModel",
    "checked_matrix",
    "positive_scores",
    "served_from_estimator",
]
