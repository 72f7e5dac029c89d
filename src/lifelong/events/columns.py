"""Schema checks on Arrow arrays: a batch held as columns of plain values (parsed JSON).

:func:`check_columns` is :meth:`EventSchema.validate` for values that come straight from a
JSON parser: it builds one Arrow array per field and checks types, bounds, categories,
required values and ``max_future`` with vectorized kernels instead of pandas Series. A
column whose values are of the plain types a field expects (numbers for ``float`` and
``int``, text for ``str``, ``category`` and ``timestamp``, booleans for ``bool``) takes the
Arrow path; any other column (text in a number field, numbers in a text field, mixed values,
naive timestamps) is coerced by the pandas functions of :mod:`lifelong.events.coerce`, so
both paths accept the same values and give the same messages.

Examples
--------
>>> from lifelong.events.schema import EventSchema, FieldSpec
>>> schema = EventSchema({"x": FieldSpec("float", max=10.0)})
>>> checked = check_columns(schema, {"event_id": ["a", "b"], "x": [1.5, 12]}, 2)  # 12 shown as pandas holds it
>>> checked.table.column("x").to_pylist(), checked.problems
([1.5, None], {1: ['x: expected a value <= 10.0, got 12.0']})
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lifelong.clock import utc
from lifelong.events.batch import EVENT_ID, EVENT_TIME
from lifelong.events.coerce import to_bool, to_category, to_float, to_int, to_str, to_timestamp
from lifelong.events.payload import show
from lifelong.events.schema import MISSING, EventSchema, FieldSpec

TIMESTAMP = pa.timestamp("us", tz="UTC")
_NONE = type(None)
ARROW_TYPES: dict[str, pa.DataType] = {
    # the Arrow type each event-schema field type is stored as
    "float": pa.float64(),
    "int": pa.int64(),
    "str": pa.large_string(),
    "bool": pa.bool_(),
    "category": pa.large_string(),
    "timestamp": TIMESTAMP,
}
_TEXT = frozenset({str})
_NUMBERS = frozenset({int, float})
_CONVERSION_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError)
Messages = dict[int, str]


@dataclass(frozen=True)
class Checked:
    """Every row of a batch with its checked fields coerced, and the messages of the bad rows.

    Attributes
    ----------
    table
        One column per field checked (a bad value is null there); other columns are absent.
    problems
        Row position to its messages, each ``field: expectation, got value``, in field order.
    """

    table: pa.Table
    problems: dict[int, list[str]]


def _positions(mask: np.ndarray) -> list[int]:
    return np.flatnonzero(mask).tolist()


def _say(values: Sequence[Any], mask: np.ndarray, template: Callable[[Any], str]) -> Messages:
    return {position: template(values[position]) for position in _positions(mask)}


def _present(array: pa.Array) -> np.ndarray:
    if not array.null_count:
        return np.ones(len(array), dtype=bool)
    return np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _as_pandas_shows(values: Sequence[Any], kinds: frozenset[type], has_missing: bool) -> Sequence[Any]:
    """Values as a pandas column holds them: integers among floats or nulls become floats."""
    if int in kinds and (float in kinds or has_missing):
        return [None if value is None else float(value) for value in values]
    return values


def _bounds(shown: Sequence[Any], numbers: np.ndarray, ok: np.ndarray, spec: FieldSpec) -> list[Messages]:
    found: list[Messages] = []
    low, high = spec.min, spec.max
    if low is not None:
        found.append(_say(shown, ok & (numbers < low), lambda v: f"expected a value >= {low}, got {show(v)}"))
    if high is not None:
        found.append(_say(shown, ok & (numbers > high), lambda v: f"expected a value <= {high}, got {show(v)}"))
    return found


def _first(found: list[Messages]) -> Messages:
    """First message per row, as :func:`lifelong.events.coerce` keeps them."""
    merged: Messages = {}
    for part in found:
        for position, message in part.items():
            merged.setdefault(position, message)
    return merged


def _masked(values: np.ndarray, keep: np.ndarray, kind: pa.DataType) -> pa.Array:
    if keep.all():
        return pa.array(values, type=kind)
    return pa.array(values, type=kind, mask=~keep)


def _float(values: Sequence[Any], kinds: frozenset[type], spec: FieldSpec) -> tuple[pa.Array, Messages, np.ndarray]:
    raw = pa.array(values, type=pa.float64(), from_pandas=True)
    present = _present(raw)
    numbers = raw.to_numpy(zero_copy_only=False)
    shown = _as_pandas_shows(values, kinds, not present.all())
    infinite = present & ~np.isfinite(numbers)
    found = [_say(shown, infinite, lambda v: f"expected a finite number, got {show(v)}")]
    ok = present & ~infinite
    found.extend(_bounds(shown, numbers, ok, spec))
    messages = _first(found)
    keep = ok.copy()
    keep[list(messages)] = False
    return _masked(numbers, keep, pa.float64()), messages, ~present


def _int(values: Sequence[Any], kinds: frozenset[type], spec: FieldSpec) -> tuple[pa.Array, Messages, np.ndarray]:
    if float not in kinds:
        raw = pa.array(values, type=pa.int64())
        present = _present(raw)
        integers = (raw.fill_null(0) if raw.null_count else raw).to_numpy(zero_copy_only=False)
        shown = _as_pandas_shows(values, kinds, not present.all())
        messages = _first(_bounds(shown, integers, present, spec))
        keep = present.copy()
        keep[list(messages)] = False
        return _masked(integers, keep, pa.int64()), messages, ~present
    raw = pa.array(values, type=pa.float64(), from_pandas=True)
    present = _present(raw)
    numbers = raw.to_numpy(zero_copy_only=False)
    shown = _as_pandas_shows(values, kinds, not present.all())
    with np.errstate(invalid="ignore"):
        fractional = present & (~np.isfinite(numbers) | (np.nan_to_num(numbers) % 1 != 0))
    found = [_say(shown, fractional, lambda v: f"expected an integer, got {show(v)}")]
    huge = present & ~fractional & (np.abs(np.nan_to_num(numbers)) >= 2.0**63)
    found.append(_say(shown, huge, lambda v: f"expected a 64-bit integer, got {show(v)}"))
    ok = present & ~fractional & ~huge
    found.extend(_bounds(shown, numbers, ok, spec))
    messages = _first(found)
    keep = ok.copy()
    keep[list(messages)] = False
    integers = np.where(keep, np.nan_to_num(numbers), 0).astype(np.int64)
    return _masked(integers, keep, pa.int64()), messages, ~present


def _text(values: Sequence[Any]) -> tuple[pa.Array, np.ndarray]:
    raw = pa.array(values, type=pa.large_string())
    return raw, ~_present(raw)


def _category(values: Sequence[Any], spec: FieldSpec) -> tuple[pa.Array, Messages, np.ndarray]:
    raw, missing = _text(values)
    categories = list(spec.categories or ())
    member = pc.is_in(raw, value_set=pa.array(categories, type=pa.large_string())).to_numpy(zero_copy_only=False)
    wrong = ~missing & ~member.astype(bool)
    messages = _say(values, wrong, lambda v: f"expected one of {categories}, got {show(v)}")
    if messages:
        raw = pc.if_else(pa.array(wrong), pa.scalar(None, type=pa.large_string()), raw)
    return raw, messages, missing


def _arrow(values: Sequence[Any], spec: FieldSpec) -> tuple[pa.Array, Messages, np.ndarray] | None:
    """The Arrow path of one field, or None when the values need the pandas coercions."""
    kinds = frozenset(map(type, values)) - {_NONE}
    try:
        if not kinds:
            return pa.nulls(len(values), ARROW_TYPES[spec.type]), {}, np.ones(len(values), dtype=bool)
        if spec.type == "float" and kinds <= _NUMBERS:
            return _float(values, kinds, spec)
        if spec.type == "int" and kinds <= _NUMBERS:
            return _int(values, kinds, spec)
        if spec.type == "str" and kinds <= _TEXT:
            raw, missing = _text(values)
            return raw, {}, missing
        if spec.type == "bool" and kinds <= {bool}:
            raw = pa.array(values, type=pa.bool_())
            return raw, {}, ~_present(raw)
        if spec.type == "category" and kinds <= _TEXT:
            return _category(values, spec)
        if spec.type == "timestamp" and kinds <= _TEXT:
            raw, missing = _text(values)
            return pc.cast(raw, TIMESTAMP), {}, missing
    except _CONVERSION_ERRORS:  # naive or odd timestamps, integers beyond 64 bits: pandas decides
        return None
    return None


def _pandas(values: Sequence[Any], spec: FieldSpec) -> tuple[pa.Array, Messages, np.ndarray]:
    """The pandas coercions of :mod:`lifelong.events.coerce`, on the column as pandas infers it."""
    series = pd.Series(list(values)) if len(values) else pd.Series([], dtype=object)
    if spec.type == "float":
        coerced, messages = to_float(series, low=spec.min, high=spec.max)
    elif spec.type == "int":
        coerced, messages = to_int(series, low=spec.min, high=spec.max)
    elif spec.type == "str":
        coerced, messages = to_str(series)
    elif spec.type == "bool":
        coerced, messages = to_bool(series)
    elif spec.type == "category":
        coerced, messages = to_category(series, spec.categories or ())
    else:
        coerced, messages = to_timestamp(series)
    array = pa.array(coerced, type=ARROW_TYPES[spec.type], from_pandas=True)
    found = {int(position): str(message) for position, message in messages.items()}
    return array, found, series.isna().to_numpy(dtype=bool)


def coerce_column(values: Sequence[Any], spec: FieldSpec) -> tuple[pa.Array, Messages, np.ndarray]:
    """One field's values as an Arrow array (bad ones null), their messages, and the missing mask."""
    done = _arrow(values, spec)
    return done if done is not None else _pandas(values, spec)


def _empty_text(array: pa.Array) -> np.ndarray:
    """Which values of a string array are ``''`` (nulls are not)."""
    if pa.types.is_large_string(array.type) and array.buffers()[1] is not None:
        offsets = np.frombuffer(array.buffers()[1], dtype=np.int64, count=len(array) + 1, offset=array.offset * 8)
        return (np.diff(offsets) == 0) & _present(array)
    return np.asarray(pc.equal(pc.utf8_length(array), 0).fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _micros(times: pa.Array) -> np.ndarray:
    """Microseconds since the epoch of a UTC timestamp array; nulls as the smallest value (never ahead)."""
    values = times.cast(pa.int64())
    if values.null_count:
        values = values.fill_null(np.iinfo(np.int64).min)
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.int64)


def _specs(schema: EventSchema, names: Sequence[str]) -> dict[str, FieldSpec]:
    specs = dict(schema.fields)
    if EVENT_ID in names and EVENT_ID not in specs:
        specs[EVENT_ID] = FieldSpec("str")
    if EVENT_TIME in names and EVENT_TIME not in specs:
        specs[EVENT_TIME] = FieldSpec("timestamp")
    return specs


def check_columns(
    schema: EventSchema, columns: Mapping[str, Sequence[Any]], rows: int, *, now: datetime | None = None
) -> Checked:
    """Coerce and check the schema's fields (and ``event_id`` / ``event_time``) of a batch.

    Parameters
    ----------
    schema
        The fields to check; ``max_payload_bytes`` is left to the caller (it has the raw text).
    columns
        Column name to one value per row (``None`` where a row has none).
    rows
        Number of rows.
    now
        Reference time of ``max_future`` (default: the system time).
    """
    found: list[Messages] = []
    arrays: dict[str, pa.Array] = {}
    for name, spec in _specs(schema, list(columns)).items():
        if name not in columns:
            arrays[name] = pa.nulls(rows, ARROW_TYPES[spec.type])
            if spec.required and rows:
                found.append(dict.fromkeys(range(rows), f"{name}: {MISSING}"))
            continue
        values = columns[name]
        array, messages, missing = coerce_column(values, spec)
        mine = {position: f"{name}: {message}" for position, message in messages.items()}
        if spec.required:
            for position in _positions(missing):
                mine.setdefault(position, f"{name}: {MISSING}")
        if name == EVENT_ID:
            for position in _positions(_empty_text(array)):
                mine.setdefault(position, f"{name}: expected a non-empty string, got ''")
        found.append(mine)
        arrays[name] = array
    if schema.max_future is not None and EVENT_TIME in arrays:
        reference = utc(now) if now is not None else datetime.now(UTC)
        limit = pa.scalar(reference + schema.max_future, type=TIMESTAMP)
        times = arrays[EVENT_TIME]
        ahead = _micros(times) > limit.value
        found.append(
            {
                position: f"{EVENT_TIME}: {pd.Timestamp(times[position].as_py()).isoformat()} "
                f"is more than {schema.max_future} in the future"
                for position in _positions(ahead)
            }
        )
    problems: dict[int, list[str]] = {}
    for part in found:
        for position, message in part.items():
            problems.setdefault(position, []).append(message)
    return Checked(pa.table(arrays) if arrays else pa.table({}), dict(sorted(problems.items())))


__all__ = ["ARROW_TYPES", "TIMESTAMP", "Checked", "check_columns", "coerce_column"]
