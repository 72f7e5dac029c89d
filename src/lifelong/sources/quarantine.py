"""Flagged event sources: their labels are suspect, so only a throttled share of them trains.

Every flag and release is an event of the stream ``source_flags`` (who, when, why, the measured
evidence, and the ``throttle``: the fraction of the source's events still admitted), so the
current state of a source is its latest event and the whole history stays auditable.

While a source is flagged it is throttled, and nothing of it is lost. Each of its events is
admitted or held back by a hash of its event id (the same answer at ingest, at training, after a
crash and on a re-delivery), so about ``throttle`` of its events are admitted:

- at ingest, its held-back events go to the stream ``quarantined`` instead of ``events``;
- training and evaluation leave out its held-back rows already in ``events`` (those stored
  before the flag);
- :meth:`SourceQuarantine.release` lifts the flag and moves its held events back.

A throttle of 0 holds back every event of the source (a full quarantine).

Examples
--------
>>> import tempfile
>>> from datetime import datetime, timezone
>>> from lifelong.events import ParquetEventStore
>>> store = ParquetEventStore(tempfile.mkdtemp())
>>> quarantine = SourceQuarantine(store, column="source")
>>> when = datetime(2024, 1, 5, tzinfo=timezone.utc)
>>> quarantine.flag("crowd-b", at=when, reason="labels disagree", evidence={"p_value": 1e-9}, throttle=0.1)
>>> quarantine.throttles()
{'crowd-b': 0.1}
>>> events = pd.DataFrame({"event_id": [f"e{i}" for i in range(1000)], "source": "crowd-b"})
>>> round(float(quarantine.admitted(events).mean()), 2)
0.1
>>> quarantine.release("crowd-b", at=when, reason="vendor fixed its tool")
0
>>> quarantine.quarantined()
frozenset()
>>> store.close()
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from lifelong.clock import utc
from lifelong.errors import ConfigError, NotFoundError
from lifelong.events import ParquetEventStore
from lifelong.events.batch import EVENT_ID, EVENT_TIME

FLAGS = "source_flags"
HELD = "quarantined"
EVENTS = "events"
_SCALE = float(2**64)
KIND_ACTOR = "label_quality"  # who flags a source the gate convicts


def check_throttle(throttle: float) -> float:
    """``throttle`` when it is a fraction in [0, 1); a :class:`ConfigError` naming it otherwise."""
    if (
        isinstance(throttle, bool)
        or not isinstance(throttle, int | float)
        or not math.isfinite(throttle)
        or not 0 <= throttle < 1
    ):
        raise ConfigError(
            f"throttle: expected the fraction of a flagged source's events admitted, in [0, 1), got {throttle!r}"
        )
    return float(throttle)


def admission_key(event_ids: pd.Series) -> NDArray[np.float64]:
    """A uniform number in [0, 1) per event id, stable across processes (admitted when below the throttle)."""
    return np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(str(e).encode(), digest_size=8).digest(), "big") / _SCALE
            for e in event_ids
        ),
        dtype=np.float64,
        count=len(event_ids),
    )


class SourceQuarantine:
    """Flags, releases and throttles of the sources of one event store.

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
        flags = self.store.window(FLAGS)
        return flags.sort_values([EVENT_TIME, "sequence"], kind="stable") if len(flags) else flags

    def _latest_flags(self, before: datetime | None = None) -> pd.DataFrame:
        flags = self.history()
        if before is not None and len(flags):
            flags = flags[flags[EVENT_TIME] < pd.Timestamp(utc(before))]
        if not len(flags):
            return flags
        latest = flags.groupby("source").tail(1)
        return latest[latest["action"] == "quarantine"]

    def throttles(self, *, before: datetime | None = None) -> dict[str, float]:
        """Per flagged source, the fraction of its events admitted (flags without one: 0).

        With ``before``, the sources that were flagged just before that time.
        """
        latest = self._latest_flags(before)
        if not len(latest):
            return {}
        rates = latest["throttle"] if "throttle" in latest.columns else pd.Series(0.0, index=latest.index)
        return {
            str(source): float(rate) if pd.notna(rate) else 0.0
            for source, rate in zip(latest["source"], rates, strict=True)
        }

    def quarantined(self) -> frozenset[str]:
        """The flagged sources (their latest event is a flag)."""
        return frozenset(self.throttles())

    def status(self) -> list[dict[str, Any]]:
        """Per flagged source: when, why, by whom, its throttle and how many of its events are held back.

        ``held`` counts the source's events in the ``quarantined`` stream that are not in
        ``events`` (what :meth:`release` would move back; events an earlier release already moved
        are not counted again).
        """
        latest = self._latest_flags()
        if not len(latest):
            return []
        throttles = self.throttles()
        pending = self._pending(list(throttles))
        counts = pending[self.column].astype(str).value_counts() if len(pending) else pd.Series(dtype="int64")
        return [
            {
                "source": str(row["source"]),
                "flagged_at": row[EVENT_TIME].isoformat(),
                "flagged_by": str(row["actor"]) if "actor" in row.index and pd.notna(row["actor"]) else KIND_ACTOR,
                "reason": str(row["reason"]),
                "throttle": throttles[str(row["source"])],
                "held": int(counts.get(str(row["source"]), 0)),
            }
            for _, row in latest.iterrows()
        ]

    def _pending(self, sources: list[str]) -> pd.DataFrame:
        """The held events of ``sources`` not yet in ``events``."""
        held = self.store.window(HELD)
        if not len(held) or self.column not in held.columns or not sources:
            return held.iloc[0:0]
        held = held[held[self.column].astype(str).isin(sources)]
        if not len(held):
            return held
        times = held[EVENT_TIME]
        stored = self.store.window(
            EVENTS,
            times.min().to_pydatetime(),
            (times.max() + pd.Timedelta(microseconds=1)).to_pydatetime(),
            columns=[EVENT_ID],
        )
        return held[~held[EVENT_ID].isin(stored[EVENT_ID])] if len(stored) else held

    def _record(
        self,
        source: str,
        action: str,
        at: datetime,
        reason: str,
        evidence: dict[str, Any],
        throttle: float,
        actor: str,
    ) -> None:
        if not isinstance(source, str) or not source:
            raise ConfigError(f"source: expected a source name, got {source!r}")
        if not isinstance(actor, str) or not actor:
            raise ConfigError(f"actor: expected who acts (a non-empty name), got {actor!r}")
        sequence = len(self.store.window(FLAGS))
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
                    "throttle": [throttle],
                    "actor": [actor],
                }
            ),
        )

    def flag(
        self,
        source: str,
        *,
        at: datetime,
        reason: str,
        evidence: dict[str, Any],
        throttle: float = 0.0,
        actor: str = KIND_ACTOR,
    ) -> None:
        """Flag ``source`` (with the evidence that convicted it); admit ``throttle`` of its events."""
        self._record(source, "quarantine", at, reason, evidence, check_throttle(throttle), actor)

    def release(self, source: str, *, at: datetime, reason: str, actor: str = "lifelong") -> int:
        """Clear the flag of ``source``; move its held events back. Returns how many moved.

        Each held event reaches ``events`` once (the store deduplicates by event id), so a
        release interrupted before it is recorded can simply be repeated. The held events are moved before
        the release is recorded, and once more after it, for those an ingest process held back
        in between. Raises :class:`~lifelong.errors.NotFoundError` when ``source`` is not flagged,
        and :class:`~lifelong.errors.ConfigError` when ``at`` is before its flag.
        """
        latest = self._latest_flags()
        flagged = sorted(latest["source"].astype(str)) if len(latest) else []
        if source not in flagged:
            raise NotFoundError(f"source: expected a flagged source (one of {flagged}), got {source!r}")
        since = latest.loc[latest["source"].astype(str) == source, EVENT_TIME].iloc[-1]
        if pd.Timestamp(utc(at)) < since:
            raise ConfigError(
                f"at: expected a time at or after the flag of {source!r} ({since.isoformat()}), got {utc(at).isoformat()}"
            )
        moved = self._move_back(source)
        self._record(source, "release", at, reason, {"moved": moved}, 1.0, actor)
        return moved + self._move_back(source)

    def _move_back(self, source: str) -> int:
        mine = self._pending([source])
        return self.store.append(EVENTS, mine).written if len(mine) else 0

    def _admitted(self, frame: pd.DataFrame, throttles: dict[str, float]) -> NDArray[np.bool_]:
        admitted = np.ones(len(frame), dtype=bool)
        if not throttles or self.column not in frame.columns or not len(frame):
            return admitted
        sources = frame[self.column].astype(str).to_numpy()
        flagged = np.isin(sources, list(throttles))
        if flagged.any():
            rates = np.array([throttles[s] for s in sources[flagged]], dtype=np.float64)
            admitted[flagged] = admission_key(frame[EVENT_ID][flagged]) < rates
        return admitted

    def admitted(self, frame: pd.DataFrame) -> NDArray[np.bool_]:
        """Per row of ``frame``: True unless it is a held-back event of a flagged source."""
        return self._admitted(frame, self.throttles())

    def exclude(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` without the held-back rows of flagged sources (training respects the throttle)."""
        throttles = self.throttles()
        if not throttles:
            return frame
        return frame[self._admitted(frame, throttles)]

    def hold(self, stream: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
        """At ingest: store held-back events of flagged sources under ``quarantined``; return the rest."""
        throttles = self.throttles() if stream == EVENTS else {}
        if not throttles or self.column not in frame.columns or not len(frame):
            return frame, 0
        keep = self._admitted(frame, throttles)
        if not keep.all():
            self.store.append(HELD, frame[~keep])
        return frame[keep], int((~keep).sum())


__all__ = ["EVENTS", "FLAGS", "HELD", "SourceQuarantine", "admission_key", "check_throttle"]
