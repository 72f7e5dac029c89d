"""Raw messages (JSON text or dicts) to a batch frame, with dead letters for the bad ones.

Transports that receive one message per event (Kafka, Redis Streams, an HTTP logger) call
:func:`validate_records`: text that is not a JSON object, a missing id or time, and rows
that break the schema become dead letters carrying the raw text.

Examples
--------
>>> frame, letters = validate_records(
...     ['{"id": "a", "ts": "2024-01-01T00:00:00Z", "x": 1}', "{oops", '{"ts": "2024-01-01"}'],
...     stream="clicks", id_field="id", time_field="ts",
... )
>>> frame[["event_id", "x"]].to_dict("records")
[{'event_id': 'a', 'x': 1.0}]
>>> [letter.reason.split(" (")[0] for letter in letters]
['payload: expected a JSON object, got invalid JSON', 'id: required field is missing']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
import pandas as pd

from lifelong.events.batch import EVENT_ID, EVENT_TIME, DeadLetter
from lifelong.events.coerce import to_str, to_timestamp
from lifelong.events.payload import to_json
from lifelong.events.schema import MISSING, EventSchema


def _parse(record: Mapping[str, Any] | str | bytes) -> tuple[dict[str, Any] | None, str, str]:
    """The record as a dict (None when it is not a JSON object), its raw text, and why not."""
    if isinstance(record, Mapping):
        return dict(record), to_json(dict(record)), ""
    text = record.decode("utf-8", errors="replace") if isinstance(record, bytes) else str(record)
    try:
        value = orjson.loads(record)
    except orjson.JSONDecodeError as exc:
        return None, text, f"payload: expected a JSON object, got invalid JSON ({exc})"
    if not isinstance(value, dict):
        return None, text, f"payload: expected a JSON object, got {type(value).__name__}"
    return value, text, ""


def validate_records(
    records: Sequence[Mapping[str, Any] | str | bytes],
    schema: EventSchema | None = None,
    *,
    stream: str,
    source: str | None = None,
    now: datetime | None = None,
    id_field: str = EVENT_ID,
    time_field: str = EVENT_TIME,
) -> tuple[pd.DataFrame, list[DeadLetter]]:
    """Parse and check raw events; return the batch frame and the dead letters.

    Parameters
    ----------
    records
        JSON objects as text or bytes, or already-decoded dicts.
    schema
        Checks the payload fields; None checks only the id and the time.
    stream, source, now
        As in :meth:`EventSchema.validate`.
    id_field, time_field
        Names of the id (a string or an integer) and time (ISO-8601 text) in a record;
        they become ``event_id`` and ``event_time``.
    """
    letters: list[DeadLetter] = []
    rows: list[dict[str, Any]] = []
    texts: list[str] = []
    for record in records:
        value, text, problem = _parse(record)
        if value is None:
            letters.append(DeadLetter(stream=stream, reason=problem, payload=text, source=source))
            continue
        rows.append(value)
        texts.append(text)
    frame = pd.DataFrame.from_records(rows) if rows else pd.DataFrame()
    problems: dict[int, list[str]] = {}
    columns: dict[str, pd.Series] = {}
    for name, target, coerce in (
        (id_field, EVENT_ID, to_str),
        (time_field, EVENT_TIME, to_timestamp),
    ):
        raw = (
            frame[name]
            if name in frame.columns
            else pd.Series(None, index=frame.index, dtype=object)
        )
        values, messages = coerce(raw)
        for position, message in messages.items():
            problems.setdefault(int(position), []).append(f"{name}: {message}")
        missing = raw.isna() | (values.astype("str").str.len() == 0).fillna(False).astype(bool)
        for position in frame.index[missing]:
            problems.setdefault(int(position), []).append(f"{name}: {MISSING}")
        columns[target] = values
    for position in sorted(problems):
        raw_id = columns[EVENT_ID].iloc[position]
        letters.append(
            DeadLetter(
                stream=stream,
                reason="; ".join(problems[position]),
                payload=texts[position],
                field=problems[position][0].split(":", 1)[0],
                event_id=None if pd.isna(raw_id) or raw_id == "" else str(raw_id),
                source=source,
            )
        )
    keep = ~frame.index.isin(list(problems))
    payload = frame.drop(columns=[c for c in (id_field, time_field) if c in frame.columns])
    out = pd.concat([pd.DataFrame(columns), payload], axis=1)[keep].reset_index(drop=True)
    kept_texts = [text for position, text in enumerate(texts) if position not in problems]
    if schema is not None:
        out, more = schema.validate(out, stream=stream, source=source, now=now, payloads=kept_texts)
        letters.extend(more)
    return out, letters


__all__ = ["validate_records"]
