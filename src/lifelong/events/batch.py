"""Batches of events and source checkpoints.

A batch is a :class:`pandas.DataFrame` with two required columns, ``event_id`` (string,
unique per event) and ``event_time`` (timezone-aware UTC timestamps), and any payload columns.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"event_id": ["a"], "event_time": pd.to_datetime(["2024-01-01"], utc=True), "x": [1.0]})
>>> Batch(stream="events", frame=frame).rows
1
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

EVENT_ID = "event_id"
EVENT_TIME = "event_time"


@dataclass(frozen=True)
class Checkpoint:
    """A source position, JSON-serialisable (offsets per partition, a watermark, a row number)."""

    position: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Batch:
    """Events read from a source, with the checkpoint to commit once they are stored."""

    stream: str
    frame: pd.DataFrame
    checkpoint: Checkpoint | None = None
    dead_letters: tuple[DeadLetter, ...] = ()

    @property
    def rows(self) -> int:
        return len(self.frame)


@dataclass(frozen=True)
class DeadLetter:
    """An event that failed validation: its raw payload and the reason, never dropped."""

    stream: str
    reason: str
    payload: str
    field: str | None = None
    event_id: str | None = None
    source: str | None = None


__all__ = ["EVENT_ID", "EVENT_TIME", "Batch", "Checkpoint", "DeadLetter"]
