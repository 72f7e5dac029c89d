"""Quarantine of event sources whose labels cannot be trusted, kept in the event store.

Every flag and release is an event of the stream ``source_flags`` (who, when, why, and the
measured evidence), so the current state of a source is its latest event and the whole history
stays auditable. While a source is quarantined, ingest holds its new events in the stream
``quarantined`` instead of ``events`` (nothing is dropped) and training leaves its rows out;
:meth:`SourceQuarantine.release` lifts the quarantine and moves the held events back.

Examples
--------
>>> import tempfile
>>> from datetime import datetime, timezone
>>> from lifelong.events import ParquetEventStore
>>> store = ParquetEventStore(tempfile.mkdtemp())
>>> quarantine = SourceQuarantine(store, column="source")
>>> when = datetime(2024, 1, 5, tzinfo=timezone.utc)
>>> quarantine.flag("crowd-b", at=when, reason="labels disagree", evidence={"p_value": 1e-9})
>>> sorted(quarantine.quarantined())
['crowd-b']
>>> quarantine.release("crowd-b", at=when, reason="vendor fixed its tool")
0
>>> quarantine.quarantined()
frozenset()
>>> store.close()
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import pandas as pd

from lifelong.clock import utc
from lifelong.errors import ConfigError
from lifelong.events import ParquetEventStore
from lifelong.events.batch import EVENT_ID, EVENT_TIME

FLAGS = "source_flags"
HELD = "quarantined"
EVENTS = "events"


class SourceQuarantine:
    """Flags, releases and the set of quarantined sources of one event store.

    Parameters
    ----------
    store
        The pipeline's event store (flags and held events live in it).
    column
        The event column that names each event's source.
    """

    def __init__(self, store: ParquetEventStore, *, column: str) -> None:
        if not isinstance(column, str) or not column:
            raise ConfigError(f"source_column: expected a column name, got {column!r}")
        self.store = store
        self.column = column

    def history(self) -> pd.DataFrame:
        """Every flag and release, oldest first."""
        return self.store.window(FLAGS)

    def quarantined(self) -> frozenset[str]:
        """The sources whose latest event is a flag."""
        flags = self.history()
        if not len(flags):
            return frozenset()
        latest = flags.sort_values([EVENT_TIME, "sequence"]).groupby("source").tail(1)
        return frozenset(str(s) for s in latest.loc[latest["action"] == "quarantine", "source"])

    def _record(
        self, source: str, action: str, at: datetime, reason: str, evidence: dict[str, Any]
    ) -> None:
        if not isinstance(source, str) or not source:
            raise ConfigError(f"source: expected a source name, got {source!r}")
        sequence = len(self.history())
        self.store.append(
            FLAGS,
            pd.DataFrame(
                {
                    EVENT_ID: [f"{action}:{source}:{uuid.uuid4().hex}"],
                    EVENT_TIME: pd.to_datetime([utc(at)], utc=True),
                    "source": [source],
                    "action": [action],
                    "reason": [reason],
                    "evidence": [json.dumps(evidence, sort_keys=True, default=str)],
                    "sequence": [sequence],
                }
            ),
        )

    def flag(self, source: str, *, at: datetime, reason: str, evidence: dict[str, Any]) -> None:
        """Quarantine ``source`` (recorded with the evidence that convicted it)."""
        self._record(source, "quarantine", at, reason, evidence)

    def release(self, source: str, *, at: datetime, reason: str) -> int:
        """Lift the quarantine of ``source``; move its held events back. Returns how many."""
        self._record(source, "release", at, reason, {})
        held = self.store.window(HELD)
        if not len(held) or self.column not in held.columns:
            return 0
        mine = held[held[self.column].astype(str) == source]
        return self.store.append(EVENTS, mine).written if len(mine) else 0

    def exclude(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` without the rows of quarantined sources (training respects the quarantine)."""
        blocked = self.quarantined()
        if not blocked or self.column not in frame.columns:
            return frame
        return frame[~frame[self.column].astype(str).isin(blocked)]

    def hold(self, stream: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
        """At ingest: store the events of quarantined sources under ``quarantined``; return the rest."""
        blocked = self.quarantined() if stream == EVENTS else frozenset()
        if not blocked or self.column not in frame.columns or not len(frame):
            return frame, 0
        mask = frame[self.column].astype(str).isin(blocked)
        if mask.any():
            self.store.append(HELD, frame[mask])
        return frame[~mask], int(mask.sum())


__all__ = ["EVENTS", "FLAGS", "HELD", "SourceQuarantine"]
