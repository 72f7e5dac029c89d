"""The source protocol: batches of events from a transport, with checkpoints to commit.

Examples
--------
>>> import pandas as pd
>>> from lifelong.events import Batch, Checkpoint
>>> class ListSource(Source):
...     def __init__(self, frames):
...         self.frames, self.committed = frames, None
...     def read(self, since=None):
...         start = since.position["index"] if since else 0
...         for index in range(start, len(self.frames)):
...             yield Batch("events", self.frames[index], Checkpoint({"index": index + 1}))
...     def commit(self, checkpoint):
...         self.committed = checkpoint
>>> frame = pd.DataFrame({"event_id": ["a"], "event_time": pd.to_datetime(["2024-01-01"], utc=True)})
>>> with ListSource([frame, frame]) as source:
...     batches = list(source.read(Checkpoint({"index": 1})))
...     source.commit(batches[-1].checkpoint)
>>> len(batches), source.committed
(1, Checkpoint(position={'index': 2}))
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from types import TracebackType
from typing import Self

from lifelong.events.batch import Batch, Checkpoint


class Source(ABC):
    """Where events come from: a file, a Kafka topic, a Redis stream, a warehouse table.

    Delivery is at least once: after a crash, reading from the last committed checkpoint
    may repeat events, which the event store drops by id.
    """

    @abstractmethod
    def read(self, since: Checkpoint | None = None) -> Iterator[Batch]:
        """Batches from ``since`` (None: where this source stands), each with its checkpoint."""

    @abstractmethod
    def commit(self, checkpoint: Checkpoint) -> None:
        """Record that every event up to ``checkpoint`` is stored."""

    def close(self) -> None:
        """Release connections and open files (a no-op by default)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


__all__ = ["Source"]
