"""Vectorized coercion of one column to a field type, with a message for each bad value.

Each function takes a column (with a ``RangeIndex``) and returns the coerced column, missing
where the value is missing or bad, and the messages of the bad values, indexed by row. A
message names the expectation and the value, e.g. ``expected a number, got 'abc'``; the
caller puts the field name in front.

Examples
--------
>>> import pandas as pd
>>> values, problems = to_float(pd.Series(["1.5", "abc", None], dtype=object))
>>> values.tolist()[:2]
[1.5, nan]
>>> problems.tolist()
["expected a number, got 'abc'"]
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from lifelong.events.payload import show

_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
_TEXT = {"string", "empty"}
_UTC_MICROS = pd.DatetimeTZDtype("us", "UTC")


def _messages(series: pd.Series, bad: pd.Series, template: Callable[[Any], str]) -> pd.Series:
    """Messages for the rows of ``bad``, built from the raw values (only bad rows are visited)."""
    return pd.Series(
        [template(value) for value in series[bad]], index=series.index[bad], dtype=object
    )


def _is_bool_value(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def _elementwise(series: pd.Series, test: Callable[[Any], bool]) -> pd.Series:
    return series.map(test, na_action="ignore").fillna(False).astype(bool)


def _numbers(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Float values of ``series`` and a mask of present values that are not numbers."""
    present = series.notna()
    if pd.api.types.is_bool_dtype(series.dtype):
        return pd.Series(np.nan, index=series.index), present
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.astype("float64"), pd.Series(False, index=series.index)
    wrong = _elementwise(series, _is_bool_value) if series.dtype == object else present & False
    numbers = pd.to_numeric(series.where(~wrong), errors="coerce").astype("float64")
    return numbers, present & (wrong | numbers.isna())


def _bounds(
    series: pd.Series, numbers: pd.Series, ok: pd.Series, low: float | None, high: float | None
) -> list[pd.Series]:
    problems: list[pd.Series] = []
    if low is not None:
        below = ok & (numbers < low)
        problems.append(
            _messages(series, below, lambda v: f"expected a value >= {low}, got {show(v)}")
        )
    if high is not None:
        above = ok & (numbers > high)
        problems.append(
            _messages(series, above, lambda v: f"expected a value <= {high}, got {show(v)}")
        )
    return problems


def _combine(problems: list[pd.Series]) -> pd.Series:
    """First message per row (a value has one problem worth reporting)."""
    found = [part for part in problems if len(part)]
    if not found:
        return pd.Series(dtype=object)
    merged = pd.concat(found)
    return merged[~merged.index.duplicated(keep="first")].sort_index()


def _clean_numbers(
    series: pd.Series, low: float | None, high: float | None
) -> pd.Series | None:
    """``series`` as float64 when it is a numeric column with nothing to report, else None.

    The common case (a column already read as numbers, all finite and in bounds) is checked
    with a few whole-array operations instead of building a message series per check.
    """
    if pd.api.types.is_bool_dtype(series.dtype) or not pd.api.types.is_numeric_dtype(series.dtype):
        return None
    numbers = series.astype("float64")
    values = numbers.to_numpy()
    if np.isinf(values).any():
        return None
    with np.errstate(invalid="ignore"):
        if low is not None and (values < low).any():
            return None
        if high is not None and (values > high).any():
            return None
    return numbers


def to_float(
    series: pd.Series, *, low: float | None = None, high: float | None = None
) -> tuple[pd.Series, pd.Series]:
    """Finite floats within ``[low, high]``."""
    clean = _clean_numbers(series, low, high)
    if clean is not None:
        return clean, pd.Series(dtype=object)
    numbers, wrong = _numbers(series)
    problems = [_messages(series, wrong, lambda v: f"expected a number, got {show(v)}")]
    infinite = ~wrong & numbers.notna() & ~np.isfinite(numbers)
    problems.append(
        _messages(series, infinite, lambda v: f"expected a finite number, got {show(v)}")
    )
    ok = numbers.notna() & ~infinite
    problems.extend(_bounds(series, numbers, ok, low, high))
    messages = _combine(problems)
    return numbers.where(ok & ~numbers.index.isin(messages.index)), messages


def to_int(
    series: pd.Series, *, low: float | None = None, high: float | None = None
) -> tuple[pd.Series, pd.Series]:
    """Integers (an integral float such as ``2.0`` counts) within ``[low, high]``."""
    numbers, wrong = _numbers(series)
    problems = [_messages(series, wrong, lambda v: f"expected an integer, got {show(v)}")]
    fractional = numbers.notna() & ((numbers % 1 != 0) | ~np.isfinite(numbers))
    problems.append(_messages(series, fractional, lambda v: f"expected an integer, got {show(v)}"))
    huge = numbers.notna() & ~fractional & (numbers.abs() >= 2.0**63)
    problems.append(_messages(series, huge, lambda v: f"expected a 64-bit integer, got {show(v)}"))
    ok = numbers.notna() & ~fractional & ~huge
    problems.extend(_bounds(series, numbers, ok, low, high))
    messages = _combine(problems)
    keep = ok & ~numbers.index.isin(messages.index)
    if pd.api.types.is_integer_dtype(series.dtype):
        return series.astype("Int64").where(keep), messages
    return numbers.where(keep).astype("Int64"), messages


def _stringable(value: Any) -> bool:
    return isinstance(value, (str, int, float, np.integer, np.floating)) and not _is_bool_value(
        value
    )


def to_str(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Strings; integers and floats are written as text, booleans and containers refused."""
    if isinstance(series.dtype, pd.StringDtype) or (
        series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) in _TEXT
    ):
        return series.astype("str"), pd.Series(dtype=object)  # all text: nothing to check
    present = series.notna()
    if pd.api.types.is_bool_dtype(series.dtype):
        wrong = present
    elif series.dtype == object:
        wrong = present & ~_elementwise(series, _stringable)
    else:
        wrong = present & False
    messages = _messages(series, wrong, lambda v: f"expected a string, got {show(v)}")
    return series.where(~wrong).astype("str"), messages


def _boolean(value: Any) -> bool | None:
    if _is_bool_value(value):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        return True if text in _TRUE else False if text in _FALSE else None
    return None


def to_bool(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Booleans; also 0/1 and the words true/false, yes/no, t/f, y/n (any case)."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype("boolean"), pd.Series(dtype=object)
    mapped = series.map(_boolean, na_action="ignore")  # all-None may come back as NaT
    values = pd.Series(mapped.to_numpy(dtype=object), index=series.index, dtype=object)
    values = values.where(mapped.notna(), None)
    wrong = series.notna() & values.isna()
    messages = _messages(series, wrong, lambda v: f"expected a boolean, got {show(v)}")
    return values.astype("boolean"), messages


def to_category(series: pd.Series, categories: tuple[str, ...]) -> tuple[pd.Series, pd.Series]:
    """One of ``categories`` (integers match their text: ``1`` matches ``"1"``)."""
    present = series.notna()
    if pd.api.types.is_bool_dtype(series.dtype):
        text = pd.Series(pd.NA, index=series.index, dtype="str")
    elif pd.api.types.is_float_dtype(series.dtype):
        integral = series.where((series % 1 == 0) & (series.abs() < 2.0**63))  # fits Int64
        text = integral.astype("Int64").astype("str")
    elif series.dtype == object:
        usable = _elementwise(series, lambda v: _stringable(v) and not isinstance(v, float))
        text = series.where(usable).astype("str")
    else:
        text = series.astype("str")
    wrong = present & ~text.isin(categories)
    expected = list(categories)
    messages = _messages(series, wrong, lambda v: f"expected one of {expected}, got {show(v)}")
    return text.where(~wrong), messages


def _time_like(value: Any) -> bool:
    return isinstance(value, (str, datetime, date, np.datetime64))


def to_timestamp(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """UTC microsecond timestamps from datetimes or ISO-8601 text (naive taken as UTC)."""
    if series.dtype == _UTC_MICROS:  # already what this returns
        return series.copy(), pd.Series(dtype=object)
    present = series.notna()
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        times = series.dt.tz_convert("UTC")
        wrong = present & False
    elif pd.api.types.is_datetime64_dtype(series.dtype):
        times = series.dt.tz_localize("UTC")
        wrong = present & False
    elif series.dtype == object or isinstance(series.dtype, pd.StringDtype):
        usable = present if series.dtype != object else _elementwise(series, _time_like)
        times = pd.to_datetime(series.where(usable), utc=True, errors="coerce", format="ISO8601")
        wrong = present & times.isna()
    else:
        times = pd.Series(pd.NaT, index=series.index, dtype="datetime64[us, UTC]")
        wrong = present
    messages = _messages(series, wrong, lambda v: f"expected a timestamp, got {show(v)}")
    return times.dt.floor("us").astype("datetime64[us, UTC]"), messages


__all__ = ["to_bool", "to_category", "to_float", "to_int", "to_str", "to_timestamp"]
