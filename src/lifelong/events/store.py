"""The event store protocol."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
import pyarrow as pa

from lifelong.events.batch import DeadLetter, frame_from_table


@dataclass(frozen=True)
class AppendResult:
    """How many events were written and how many were already stored (same event id)."""

    written: int
    duplicates: int


class EventStore(ABC):
    """Append-only store of named event streams, idempotent by event id."""

    @abstractmethod
    def append(self, stream: str, frame: pd.DataFrame) -> AppendResult:
        """Store ``frame`` (columns ``event_id``, ``event_time`` and payload); skip known ids."""

    def append_table(self, stream: str, table: pa.Table) -> AppendResult:
        """:meth:`append` for events held as an Arrow table; stores that write Arrow override it."""
        return self.append(stream, frame_from_table(table))

    @abstractmethod
    def window(
        self,
        stream: str,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Events of ``stream`` with ``start <= event_time < end``, ordered by time then id."""

    @abstractmethod
    def count(self, stream: str, start: datetime | None = None, end: datetime | None = None) -> int:
        """Number of events of ``stream`` in the window."""

    @abstractmethod
    def add_dead_letters(self, letters: Sequence[DeadLetter]) -> int:
        """Store events that failed validation, with their reasons; return how many."""

    @abstractmethod
    def dead_letters(self, stream: str | None = None) -> pd.DataFrame:
        """Dead letters, optionally of one stream: columns stream, reason, field, event_id, payload, source, received_at."""

    @abstractmethod
    def streams(self) -> list[str]:
        """Names of the streams that hold events."""
