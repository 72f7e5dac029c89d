"""Batches of events and source checkpoints.

A batch is a :class:`pandas.DataFrame` with two required columns, ``event_id`` (string,
unique per event) and ``event_time`` (timezone-aware UTC timestamps), and any payload columns.
Sources that decode messages into Arrow (Kafka, Redis Streams) hand over the Arrow table
instead: the event store appends it as it is, and ``frame`` is built from it only when read.

Examples
--------
>>> import pandas as pd
>>> import pyarrow as pa
>>> frame = pd.DataFrame({"event_id": ["a"], "event_time": pd.to_datetime(["2024-01-01"], utc=True), "x": [1.0]})
>>> Batch(stream="events", frame=frame).rows
1
>>> table = pa.table({"event_id": ["a", "b"], "n": pa.array([1, None], type=pa.int64())})
>>> batch = Batch("events", table=table)
>>> batch.rows, str(batch.frame["n"].dtype)
(2, 'Int64')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, overload

import pandas as pd
import pyarrow as pa

EVENT_ID = "event_id"
EVENT_TIME = "event_time"


@dataclass(frozen=True)
class Checkpoint:
    """A source position, JSON-serialisable (offsets per partition, a watermark, a row number)."""

    position: dict[str, Any] = field(default_factory=dict)


def frame_from_table(table: pa.Table) -> pd.DataFrame:
    """``table`` as a batch frame: integer and boolean columns with nulls stay nullable (Int64, boolean)."""
    frame = table.to_pandas()
    for index, column in enumerate(table.columns):
        if column.null_count and (pa.types.is_integer(column.type) or pa.types.is_boolean(column.type)):
            dtype = "Int64" if pa.types.is_integer(column.type) else "boolean"
            frame[table.column_names[index]] = pd.Series(column.to_pylist(), dtype=dtype)
    return frame


class _LazyFrame:
    """The ``frame`` field of :class:`Batch`: given, or built from the batch's table when first read."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._slot = f"_{name}_value"

    @overload
    def __get__(self, instance: None, owner: type) -> None: ...

    @overload
    def __get__(self, instance: Batch, owner: type) -> pd.DataFrame: ...

    def __get__(self, instance: Batch | None, owner: type) -> pd.DataFrame | None:
        if instance is None:
            return None  # the field's default: no frame given
        frame: pd.DataFrame | None = instance.__dict__.get(self._slot)
        if frame is None:
            if instance.table is None:
                raise ValueError("frame: expected a frame or an Arrow table, got neither")
            frame = frame_from_table(instance.table)
            instance.__dict__[self._slot] = frame
        return frame

    def __set__(self, instance: Batch, value: pd.DataFrame | None) -> None:
        instance.__dict__[self._slot] = value


@dataclass(frozen=True)
class Batch:
    """Events read from a source, with the checkpoint to commit once they are stored.

    Give either ``frame`` or ``table`` (the events as Arrow, ready to store); the other is
    derived on demand (``frame`` from ``table``).
    """

    stream: str
    frame: pd.DataFrame = _LazyFrame()  # type: ignore[assignment]
    checkpoint: Checkpoint | None = None
    dead_letters: tuple[DeadLetter, ...] = ()
    table: pa.Table | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.__dict__.get("_frame_value") is None and self.table is None:
            raise TypeError("Batch: expected a frame or an Arrow table, got neither")

    @property
    def rows(self) -> int:
        return self.table.num_rows if self.table is not None else len(self.frame)


@dataclass(frozen=True)
class DeadLetter:
    """An event that failed validation: its raw payload and the reason, never dropped."""

    stream: str
    reason: str
    payload: str
    field: str | None = None
    event_id: str | None = None
    source: str | None = None


__all__ = ["EVENT_ID", "EVENT_TIME", "Batch", "Checkpoint", "DeadLetter", "frame_from_table"]
