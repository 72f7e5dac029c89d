"""A replay reservoir: a bounded uniform sample of every row offered so far (Algorithm R).

Vitter's Algorithm R keeps the first ``size`` rows, then replaces a random slot with the
``t``-th row (0-based) with probability ``size / (t + 1)``, so at any time every row offered
so far is in the reservoir with the same probability. The draws come from a seeded NumPy
generator whose state is saved with the rows: the same offers give the same reservoir,
across processes and restarts.

Rows are offered once: the reservoir remembers the latest ``(event_time, event_id)`` it was
offered and ignores rows at or before it, so offering overlapping windows is safe.

The reservoir is one Parquet file (rows, plus the state in its metadata), replaced
atomically on :meth:`ReplayReservoir.save`.

Examples
--------
>>> import tempfile
>>> import pandas as pd
>>> rows = pd.DataFrame({
...     "event_id": [f"e{i:03d}" for i in range(100)],
...     "event_time": pd.date_range("2024-01-01", periods=100, freq="h", tz="UTC"),
... })
>>> reservoir = ReplayReservoir.open(tempfile.mkdtemp(), size=10, seed=0)
>>> reservoir.offer(rows)
100
>>> reservoir.offer(rows)  # already offered: ignored
0
>>> len(reservoir.rows()), reservoir.seen
(10, 100)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lifelong.errors import ConfigError, DataError
from lifelong.events.batch import EVENT_ID, EVENT_TIME

FILE_NAME = "reservoir.parquet"
_STATE_KEY = b"lifelong.reservoir"


class ReplayReservoir:
    """A bounded, seeded, uniform sample of the rows offered so far, persisted in ``directory``."""

    def __init__(self, directory: Path | str, *, size: int, seed: int = 0) -> None:
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise ConfigError(f"sampling.reservoir_size: expected an integer > 0, got {size!r}")
        self._path = Path(directory) / FILE_NAME
        self._size = size
        self._seed = seed
        self._rng = np.random.default_rng(seed)
        self._rows = pd.DataFrame()
        self._seen = 0
        self._mark: tuple[pd.Timestamp, str] | None = None

    @classmethod
    def open(cls, directory: Path | str, *, size: int, seed: int = 0) -> ReplayReservoir:
        """The reservoir saved in ``directory``, or an empty one."""
        reservoir = cls(directory, size=size, seed=seed)
        if reservoir._path.exists():
            reservoir._load()
        return reservoir

    @property
    def size(self) -> int:
        """The most rows kept."""
        return self._size

    @property
    def seen(self) -> int:
        """How many rows were offered so far."""
        return self._seen

    @property
    def path(self) -> Path:
        """The reservoir's file."""
        return self._path

    def rows(self) -> pd.DataFrame:
        """A copy of the rows kept, in slot order."""
        return self._rows.copy()

    def offer(self, frame: pd.DataFrame) -> int:
        """Offer the rows of ``frame`` not offered before (in time order); return how many."""
        if frame.empty:
            return 0
        missing = {EVENT_ID, EVENT_TIME} - set(frame.columns)
        if missing:
            raise DataError(
                f"reservoir: expected columns {sorted(missing)} in the offered rows, got {list(frame.columns)}"
            )
        ordered = frame.sort_values([EVENT_TIME, EVENT_ID], kind="stable").reset_index(drop=True)
        if self._mark is not None:
            time, last_id = self._mark
            times = ordered[EVENT_TIME]
            after = (times > time) | ((times == time) & (ordered[EVENT_ID].astype("str") > last_id))
            ordered = ordered.loc[after.to_numpy()].reset_index(drop=True)
        count = len(ordered)
        if count == 0:
            return 0
        positions = self._seen + np.arange(count, dtype=np.int64)
        draws = np.where(positions < self._size, positions, self._rng.integers(0, positions + 1))
        slots = np.flatnonzero(draws < self._size)
        # The last row drawn for a slot is the one left in it.
        last_for_slot: dict[int, int] = {int(draws[j]): int(j) for j in slots}
        current = len(self._rows)
        source = np.arange(min(self._size, self._seen + count), dtype=np.int64)
        for slot, j in last_for_slot.items():
            source[slot] = current + j
        combined = pd.concat([self._rows, ordered], ignore_index=True) if current else ordered
        self._rows = combined.iloc[source].reset_index(drop=True)
        self._seen += count
        last = ordered.iloc[-1]
        self._mark = (pd.Timestamp(last[EVENT_TIME]), str(last[EVENT_ID]))
        return count

    def save(self) -> None:
        """Write rows and state to the reservoir's file atomically (temporary file, then rename)."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        state = {
            "size": self._size,
            "seed": self._seed,
            "seen": self._seen,
            "mark": None if self._mark is None else [self._mark[0].isoformat(), self._mark[1]],
            "rng": self._rng.bit_generator.state,
        }
        table = pa.Table.from_pandas(self._rows, preserve_index=False)
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), _STATE_KEY: json.dumps(state).encode()}
        )
        temporary = self._path.with_name(self._path.name + ".tmp")
        pq.write_table(table, temporary)
        os.replace(temporary, self._path)

    def _load(self) -> None:
        try:
            table = pq.read_table(self._path)
            state: dict[str, Any] = json.loads((table.schema.metadata or {})[_STATE_KEY])
        except (OSError, KeyError, ValueError, pa.ArrowException) as exc:
            raise DataError(
                f"reservoir {str(self._path)!r}: expected a reservoir file, got {exc}"
            ) from exc
        if int(state["size"]) != self._size:
            raise ConfigError(
                f"sampling.reservoir_size: expected {state['size']} (the size of the stored reservoir "
                f"{str(self._path)!r}; delete it to start a new one), got {self._size}"
            )
        self._rows = table.to_pandas()
        self._seen = int(state["seen"])
        mark = state.get("mark")
        self._mark = None if mark is None else (pd.Timestamp(mark[0]), str(mark[1]))
        self._rng.bit_generator.state = state["rng"]


__all__ = ["FILE_NAME", "ReplayReservoir"]
