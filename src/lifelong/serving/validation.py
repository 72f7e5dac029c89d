"""Turn request columns into typed arrays, rejecting wrong types, NaN and infinities.

Every error is a :class:`~lifelong.errors.ValidationError` that names the input, the type
expected and the value received.

Examples
--------
>>> column_from_values("x", [1, 2.5], "FP64").tolist()
[1.0, 2.5]
>>> column_from_values("x", [1, "abc"], "FP64")
Traceback (most recent call last):
...
lifelong.errors.ValidationError: x: expected a finite number (FP64), got 'abc' at row 1
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from lifelong.errors import ValidationError

EXPECTED = {
    "FP64": "a finite number (FP64)",
    "INT64": "an integer (INT64)",
    "BOOL": "a boolean (BOOL)",
    "BYTES": "a string (BYTES)",
}
_FAST_TYPES: dict[str, frozenset[type]] = {
    "FP64": frozenset({float, int}),
    "INT64": frozenset({int}),
    "BOOL": frozenset({bool}),
    "BYTES": frozenset({str}),
}
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


_SMALL = 16  # below this many values a Python loop checks finiteness faster than numpy


def all_finite(array: NDArray[np.float64]) -> bool:
    """Whether every value of a float array is finite (no NaN, no infinity)."""
    if array.size <= _SMALL:
        return all(map(math.isfinite, array.ravel().tolist()))
    return bool(np.isfinite(array).all())


def describe(value: Any, *, limit: int = 60) -> str:
    """A short ``repr`` of a received value for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def is_null(value: Any) -> bool:
    """Whether ``value`` stands for a missing value (None, NA, NaN)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _fail(name: str, datatype: str, value: Any, row: int) -> ValidationError:
    return ValidationError(
        f"{name}: expected {EXPECTED[datatype]}, got {describe(value)} at row {row}", field=name
    )


def _check_value(name: str, datatype: str, value: Any, row: int, required: bool) -> Any:
    """Validate one element; return it converted, or None for an allowed null."""
    if is_null(value):
        if required:
            raise ValidationError(
                f"{name}: expected {EXPECTED[datatype]}, got {describe(value)} at row {row} "
                "(the input is required)",
                field=name,
            )
        return None
    is_bool = isinstance(value, (bool, np.bool_))
    if datatype == "FP64":
        if is_bool or not isinstance(value, (int, float, np.integer, np.floating)):
            raise _fail(name, datatype, value, row)
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise _fail(name, datatype, value, row)
        return number
    if datatype == "INT64":
        if (
            isinstance(value, (float, np.floating))
            and math.isfinite(value)
            and float(value).is_integer()
        ):
            value = int(value)
        if (
            is_bool
            or not isinstance(value, (int, np.integer))
            or not _INT64_MIN <= int(value) <= _INT64_MAX
        ):
            raise _fail(name, datatype, value, row)
        return int(value)
    if datatype == "BOOL":
        if not is_bool:
            raise _fail(name, datatype, value, row)
        return bool(value)
    if not isinstance(value, str):
        raise _fail(name, datatype, value, row)
    return value


def _slow(name: str, values: Sequence[Any], datatype: str, required: bool) -> NDArray[Any]:
    checked = [
        _check_value(name, datatype, value, row, required) for row, value in enumerate(values)
    ]
    has_null = any(value is None for value in checked)
    if datatype == "FP64":
        return np.array([np.nan if v is None else v for v in checked], dtype=np.float64)
    if datatype == "INT64" and not has_null:
        return np.array(checked, dtype=np.int64)
    if datatype == "BOOL" and not has_null:
        return np.array(checked, dtype=np.bool_)
    out = np.empty(len(checked), dtype=object)
    out[:] = checked
    return out


def column_from_values(
    name: str, values: Sequence[Any], datatype: str, *, required: bool = True
) -> NDArray[Any]:
    """Validate a list of JSON-like values against ``datatype`` and return a typed array.

    Nulls are accepted only when ``required`` is false: they become NaN (``FP64``) or None.
    """
    if _FAST_TYPES[datatype].issuperset(map(type, values)):
        if datatype == "FP64":
            try:
                array = np.array(values, dtype=np.float64)
            except OverflowError:
                array = np.array([float("inf")], dtype=np.float64)
            if all_finite(array):
                return array
        elif datatype == "INT64":
            try:
                return np.array(values, dtype=np.int64)
            except OverflowError:
                pass
        elif datatype == "BOOL":
            return np.array(values, dtype=np.bool_)
        else:
            out = np.empty(len(values), dtype=object)
            out[:] = list(values)
            return out
    return _slow(name, values, datatype, required)


def column_from_array(
    name: str, array: NDArray[Any], datatype: str, *, required: bool = True
) -> NDArray[Any]:
    """Validate a numpy column against ``datatype``; numeric fast paths, element checks otherwise."""
    kind = array.dtype.kind
    if datatype == "FP64" and kind in "iuf":
        floats = array.astype(np.float64, copy=False)
        if all_finite(floats):
            return floats
        finite = np.isfinite(floats)
        if not required:
            finite |= np.isnan(floats)
        bad = np.flatnonzero(~finite)
        if len(bad) == 0:
            return floats
        _raise_at(name, datatype, floats, int(bad[0]), required)
    if datatype == "INT64" and kind in "iu":
        if kind == "u" and len(array) and int(array.max()) > _INT64_MAX:
            row = int(np.argmax(array > _INT64_MAX))
            raise _fail(name, datatype, array[row].item(), row)
        return array.astype(np.int64, copy=False)
    if datatype == "BOOL" and kind == "b":
        return array
    if kind in "iubmM" or (kind == "f" and datatype != "INT64"):
        first = array[0]
        raise _fail(name, datatype, first if kind in "mM" else first.item(), 0)
    return _slow(name, array.tolist(), datatype, required)


def _raise_at(name: str, datatype: str, values: NDArray[Any], row: int, required: bool) -> None:
    value = values[row].item()
    if required and math.isnan(value):
        raise ValidationError(
            f"{name}: expected {EXPECTED[datatype]}, got nan at row {row} (the input is required)",
            field=name,
        )
    raise _fail(name, datatype, value, row)


def missing_column(datatype: str, rows: int) -> NDArray[Any]:
    """The column an absent optional input becomes: NaN for ``FP64``, None otherwise."""
    if datatype == "FP64":
        return np.full(rows, np.nan, dtype=np.float64)
    return np.full(rows, None, dtype=object)


__all__ = [
    "EXPECTED",
    "all_finite",
    "column_from_array",
    "column_from_values",
    "describe",
    "is_null",
    "missing_column",
]
