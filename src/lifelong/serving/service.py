"""The prediction path: validate inputs against the model, predict, log, answer with the version.

Examples
--------
>>> import pandas as pd
>>> from lifelong.serving.catalog import ModelCatalog
>>> from lifelong.testing.fakes import InMemoryModelLoader, logistic_served_model
>>> loader = InMemoryModelLoader()
>>> loader.add(logistic_served_model("churn", "1.0", features=("x1", "x2")), champion=True)
>>> service = PredictionService(ModelCatalog(loader), None)
>>> result = service.predict("churn", pd.DataFrame({"x1": [0.5], "x2": [-1.0]}), "req-1")
>>> result.version, result.request_id, result.probabilities.shape
('1.0', 'req-1', (1, 2))
>>> service.predict("churn", pd.DataFrame({"x1": ["abc"], "x2": [1.0]}), "req-2")
Traceback (most recent call last):
...
lifelong.errors.ValidationError: x1: expected a finite number (FP64), got 'abc' at row 0
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from lifelong.clock import Clock, SystemClock
from lifelong.errors import ConfigError, LifelongError, NotFoundError, ValidationError
from lifelong.serving.catalog import ModelCatalog
from lifelong.serving.logger import PredictionLogger
from lifelong.serving.logrows import as_event_times
from lifelong.serving.model import InputSpec, PredictionResult, ServedModel
from lifelong.serving.validation import (
    column_from_array,
    column_from_values,
    describe,
    missing_column,
)

EventTimesLike: TypeAlias = Sequence[Any] | NDArray[Any] | pd.Series
Observer: TypeAlias = Callable[[ServedModel, Mapping[str, NDArray[Any]], PredictionResult], None]
_MISSING = object()
_MAX_ID_LENGTH = 200


class PredictionService:
    """Answer prediction requests with the catalog's current version of a model.

    Parameters
    ----------
    catalog
        The served models.
    logger
        Prediction log, or None to log nothing.
    clock
        Time source for the logged ``event_time``.
    extra
        What to do with columns the model does not declare: ``"reject"`` them with an error
        that lists them, or ``"ignore"`` them.

    Examples
    --------
    >>> from lifelong.serving.catalog import ModelCatalog
    >>> from lifelong.testing.fakes import InMemoryModelLoader, logistic_served_model
    >>> loader = InMemoryModelLoader()
    >>> loader.add(logistic_served_model("m", "1.0", features=("x1",)), champion=True)
    >>> service = PredictionService(ModelCatalog(loader), None)
    >>> service.predict_rows("m", [{"x1": 1.0}, {"x1": -2.0}]).labels.shape
    (2,)
    """

    def __init__(
        self,
        catalog: ModelCatalog,
        logger: PredictionLogger | None,
        *,
        clock: Clock | None = None,
        extra: Literal["reject", "ignore"] = "reject",
    ) -> None:
        if extra not in ("reject", "ignore"):
            raise ConfigError(f"extra: expected 'reject' or 'ignore', got {extra!r}")
        self._catalog = catalog
        self._logger = logger
        self._clock = clock or SystemClock()
        self._extra = extra
        self._observers: tuple[Observer, ...] = ()
        self._id_prefix = os.urandom(8).hex()
        self._id_counter = itertools.count()

    def add_observer(self, observer: Observer) -> None:
        """Call ``observer(served, inputs, result)`` after every answered prediction.

        Observers run on the request path: they must be quick (the router's shadow copies only
        enqueue work for a background thread) and must not raise.
        """
        self._observers = (*self._observers, observer)

    @property
    def catalog(self) -> ModelCatalog:
        """The served models."""
        return self._catalog

    @property
    def logger(self) -> PredictionLogger | None:
        """The prediction log, if any."""
        return self._logger

    def resolve(self, model: str | ServedModel, version: str | None = None) -> ServedModel:
        """The served version of ``model``; with ``version``, only if that version is serving.

        ``model`` may already be a :class:`ServedModel` (resolved earlier, so that checks and
        prediction use the same version even if the champion moves in between).
        """
        served = model if isinstance(model, ServedModel) else self._catalog.get(model)
        if version is not None and served.version != version:
            raise NotFoundError(
                f"version of model {served.model!r}: expected the serving version {served.version!r}, "
                f"got {version!r}"
            )
        return served

    def predict(
        self,
        model: str | ServedModel,
        records: pd.DataFrame,
        request_id: str | None = None,
        *,
        version: str | None = None,
        event_times: EventTimesLike | None = None,
    ) -> PredictionResult:
        """Predict for the rows of a DataFrame (one column per input).

        ``event_times`` (one per row) dates the logged rows, for replays in simulated time;
        by default they carry the clock's current time.
        """
        served = self.resolve(model, version)
        columns = {str(name): records[name].to_numpy() for name in records.columns}
        return self._run(served, columns, len(records), request_id, event_times)

    def predict_rows(
        self,
        model: str | ServedModel,
        rows: Sequence[Mapping[str, Any]],
        request_id: str | None = None,
        *,
        version: str | None = None,
        event_times: EventTimesLike | None = None,
    ) -> PredictionResult:
        """Predict for JSON-like records, ``[{column: value, ...}, ...]``."""
        served = self.resolve(model, version)
        names = {spec.name for spec in served.inputs}
        seen: set[str] = set()
        for row in rows:
            seen.update(row)
        unexpected = seen - names
        if unexpected:
            self._unexpected(served, unexpected)
        columns: dict[str, list[Any]] = {}
        for spec in served.inputs:
            if spec.name not in seen:
                continue
            values = [row.get(spec.name, _MISSING) for row in rows]
            if spec.required and _MISSING in values:
                index = values.index(_MISSING)
                raise ValidationError(
                    f"{spec.name}: required input is missing (expected {_kind(spec)}) in row {index}",
                    field=spec.name,
                )
            columns[spec.name] = [None if value is _MISSING else value for value in values]
        return self._run(served, columns, len(rows), request_id, event_times)

    def predict_columns(
        self,
        model: str | ServedModel,
        columns: Mapping[str, Sequence[Any] | NDArray[Any]],
        request_id: str | None = None,
        *,
        version: str | None = None,
        event_times: EventTimesLike | None = None,
    ) -> PredictionResult:
        """Predict for column-oriented inputs, ``{column: values}``, all of one length."""
        served = self.resolve(model, version)
        lengths = {len(values) for values in columns.values()}
        if len(lengths) > 1:
            raise ValidationError(
                "inputs: expected columns of one length, got lengths "
                f"{ {name: len(values) for name, values in columns.items()} }"
            )
        return self._run(served, columns, lengths.pop() if lengths else 0, request_id, event_times)

    # -- internals -----------------------------------------------------------------------------

    def _request_id(self, value: str | None) -> str:
        """The client's id, checked; else a new one: 32 hex digits, a random per-service prefix
        and a counter (unique across restarts with overwhelming probability, and cheap)."""
        if value is None:
            return f"{self._id_prefix}{next(self._id_counter):016x}"
        return _checked_id(value)

    def _unexpected(self, served: ServedModel, names: set[str]) -> None:
        if self._extra == "ignore":
            return
        ordered = sorted(names)
        raise ValidationError(
            f"inputs: unexpected {ordered}; model {served.model!r} version {served.version!r} accepts "
            f"{[spec.name for spec in served.inputs]}",
            field=ordered[0],
        )

    def _prepare(
        self, served: ServedModel, columns: Mapping[str, Any], rows: int
    ) -> dict[str, NDArray[Any]]:
        if rows < 1:
            raise ValidationError("inputs: expected at least one row, got 0")
        specs = served.inputs
        known = {spec.name for spec in specs}
        unexpected = {name for name in columns if name not in known}
        if unexpected:
            self._unexpected(served, unexpected)
        arrays: dict[str, NDArray[Any]] = {}
        for spec in specs:
            values = columns.get(spec.name)
            if values is None:
                if spec.required:
                    raise ValidationError(
                        f"{spec.name}: required input is missing (expected {_kind(spec)})",
                        field=spec.name,
                    )
                arrays[spec.name] = missing_column(spec.datatype, rows)
                continue
            if len(values) != rows:
                raise ValidationError(
                    f"{spec.name}: expected {rows} values, got {len(values)}", field=spec.name
                )
            if isinstance(values, np.ndarray):
                arrays[spec.name] = column_from_array(
                    spec.name, values, spec.datatype, required=spec.required
                )
            else:
                arrays[spec.name] = column_from_values(
                    spec.name, values, spec.datatype, required=spec.required
                )
        return arrays

    def _run(
        self,
        served: ServedModel,
        columns: Mapping[str, Any],
        rows: int,
        request_id: str | None,
        times: EventTimesLike | None,
    ) -> PredictionResult:
        request_id = self._request_id(request_id)
        arrays = self._prepare(served, columns, rows)
        when = as_event_times(times, rows) if times is not None else None
        if served.predict_array is not None:
            matrix = np.empty((rows, len(served.features)), dtype=np.float64)
            for column, name in enumerate(served.features):
                matrix[:, column] = arrays[name]
            labels, proba = served.predict_array(matrix)
        else:
            labels, proba = served.predict(pd.DataFrame(arrays))
        labels = np.asarray(labels)
        proba = np.asarray(proba, dtype=np.float64)
        if labels.shape != (rows,) or proba.shape != (rows, len(served.classes)):
            raise LifelongError(
                f"model {served.model!r} version {served.version!r}: expected labels of shape ({rows},) "
                f"and probabilities of shape ({rows}, {len(served.classes)}), got {labels.shape} and {proba.shape}"
            )
        result = PredictionResult(
            served.model, served.version, request_id, labels, proba, served.classes
        )
        if self._logger is not None:
            self._logger.log(result, arrays, event_time=self._clock.now() if when is None else when)
        for observer in self._observers:
            observer(served, arrays, result)
        return result


def _kind(spec: InputSpec) -> str:
    return {"FP64": "a number", "INT64": "an integer", "BOOL": "a boolean", "BYTES": "a string"}[
        spec.datatype
    ]


def _checked_id(value: str) -> str:
    if not isinstance(value, str) or not value or len(value) > _MAX_ID_LENGTH:
        raise ValidationError(
            f"request_id: expected a non-empty string of at most {_MAX_ID_LENGTH} characters, "
            f"got {describe(value)}",
            field="request_id",
        )
    return value


__all__ = ["PredictionService"]
