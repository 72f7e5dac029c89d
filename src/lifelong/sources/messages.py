"""Raw messages of a transport (one JSON object each) to a batch frame and dead letters.

Kafka records, Redis stream entries and other one-message-per-event transports hand their
payloads to :func:`decode_messages` together with an *origin* per message (``topic[0]@42``,
a stream entry id). Every message ends either as a row of the frame or as a dead letter that
carries the reason, the raw payload and its origin: an oversized payload (refused before it
is parsed), text that is not a JSON object, a missing or unusable id or time, a time too far
in the future, a field of the wrong type, and a value whose type differs from the rest of its
column (Parquet stores one type per column). Because the origin is part of a dead letter, the
same bad message delivered twice is stored once, and two equal bad messages are both kept.

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
from dataclasses import replace
from datetime import datetime
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa

from lifelong.errors import ConfigError
from lifelong.events.batch import EVENT_ID, EVENT_TIME, DeadLetter
from lifelong.events.schema import EventSchema

_POSITION = "__lifelong_position__"
_NO_SCHEMA = EventSchema({})


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


def _type_name(value: Any) -> str:
    return type(value).__name__


def _mixed_columns(frame: pd.DataFrame, schema: EventSchema) -> dict[int, str]:
    """Rows whose value in an unchecked column has a type other than the column's usual one."""
    problems: dict[int, str] = {}
    checked = {*schema.fields, EVENT_ID, EVENT_TIME, _POSITION}
    for name in frame.columns:
        if name in checked or frame[name].dtype != object:
            continue
        try:
            pa.array(frame[name], from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            present = frame[name].dropna()
            types = present.map(_type_name)
            usual = Counter(types).most_common(1)[0][0]
            for index, kind in types[types != usual].items():
                problems.setdefault(
                    int(index), f"{name}: expected a value of type {usual} like the rest of the batch, got {kind}"
                )
    return problems


def decode_messages(
    values: Sequence[bytes | str | None],
    origins: Sequence[str],
    schema: EventSchema | None,
    *,
    stream: str,
    id_field: str = EVENT_ID,
    time_field: str = EVENT_TIME,
    now: datetime | None = None,
) -> tuple[pd.DataFrame, list[DeadLetter]]:
    """Parse and check raw messages; return the valid events and a dead letter per bad one.

    Parameters
    ----------
    values
        One JSON object per message, as bytes or text (None: an empty message).
    origins
        Where each message came from, recorded as the dead letter's ``source``.
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
    limit = checker.max_payload_bytes
    letters: list[DeadLetter] = []
    rows: list[dict[str, Any]] = []
    texts: list[str] = []
    kept_origins: list[str] = []
    loads = orjson.loads
    for value, origin in zip(values, origins, strict=True):
        if value is None:
            letters.append(DeadLetter(stream, "payload: expected a JSON object, got an empty message", "", "payload", None, origin))
            continue
        if limit is not None and len(value) > limit:
            size = len(value.encode("utf-8")) if isinstance(value, str) else len(value)
            if size > limit:
                reason = f"payload: expected at most {limit} bytes, got {size}"
                letters.append(DeadLetter(stream, reason, _text(value), "payload", None, origin))
                continue
        try:
            row = loads(value)
        except orjson.JSONDecodeError as exc:
            reason = f"payload: expected a JSON object, got invalid JSON ({exc})"
            letters.append(DeadLetter(stream, reason, _text(value), "payload", None, origin))
            continue
        if not isinstance(row, dict):
            reason = f"payload: expected a JSON object, got {type(row).__name__}"
            letters.append(DeadLetter(stream, reason, _text(value), "payload", None, origin))
            continue
        rows.append(row)
        texts.append(_text(value))
        kept_origins.append(origin)
    if not rows:
        return pd.DataFrame({EVENT_ID: pd.Series(dtype="str"), EVENT_TIME: pd.Series(dtype="datetime64[us, UTC]")}), letters
    frame = pd.DataFrame.from_records(rows)
    renames = {id_field: EVENT_ID, time_field: EVENT_TIME}
    clashing = [name for name in (EVENT_ID, EVENT_TIME) if name in frame.columns and name not in renames]
    if clashing:
        frame = frame.drop(columns=clashing)
    frame = frame.rename(columns=renames)
    for name in (EVENT_ID, EVENT_TIME):
        if name not in frame.columns:
            frame[name] = None
    frame[_POSITION] = range(len(frame))
    valid, more = checker.validate(frame, stream=stream, now=now, payloads=texts)
    kept = set(valid[_POSITION].tolist())
    bad = [position for position in range(len(frame)) if position not in kept]
    for position, letter in zip(bad, more, strict=True):
        reason = _rename_reason(letter.reason, id_field, time_field)
        field = {EVENT_ID: id_field, EVENT_TIME: time_field}.get(letter.field or "", letter.field)
        letters.append(replace(letter, reason=reason, field=field, source=kept_origins[position]))
    mixed = _mixed_columns(valid, checker)
    if mixed:
        for index, reason in sorted(mixed.items()):
            position = int(valid[_POSITION].iloc[index])
            event_id = str(valid[EVENT_ID].iloc[index])
            letters.append(DeadLetter(stream, reason, texts[position], reason.split(":", 1)[0], event_id, kept_origins[position]))
        valid = valid.drop(index=list(mixed)).reset_index(drop=True)
        valid = valid.infer_objects()
    return valid.drop(columns=[_POSITION]), letters


__all__ = ["decode_messages"]
