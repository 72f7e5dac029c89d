"""Rows of the prediction log: what one request contributes, and the frame they become.

A request is kept as its arrays (a :class:`LogChunk`); chunks with inputs and outputs of the
same names and types become one DataFrame when flushed, whatever their model and version. A
chunk may also hold the rows of many requests (the shadow executor logs a whole batch as one
chunk), with one request id and event id per row.

Examples
--------
>>> import numpy as np
>>> from datetime import datetime, timezone
>>> chunk = LogChunk("m", "1.0", "r1", {"x": np.array([1.0, 2.0])}, np.array([0, 1]),
...                  np.array([[0.9, 0.1], [0.2, 0.8]]), datetime(2024, 1, 1, tzinfo=timezone.utc), 2)
>>> log_frame([chunk])[["event_id", "model_version", "x", "prediction", "score"]].to_dict("list")
{'event_id': ['r1:0', 'r1:1'], 'model_version': ['1.0', '1.0'], 'x': [1.0, 2.0], 'prediction': [0, 1], 'score': [0.1, 0.8]}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from lifelong.clock import utc
from lifelong.errors import ValidationError
from lifelong.serving.model import positive_scores

RESERVED_COLUMNS = (
    "event_id",
    "event_time",
    "request_id",
    "model",
    "model_version",
    "prediction",
    "score",
)

EventTimes = datetime | NDArray[np.datetime64]
ChunkKey = tuple[tuple[tuple[str, str], ...], str | None, tuple[int, ...] | None]


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def epoch_micros(value: datetime) -> int:
    """Microseconds since the Unix epoch of ``value`` (naive values are taken as UTC)."""
    return (utc(value) - _EPOCH) // _MICROSECOND


def _kind(values: NDArray[Any]) -> str:
    """The array's type; for Python objects, that of its first value too (columns of one type)."""
    if values.dtype != object or not len(values):
        return values.dtype.str
    return f"{values.dtype.str}:{type(values[0]).__name__}"


@dataclass(frozen=True, eq=False)
class LogChunk:
    """The rows of one request: inputs, outputs (None when no model answered) and event times.

    ``request_ids`` and ``event_ids`` (one per row, both or neither) make the chunk hold the
    rows of several requests; ``request_id`` then only names the batch.
    """

    model: str
    version: str | None
    request_id: str
    inputs: Mapping[str, NDArray[Any]]
    labels: NDArray[Any] | None
    probabilities: NDArray[np.float64] | None
    event_time: EventTimes
    rows: int
    request_ids: NDArray[np.object_] | None = None
    event_ids: NDArray[np.object_] | None = None

    def key(self) -> ChunkKey:
        """Chunks with equal keys hold columns of the same names and types: one frame holds them all.

        Model and version are not part of it (they are columns), so one flush writes the rows
        of several versions together, e.g. the answers of every shadow challenger.
        """
        return (
            tuple((name, _kind(values)) for name, values in self.inputs.items()),
            None if self.labels is None else _kind(self.labels),
            None if self.probabilities is None else self.probabilities.shape[1:],
        )

    def times(self) -> NDArray[np.datetime64]:
        if isinstance(self.event_time, datetime):
            stamp = np.datetime64(epoch_micros(self.event_time), "us")
            return np.full(self.rows, stamp, dtype="datetime64[us]")
        return self.event_time


def as_event_times(
    values: Sequence[Any] | NDArray[Any] | pd.Series, rows: int
) -> NDArray[np.datetime64]:
    """Per-row event times as UTC ``datetime64[us]`` (naive values are taken as UTC)."""
    if len(values) != rows:
        raise ValidationError(
            f"event_times: expected {rows} values, one per row, got {len(values)}",
            field="event_times",
        )
    try:
        index = pd.DatetimeIndex(pd.to_datetime(values, utc=True, format="ISO8601"))
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"event_times: expected timestamps, got {exc}", field="event_times"
        ) from exc
    if index.isna().any():
        row = int(np.flatnonzero(index.isna())[0])
        raise ValidationError(
            f"event_times: expected a timestamp, got a null at row {row}", field="event_times"
        )
    times: NDArray[np.datetime64] = index.tz_convert(None).to_numpy(dtype="datetime64[us]")
    return times


def _event_times(group: Sequence[LogChunk], counts: NDArray[np.int64]) -> NDArray[np.datetime64]:
    """Every row's event time; one conversion for the chunks stamped with a single time."""
    if all(isinstance(chunk.event_time, datetime) for chunk in group):
        # Integers, not datetimes: numpy converts a list of datetime objects slowly.
        micros = np.array(
            [epoch_micros(chunk.event_time) for chunk in group],  # type: ignore[arg-type]
            dtype=np.int64,
        )
        stamps = micros.view("datetime64[us]")
        return stamps if len(stamps) == int(counts.sum()) else np.repeat(stamps, counts)
    return np.concatenate([chunk.times() for chunk in group])


def group_chunks(chunks: Sequence[LogChunk]) -> list[list[LogChunk]]:
    """``chunks`` in groups of one key each (one frame a group), in order within each group.

    Chunks are first grouped by model, version and input names (cheap: one tuple a chunk, and
    one version's chunks share their types); groups of the same key are then joined.
    """
    by_version: dict[tuple[str, str | None, tuple[str, ...]], list[LogChunk]] = {}
    for chunk in chunks:
        by_version.setdefault((chunk.model, chunk.version, tuple(chunk.inputs)), []).append(chunk)
    by_key: dict[ChunkKey, list[LogChunk]] = {}
    for group in by_version.values():
        by_key.setdefault(group[0].key(), []).extend(group)
    return list(by_key.values())


def _per_row(values: list[str | None], counts: NDArray[np.int64], total: int) -> NDArray[np.object_]:
    """One value per chunk as one per row (a single value is broadcast)."""
    if all(value == values[0] for value in values):
        return np.full(total, values[0], dtype=object)
    return np.repeat(np.array(values, dtype=object), counts)


def log_frame(group: Sequence[LogChunk]) -> pd.DataFrame:
    """One DataFrame for chunks of the same key (:meth:`LogChunk.key`), of any models and versions."""
    first = group[0]
    counts = np.array([chunk.rows for chunk in group], dtype=np.int64)
    total = int(counts.sum())
    request_ids = [chunk.request_id for chunk in group]
    if any(chunk.event_ids is not None for chunk in group):
        event_ids = np.concatenate([_chunk_event_ids(chunk) for chunk in group]).tolist()
        request_column = np.concatenate([_chunk_request_ids(chunk) for chunk in group])
    elif total == len(group):  # one row per request, the usual case
        event_ids = [rid + ":0" for rid in request_ids]
        request_column = np.array(request_ids, dtype=object)
    else:
        event_ids = [
            f"{rid}:{row}"
            for rid, rows in zip(request_ids, counts.tolist(), strict=True)
            for row in range(rows)
        ]
        request_column = np.repeat(np.array(request_ids, dtype=object), counts)
    columns: dict[str, Any] = {
        "event_id": np.array(event_ids, dtype=object),
        "event_time": pd.DatetimeIndex(_event_times(group, counts)).tz_localize("UTC"),
        "request_id": request_column,
        "model": _per_row([chunk.model for chunk in group], counts, total),
        "model_version": _per_row([chunk.version for chunk in group], counts, total),
    }
    for name in first.inputs:
        target = f"input_{name}" if name in RESERVED_COLUMNS else name
        columns[target] = np.concatenate([chunk.inputs[name] for chunk in group])
    answered = [chunk for chunk in group if chunk.labels is not None]
    if not answered:
        columns["prediction"] = np.full(total, None, dtype=object)
        columns["score"] = np.full(total, np.nan, dtype=np.float64)
    elif len(answered) == len(group):
        columns["prediction"] = np.concatenate([chunk.labels for chunk in answered])  # type: ignore[misc]
        columns["score"] = positive_scores(
            np.concatenate([chunk.probabilities for chunk in answered])  # type: ignore[misc]
        )
    else:
        columns["prediction"] = np.concatenate([_labels(chunk) for chunk in group])
        columns["score"] = np.concatenate([_scores(chunk) for chunk in group])
    return pd.DataFrame(columns)


def _chunk_event_ids(chunk: LogChunk) -> NDArray[np.object_]:
    if chunk.event_ids is not None:
        return chunk.event_ids
    return np.array([f"{chunk.request_id}:{row}" for row in range(chunk.rows)], dtype=object)


def _chunk_request_ids(chunk: LogChunk) -> NDArray[np.object_]:
    if chunk.request_ids is not None:
        return chunk.request_ids
    return np.full(chunk.rows, chunk.request_id, dtype=object)


def _labels(chunk: LogChunk) -> NDArray[Any]:
    return chunk.labels if chunk.labels is not None else np.full(chunk.rows, None, dtype=object)


def _scores(chunk: LogChunk) -> NDArray[np.float64]:
    if chunk.probabilities is None:
        return np.full(chunk.rows, np.nan, dtype=np.float64)
    return positive_scores(chunk.probabilities)


__all__ = [
    "RESERVED_COLUMNS",
    "ChunkKey",
    "EventTimes",
    "LogChunk",
    "as_event_times",
    "epoch_micros",
    "group_chunks",
    "log_frame",
]
