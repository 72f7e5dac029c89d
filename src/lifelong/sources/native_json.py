"""A whole batch of JSON messages parsed and checked in Arrow's C++ JSON reader, or handed back.

:func:`read_clean_batch` is the fast path of :func:`lifelong.sources.messages.decode_table`:
the payloads are joined into one newline-delimited buffer and parsed by
:func:`pyarrow.json.read_json` (which releases the GIL) with an explicit schema built from the
event schema, then checked with vectorized kernels. It only ever returns a batch in which every
message is a valid event, typed exactly as the per-message path would type it; for any batch it
cannot vouch for (a message that is not one JSON object on one line, invalid UTF-8, a value of
another type than its field's, a value out of range, a missing id or time, a time too far in the
future, an oversized payload, a nested or ambiguous extra field) it returns ``None`` and the
caller decodes the batch message by message, which gives every bad message its dead letter.

Examples
--------
>>> from lifelong.events import EventSchema, FieldSpec
>>> schema = EventSchema({"x": FieldSpec("float", max=10.0)})
>>> table = read_clean_batch([b'{"id": "a", "ts": "2024-01-01T00:00:00Z", "x": 1}'], schema, id_field="id", time_field="ts")
>>> table.column_names, table.column("x").to_pylist()
(['event_id', 'event_time', 'x'], [1.0])
>>> read_clean_batch([b'{"id": "a", "ts": "2024-01-01T00:00:00Z", "x": 11}'], schema, id_field="id", time_field="ts") is None
True
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from lifelong.clock import utc
from lifelong.events.batch import EVENT_ID, EVENT_TIME
from lifelong.events.columns import ARROW_TYPES
from lifelong.events.schema import EventSchema, FieldSpec

_ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError)
_BIG = 2.0**63  # a double this large may have been an integer beyond 64 bits in the text
_READ = pa_json.ReadOptions(use_threads=False)


def _explicit(schema: EventSchema, id_field: str, time_field: str) -> dict[str, FieldSpec] | None:
    """The checked fields by the producer's names (id and time included), or None when names collide."""
    fields = dict(schema.fields)
    special = {id_field, time_field, EVENT_ID, EVENT_TIME}
    if id_field == time_field or special & set(fields):
        return None
    return {id_field: FieldSpec("str"), time_field: FieldSpec("timestamp"), **fields}


def _one_object_per_line(buffer: bytes, count: int) -> bool:
    """Whether ``buffer`` (the messages joined by newlines) holds each message as one ``{...}`` line.

    No message may hold a newline of its own, and each must start with ``{`` and end with ``}``:
    then every message is one row or a parse error, never zero rows or two.
    """
    boundaries = count - 1
    return (
        buffer[:1] == b"{"
        and buffer[-1:] == b"}"
        and buffer.count(b"\n") == boundaries
        and buffer.count(b"}\n{") == boundaries
    )


def _utf8(buffer: bytes) -> bool:
    if buffer.isascii():
        return True
    try:
        buffer.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _read(buffer: bytes, specs: dict[str, FieldSpec], text: set[str]) -> pa.Table:
    types = [(name, ARROW_TYPES[spec.type]) for name, spec in specs.items()]
    types += [(name, pa.large_string()) for name in text]
    options = pa_json.ParseOptions(explicit_schema=pa.schema(types), unexpected_field_behavior="infer")
    read = pa_json.ReadOptions(use_threads=False, block_size=max(len(buffer) + 1, _READ.block_size))
    return pa_json.read_json(pa.py_buffer(buffer), read_options=read, parse_options=options)


def _finite(column: pa.ChunkedArray) -> bool:
    return bool(pc.all(pc.is_finite(column)).as_py() in (True, None))


def _checked(column: pa.ChunkedArray, spec: FieldSpec) -> bool:
    """Whether every value of a field read with its explicit type passes the field's checks."""
    if spec.required and column.null_count:
        return False
    if spec.type == "float" and not _finite(column):
        return False
    if spec.type in ("float", "int") and column.null_count < len(column):
        low, high = pc.min_max(column).values()
        if spec.min is not None and low.as_py() < spec.min:
            return False
        if spec.max is not None and high.as_py() > spec.max:
            return False
    if spec.type == "category":
        values = column.drop_null()
        allowed = pa.array(list(spec.categories or ()), type=pa.large_string())
        return bool(pc.all(pc.is_in(values, value_set=allowed)).as_py() in (True, None))
    return True


def _plain(column: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """An extra (unchecked) field as the per-message path stores it, or None if it would differ."""
    kind = column.type
    if pa.types.is_null(kind) or pa.types.is_boolean(kind) or pa.types.is_large_string(kind):
        return column
    if pa.types.is_string(kind):
        return column.cast(pa.large_string())
    if pa.types.is_int64(kind):
        return column.cast(pa.float64()) if column.null_count else column
    if pa.types.is_float64(kind):
        if not _finite(column):
            return None  # NaN / Infinity literals: not JSON, the per-message path refuses them
        integral = pc.and_(pc.equal(pc.floor(column), column), pc.greater_equal(pc.abs(column), _BIG))
        return None if pc.any(integral).as_py() else column
    return None  # nested values, or text Arrow read as timestamps


def read_clean_batch(
    values: Sequence[bytes | str | None],
    schema: EventSchema,
    *,
    id_field: str,
    time_field: str,
    now: datetime | None = None,
) -> pa.Table | None:
    """The batch as an Arrow table when every message is a valid event; None otherwise.

    Parameters
    ----------
    values
        One JSON object per message (only ``bytes`` take this path).
    schema
        The fields to check, the size limit and ``max_future``.
    id_field, time_field
        Names of the event id and time inside a message; they become ``event_id`` and ``event_time``.
    now
        Reference time of ``max_future`` (default: the system time).
    """
    specs = _explicit(schema, id_field, time_field)
    if not values or specs is None:
        return None
    try:
        buffer = b"\n".join(values)  # type: ignore[arg-type]
    except TypeError:  # text or empty messages
        return None
    limit = schema.max_payload_bytes
    if not _one_object_per_line(buffer, len(values)) or not _utf8(buffer):
        return None
    if limit is not None and max(map(len, values)) > limit:  # type: ignore[arg-type]
        return None
    try:
        first = list(orjson.loads(values[0]))  # type: ignore[arg-type]
        table = _read(buffer, specs, set())
        stamps = {name for name, kind in zip(table.column_names, table.schema.types) if name not in specs and pa.types.is_timestamp(kind)}
        if stamps:  # Arrow reads ISO-8601 text of extra fields as timestamps; the per-message path keeps text
            table = _read(buffer, specs, stamps)
    except (orjson.JSONDecodeError, *_ARROW_ERRORS):
        return None
    if table.num_rows != len(values):
        return None
    return _assemble(table, specs, first, id_field, time_field, schema, now)


def _assemble(
    table: pa.Table,
    specs: dict[str, FieldSpec],
    first: list[str],
    id_field: str,
    time_field: str,
    schema: EventSchema,
    now: datetime | None,
) -> pa.Table | None:
    """Check the fields, rename id and time, and order the columns as the per-message path does."""
    columns: dict[str, pa.ChunkedArray] = {}
    present = set(first)
    for name, column in zip(table.column_names, table.columns):
        if name in (EVENT_ID, EVENT_TIME):
            continue  # a stray event_id / event_time inside a message is not stored
        spec = specs.get(name)
        if spec is not None:
            if not _checked(column, spec):
                return None
            if column.null_count == len(column) and name not in present:
                continue  # a field no message carries is not a column
            columns[name] = column
            continue
        plain = _plain(column)
        if plain is None:
            return None
        columns[name] = plain
    ids = columns[id_field]
    if pc.any(pc.equal(pc.binary_length(ids), 0)).as_py():
        return None
    if schema.max_future is not None:
        reference = utc(now) if now is not None else datetime.now(UTC)
        latest = pc.max(columns[time_field]).as_py()
        if latest is not None and latest > reference + schema.max_future:
            return None
    renames = {id_field: EVENT_ID, time_field: EVENT_TIME}
    order = [name for name in first if name in columns] + [name for name in columns if name not in present]
    return pa.table({renames.get(name, name): columns[name] for name in order})


__all__ = ["read_clean_batch"]
