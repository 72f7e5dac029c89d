"""Raw messages of a transport (one JSON object each) to a batch frame and dead letters.

Kafka records, Redis stream entries and other one-message-per-event transports hand their
payloads to :func:`decode_messages` together with an *origin* per message (``topic[0]@42``,
a stream entry id). Every message ends either as a row of the frame or as a dead letter that
carries the reason, the raw payload and its origin: an oversized payload (refused before it
is parsed), text that is not a JSON object, a missing or unusable id or time, a time too far
in the future, a field of the wrong type, and a value whose type differs from the rest of its
column (Parquet stores one type per column). Because the origin is part of a dead letter, the
same bad message delivered twice is stored once, and two equal bad messages are both kept.

The batch is built in Arrow (:func:`decode_table`). A batch of valid events is parsed whole by
Arrow's C++ JSON reader (:mod:`lifelong.sources.native_json`); any other batch message by
message (:func:`decode_each`): every message is parsed with orjson, each field becomes one
Arrow array, and the schema is checked on those arrays
(:func:`lifelong.events.columns.check_columns`). :func:`decode_messages` gives the same batch
as a pandas frame.

Examples
--------
>>> from lifelong.events import EventSchema, FieldSpec
>>> schema = EventSchema({"x": FieldSpec("float")})
>>> frame, letters = decode_messages(
...     [b'{"id": "a", "ts": "2024-01-01T00:00:00Z", "x": 1.5}', b"{oops", b'{"ts": "2024-01-01", "x": 2}'],
...     ["t[0]@0", "t[0]@1", "t[0]@2"],
...     schema, stream="events", id_field="id", time_field="ts",
... )
>>> frame[["event_id", "x"]].to_dict("records")
[{'event_id': 'a', 'x': 1.5}]
>>> [(letter.source, letter.reason.split(" (")[0]) for letter in letters]
[('t[0]@1', 'payload: expected a JSON object, got invalid JSON'), ('t[0]@2', 'id: required field is missing')]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from itertools import chain
from operator import itemgetter
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa

from lifelong.errors import ConfigError
from lifelong.events.batch import EVENT_ID, EVENT_TIME, DeadLetter, frame_from_table
from lifelong.events.columns import TIMESTAMP, check_columns
from lifelong.events.payload import show
from lifelong.events.schema import EventSchema
from lifelong.sources.native_json import read_clean_batch

_NO_SCHEMA = EventSchema({})
_CONVERSION_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError)
Value = bytes | str | None


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


def _rename_reason(reason: str, id_field: str, time_field: str) -> str:
    """Reasons name the producer's fields (``id: ...``), not the stored columns."""
    parts = []
    for part in reason.split("; "):
        if part.startswith(f"{EVENT_ID}: "):
            part = id_field + part[len(EVENT_ID) :]
        elif part.startswith(f"{EVENT_TIME}: "):
            part = time_field + part[len(EVENT_TIME) :]
        parts.append(part)
    return "; ".join(parts)


def _size(value: bytes | str) -> int:
    return len(value) if isinstance(value, bytes) else len(value.encode("utf-8"))


def _refusal(value: Value, limit: int | None) -> tuple[str, object] | None:
    """Why one message is not a JSON object within the size limit (and its parsed value if it is)."""
    if value is None:
        return "payload: expected a JSON object, got an empty message", None
    if limit is not None and len(value) > limit and _size(value) > limit:
        return f"payload: expected at most {limit} bytes, got {_size(value)}", None
    try:
        row = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        return f"payload: expected a JSON object, got invalid JSON ({exc})", None
    if not isinstance(row, dict):
        return f"payload: expected a JSON object, got {type(row).__name__}", None
    return None


def _parse(
    values: Sequence[Value], origins: Sequence[str], limit: int | None, stream: str
) -> tuple[list[dict[str, Any]], list[int], list[DeadLetter]]:
    """The JSON objects, the position of each among ``values``, and a dead letter per other message."""
    try:  # every message a JSON object within the limit: one pass in C
        if limit is not None and max(map(_size, values), default=0) > limit:
            raise ValueError("oversized")
        rows = list(map(orjson.loads, values))  # type: ignore[arg-type]
        if set(map(type, rows)) <= {dict}:
            return rows, list(range(len(rows))), []
    except (orjson.JSONDecodeError, TypeError, ValueError, AttributeError):  # one of them is not: one by one
        pass
    rows, kept, letters = [], [], []
    for position, value in enumerate(values):
        refusal = _refusal(value, limit)
        if refusal is None:
            rows.append(orjson.loads(value))  # type: ignore[arg-type]
            kept.append(position)
            continue
        payload = "" if value is None else _text(value)
        letters.append(DeadLetter(stream, refusal[0], payload, "payload", None, origins[position]))
    return rows, kept, letters


def _columns(rows: list[dict[str, Any]], id_field: str, time_field: str) -> dict[str, Sequence[Any]]:
    """One sequence of values per key (first-seen order), the id and time keys renamed."""
    renames = {id_field: EVENT_ID, time_field: EVENT_TIME}
    keys = list(rows[0])
    columns: dict[str, Sequence[Any]] = {}
    try:  # every row with the keys of the first (the usual case): transposed in C
        if set(map(len, rows)) != {len(keys)}:
            raise KeyError("not the same keys")
        by_key: dict[str, Sequence[Any]] = {key: list(map(itemgetter(key), rows)) for key in keys}
    except KeyError:
        keys = list(dict.fromkeys(chain.from_iterable(rows)))
        by_key = {key: [row.get(key) for row in rows] for key in keys}
    for key in keys:
        if key in renames or key not in (EVENT_ID, EVENT_TIME):  # a stray event_id / event_time is dropped
            columns[renames.get(key, key)] = by_key[key]
    for name in (EVENT_ID, EVENT_TIME):
        columns.setdefault(name, [None] * len(rows))
    return columns


def _plain(values: Sequence[Any]) -> pa.Array:
    """An unchecked column as the pandas path stores it: integers with nulls as floats, text as large strings."""
    array = pa.array(values, from_pandas=True)
    if pa.types.is_integer(array.type) and array.null_count:
        return array.cast(pa.float64())
    if pa.types.is_string(array.type):
        return array.cast(pa.large_string())
    return array


def _mixed(name: str, values: Sequence[Any]) -> dict[int, str]:
    """Rows whose value has a type other than the column's usual one (Parquet holds one per column)."""
    present = [(index, type(value).__name__) for index, value in enumerate(values) if value is not None]
    usual = Counter(kind for _, kind in present).most_common(1)[0][0]
    problems = {
        index: f"{name}: expected a value of type {usual} like the rest of the batch, got {kind}"
        for index, kind in present
        if kind != usual
    }
    if not problems:  # one type, yet not storable (integers beyond 64 bits): name each value
        for index, _ in present:
            value = values[index]
            try:
                if isinstance(value, int) and not -(2**63) <= value < 2**63:
                    raise OverflowError(value)  # alone it would be uint64; beside others it cannot be stored
                pa.array([value])
            except _CONVERSION_ERRORS:
                problems[index] = f"{name}: expected a value Parquet can store, got {show(value)}"
    return problems


def _empty() -> pa.Table:
    return pa.table({EVENT_ID: pa.array([], type=pa.large_string()), EVENT_TIME: pa.array([], type=TIMESTAMP)})


def decode_table(
    values: Sequence[Value],
    origins: Sequence[str],
    schema: EventSchema | None,
    *,
    stream: str,
    id_field: str = EVENT_ID,
    time_field: str = EVENT_TIME,
    now: datetime | None = None,
) -> tuple[pa.Table, list[DeadLetter]]:
    """Parse and check raw messages; return the valid events as Arrow and a dead letter per bad one.

    A batch of valid events is parsed whole by Arrow's JSON reader
    (:func:`lifelong.sources.native_json.read_clean_batch`); any other batch goes message by
    message (:func:`decode_each`), so that each bad message gets its dead letter. The
    parameters are those of :func:`decode_each`.
    """
    if len(values) != len(origins):
        raise ConfigError(f"origins: expected {len(values)} origins, one per message, got {len(origins)}")
    clean = read_clean_batch(values, schema if schema is not None else _NO_SCHEMA, id_field=id_field, time_field=time_field, now=now)
    if clean is not None:
        return clean, []
    return decode_each(values, origins, schema, stream=stream, id_field=id_field, time_field=time_field, now=now)


def decode_each(
    values: Sequence[Value],
    origins: Sequence[str],
    schema: EventSchema | None,
    *,
    stream: str,
    id_field: str = EVENT_ID,
    time_field: str = EVENT_TIME,
    now: datetime | None = None,
) -> tuple[pa.Table, list[DeadLetter]]:
    """Parse and check raw messages one by one; the valid events as Arrow and a dead letter per bad one.

    Parameters
    ----------
    values
        One JSON object per message, as bytes or text (None: an empty message).
    origins
        Where each message came from, recorded as the dead letter's ``source``; read only
        for the bad messages.
    schema
        Checks the payload fields, the size and the time; None checks only id and time.
    stream
        Stream name put on the dead letters.
    id_field, time_field
        Names of the event id and of the ISO-8601 event time inside a message; they become
        ``event_id`` and ``event_time``.
    now
        Reference time of the schema's ``max_future`` (default: the system time).
    """
    if len(values) != len(origins):
        raise ConfigError(f"origins: expected {len(values)} origins, one per message, got {len(origins)}")
    checker = schema if schema is not None else _NO_SCHEMA
    rows, kept, letters = _parse(values, origins, checker.max_payload_bytes, stream)
    if not rows:
        return _empty(), letters
    columns = _columns(rows, id_field, time_field)
    checked = check_columns(checker, columns, len(rows), now=now)
    names = {EVENT_ID: id_field, EVENT_TIME: time_field}
    for position, messages in checked.problems.items():
        reason = _rename_reason("; ".join(messages), id_field, time_field)
        field = messages[0].split(":", 1)[0]
        raw_id = columns[EVENT_ID][position]
        letters.append(
            DeadLetter(stream, reason, _text(values[kept[position]]), names.get(field, field),  # type: ignore[arg-type]
                       None if raw_id is None else str(raw_id), origins[kept[position]])
        )
    if checked.problems:
        good = [position for position in range(len(rows)) if position not in checked.problems]
        kept = [kept[position] for position in good]
        columns = {name: [column[position] for position in good] for name, column in columns.items()}
        table = checked.table.take(pa.array(good, type=pa.int64()))
    else:
        table = checked.table
    unchecked = [name for name in columns if name not in table.column_names]
    mixed: dict[int, str] = {}
    for name in unchecked:
        try:
            _plain(columns[name])
        except _CONVERSION_ERRORS:
            for index, reason in _mixed(name, columns[name]).items():
                mixed.setdefault(index, reason)
    if mixed:
        for index, reason in sorted(mixed.items()):
            event_id = table.column(EVENT_ID)[index].as_py()
            letters.append(
                DeadLetter(stream, reason, _text(values[kept[index]]), reason.split(":", 1)[0], event_id,  # type: ignore[arg-type]
                           origins[kept[index]])
            )
        good = [index for index in range(table.num_rows) if index not in mixed]
        columns = {name: [column[index] for index in good] for name, column in columns.items()}
        table = table.take(pa.array(good, type=pa.int64()))
    arrays = {name: table.column(name) if name in table.column_names else _plain(columns[name]) for name in columns}
    return pa.table(arrays), letters


def decode_messages(
    values: Sequence[Value],
    origins: Sequence[str],
    schema: EventSchema | None,
    *,
    stream: str,
    id_field: str = EVENT_ID,
    time_field: str = EVENT_TIME,
    now: datetime | None = None,
) -> tuple[pd.DataFrame, list[DeadLetter]]:
    """:func:`decode_table` with the valid events as a pandas frame (the parameters are the same)."""
    table, letters = decode_table(
        values, origins, schema, stream=stream, id_field=id_field, time_field=time_field, now=now
    )
    return frame_from_table(table), letters


__all__ = ["decode_each", "decode_messages", "decode_table"]
