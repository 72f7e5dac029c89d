"""Chunks of one CSV or Parquet file turned into event rows, from a row offset.

Rows are numbered from 0 after the header. Each prepared chunk has ``event_id``,
``event_time`` (UTC microseconds) and the payload columns, plus internal columns: the row
number, the time used to cut batches (a bad row takes its predecessor's time) and, for rows
whose time or id is unusable, the reason and the raw row as JSON.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> path = Path(tempfile.mkdtemp()) / "events.csv"
>>> _ = path.write_text("ts,x\\n2024-01-01T00:00:00,1\\n2024-01-01T01:00:00,2\\n")
>>> reader = FileReader(path, start_row=1, chunk_rows=10, timestamp="ts", id_column=None)
>>> chunk = reader.next_chunk()
>>> chunk["event_id"].tolist(), chunk["x"].tolist()
(['events.csv:1'], [2])
>>> reader.next_chunk() is None
True
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from numpy.typing import NDArray

from lifelong.errors import ConfigError, DataError
from lifelong.events.batch import EVENT_ID, EVENT_TIME
from lifelong.events.coerce import to_str, to_timestamp
from lifelong.events.payload import rows_to_json
from lifelong.events.schema import MISSING

SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
ROW = "__lifelong_row__"
CUT = "__lifelong_cut__"
REASON = "__lifelong_reason__"
PAYLOAD = "__lifelong_payload__"
FIELD = "__lifelong_field__"
INTERNAL = (ROW, CUT, REASON, PAYLOAD, FIELD)
_EARLIEST = np.iinfo(np.int64).min + 1


def file_kind(path: Path) -> str:
    """``csv`` or ``parquet``, from the file's suffix."""
    try:
        return SUFFIXES[path.suffix.lower()]
    except KeyError:
        raise ConfigError(
            f"path: expected a file ending in {sorted(SUFFIXES)}, got {path.name!r}"
        ) from None


def _csv_chunks(path: Path, start: int, rows: int) -> Generator[pd.DataFrame, None, None]:
    skip = range(1, start + 1) if start else None
    with pd.read_csv(path, chunksize=rows, skiprows=skip) as reader:
        yield from reader


def _parquet_chunks(path: Path, start: int, rows: int) -> Generator[pd.DataFrame, None, None]:
    with pq.ParquetFile(path) as handle:
        skip, groups = start, list[int]()
        for group in range(handle.metadata.num_row_groups):
            size = handle.metadata.row_group(group).num_rows
            if not groups and skip >= size:
                skip -= size
                continue
            groups.append(group)
        if not groups:
            return
        for batch in handle.iter_batches(batch_size=rows, row_groups=groups):
            if skip:
                if batch.num_rows <= skip:
                    skip -= batch.num_rows
                    continue
                batch, skip = batch.slice(skip), 0
            yield batch.to_pandas()


def _micros(times: pd.Series) -> NDArray[np.int64]:
    return np.asarray(times.dt.tz_localize(None).to_numpy().view("int64"), dtype=np.int64)


def _cut_times(
    micros: NDArray[np.int64], valid: NDArray[np.bool_], previous: int
) -> NDArray[np.int64]:
    """Times to cut batches by: a row without a time takes the last known one."""
    if valid.all():
        return micros.copy()
    positions = np.where(valid, np.arange(len(micros)), -1)
    np.maximum.accumulate(positions, out=positions)
    return np.where(positions >= 0, micros[np.maximum(positions, 0)], previous).astype(np.int64)


class FileReader:
    """Prepared chunks of one file, checked to be in timestamp order."""

    def __init__(
        self,
        path: Path,
        *,
        start_row: int,
        chunk_rows: int,
        timestamp: str,
        id_column: str | None,
    ) -> None:
        self.path = path
        self.name = path.name
        self.next_row = start_row
        self.exhausted = False
        self._timestamp = timestamp
        self._id_column = id_column
        self._last: tuple[int, int] | None = None
        kind = file_kind(path)
        self._check_header(kind)
        opener = _csv_chunks if kind == "csv" else _parquet_chunks
        self._chunks = opener(path, start_row, chunk_rows)

    def _check_header(self, kind: str) -> None:
        if kind == "csv":
            columns = [str(name) for name in pd.read_csv(self.path, nrows=0).columns]
        else:
            columns = list(pq.read_schema(self.path).names)
        if self._timestamp not in columns:
            raise DataError(
                f"{self.name}: timestamp column {self._timestamp!r} is missing; got columns {columns}"
            )
        if self._id_column is not None and self._id_column not in columns:
            raise DataError(
                f"{self.name}: id column {self._id_column!r} is missing; got columns {columns}"
            )
        for reserved, option, given in (
            (EVENT_TIME, "timestamp", self._timestamp),
            (EVENT_ID, "id_column", self._id_column),
        ):
            if reserved in columns and given != reserved:
                raise DataError(
                    f"{self.name}: column {reserved!r} exists; expected {option}={reserved!r}, "
                    f"got {given!r}"
                )

    def next_chunk(self) -> pd.DataFrame | None:
        """The next prepared chunk, or None once the file is read to its end."""
        while not self.exhausted:
            raw = next(self._chunks, None)
            if raw is None:
                self.close()
                return None
            if len(raw):
                first = self.next_row
                self.next_row += len(raw)
                return self._prepare(raw.reset_index(drop=True), first)
        return None

    def close(self) -> None:
        """Close the file; later calls of :meth:`next_chunk` return None."""
        self.exhausted = True
        self._chunks.close()

    def _prepare(self, raw: pd.DataFrame, first: int) -> pd.DataFrame:
        rows = np.arange(first, first + len(raw), dtype=np.int64)
        stamps = raw[self._timestamp]
        if pd.api.types.is_numeric_dtype(stamps.dtype) and not pd.api.types.is_bool_dtype(
            stamps.dtype
        ):
            raise DataError(
                f"{self.name}: timestamp column {self._timestamp!r}: expected ISO-8601 text "
                f"or datetimes, got numbers ({stamps.dtype})"
            )
        times, problems = to_timestamp(stamps)
        reasons: dict[int, list[str]] = {}
        for position, message in problems.items():
            reasons.setdefault(int(position), []).append(f"{self._timestamp}: {message}")
        for position in np.flatnonzero(stamps.isna().to_numpy()):
            reasons.setdefault(int(position), []).append(f"{self._timestamp}: {MISSING}")
        if self._id_column is not None:
            column = raw[self._id_column]
            ids, id_problems = to_str(column)
            empty = ids.str.len().eq(0).fillna(False).astype(bool)
            id_problems = pd.concat(
                [
                    id_problems,
                    pd.Series(MISSING, index=column.index[column.isna()], dtype=object),
                    pd.Series(
                        "expected a non-empty string, got ''",
                        index=column.index[empty],
                        dtype=object,
                    ),
                ]
            )
            for position, message in id_problems.items():
                reasons.setdefault(int(position), []).append(f"{self._id_column}: {message}")
        else:
            ids = self.name + ":" + pd.Series(rows).astype("str")
        valid = times.notna().to_numpy()
        micros = _micros(times)
        previous = self._last[1] if self._last is not None else _EARLIEST
        self._check_order(micros, valid, rows)
        frame = raw.drop(columns=[self._timestamp])
        frame.insert(0, EVENT_TIME, times)
        frame.insert(0, EVENT_ID, ids.astype("str"))
        frame[ROW] = rows
        frame[CUT] = _cut_times(micros, valid, previous)
        bad = sorted(reasons)
        frame[REASON] = pd.Series(None, index=frame.index, dtype=object)
        frame[PAYLOAD] = pd.Series(None, index=frame.index, dtype=object)
        frame[FIELD] = pd.Series(None, index=frame.index, dtype=object)
        if bad:
            frame.loc[bad, REASON] = ["; ".join(reasons[position]) for position in bad]
            frame.loc[bad, PAYLOAD] = rows_to_json(raw.iloc[bad])
            frame.loc[bad, FIELD] = [reasons[position][0].split(":", 1)[0] for position in bad]
        return frame

    def _check_order(
        self, micros: NDArray[np.int64], valid: NDArray[np.bool_], rows: NDArray[np.int64]
    ) -> None:
        times, numbers = micros[valid], rows[valid]
        if self._last is not None:
            numbers = np.concatenate([[self._last[0]], numbers])
            times = np.concatenate([[self._last[1]], times])
        if not len(times):
            return
        backwards = np.flatnonzero(np.diff(times) < 0)
        if backwards.size:
            at = int(backwards[0])
            later = pd.Timestamp(int(times[at + 1]), unit="us", tz="UTC").isoformat()
            earlier = pd.Timestamp(int(times[at]), unit="us", tz="UTC").isoformat()
            raise DataError(
                f"{self.name}: expected rows sorted by {self._timestamp!r}, got row "
                f"{int(numbers[at + 1])} at {later} after row {int(numbers[at])} at {earlier}"
            )
        self._last = (int(numbers[-1]), int(times[-1]))


__all__ = ["CUT", "FIELD", "INTERNAL", "PAYLOAD", "REASON", "ROW", "FileReader", "file_kind"]
