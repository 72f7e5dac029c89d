"""The embedded event store: Parquet files in time partitions, queried with DuckDB.

Examples
--------
>>> import tempfile
>>> import pandas as pd
>>> root = tempfile.mkdtemp()
>>> store = ParquetEventStore(root)
>>> frame = pd.DataFrame({
...     "event_id": ["a", "b"],
...     "event_time": pd.to_datetime(["2024-01-01 23:00", "2024-01-02 01:00"], utc=True),
...     "x": [1.0, 2.0],
... })
>>> store.append("clicks", frame)
AppendResult(written=2, duplicates=0)
>>> store.append("clicks", frame)
AppendResult(written=0, duplicates=2)
>>> store.window("clicks", columns=["event_id", "x"])
  event_id    x
0        a  1.0
1        b  2.0
>>> store.close()
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from lifelong.clock import Clock, SystemClock, utc
from lifelong.errors import ValidationError
from lifelong.events.batch import EVENT_ID, EVENT_TIME, DeadLetter
from lifelong.events.file_cache import DEFAULT_MAX_BYTES, FileCache
from lifelong.events.id_index import IdIndex, hash_ids
from lifelong.events.normalize import (
    TIME_DTYPE,
    check_stream_name,
    normalize_events,
    normalize_table,
    to_arrow,
)
from lifelong.events.partitions import (
    PERIODS,
    READ_LOCK,
    WRITE_LOCK,
    Period,
    choose_period,
    file_lock,
    finish_compaction,
    list_files,
    list_partitions,
    partition_name,
    partition_starts,
    stream_files,
    stream_paths,
    stream_period,
    write_journal,
    write_part,
    write_temporary,
)
from lifelong.events.store import AppendResult, EventStore

DEAD_LETTERS = "_dead_letters"
DEAD_LETTER_COLUMNS = ("stream", "reason", "field", "event_id", "payload", "source", "received_at")
_LETTER_ID = "letter_id"
_RECEIVED_AT = "received_at"
_MICROSECOND = timedelta(microseconds=1)
_DAY_MICROS = 86_400_000_000


def _sql_paths(files: Sequence[Path]) -> str:
    return "[" + ", ".join("'" + str(path).replace("'", "''") + "'" for path in files) + "]"


def _sql_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _to_frame(table: pa.Table) -> pd.DataFrame:
    frame = table.to_pandas()
    for name, dtype in frame.dtypes.items():  # the dtypes at once: no column is taken out for its type
        if isinstance(dtype, pd.DatetimeTZDtype):
            frame[name] = frame[name].dt.tz_convert("UTC")
    return frame


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    dtypes = {EVENT_ID: "str", EVENT_TIME: TIME_DTYPE, _RECEIVED_AT: TIME_DTYPE}
    return pd.DataFrame({name: pd.Series(dtype=dtypes.get(name, object)) for name in columns})


class ParquetEventStore(EventStore):
    """Append-only event streams as Parquet files under ``root``, idempotent by event id.

    Parameters
    ----------
    root
        Folder of the store; one sub-folder per stream, in time partitions of ``event_time``
        (UTC): ``<stream>/date=YYYY-MM-DD/``, ``month=YYYY-MM/`` or ``year=YYYY/``, each
        holding ``part-<uuid>.parquet`` files (see :mod:`lifelong.events.partitions`).
    fsync
        Flush each file to disk before it becomes visible (survives a power loss).
    clock
        Time source for ``received_at`` of dead letters.
    read_cache_bytes
        Bound of the cache of data files read (and written) for queries; 0 keeps none (a
        process that only appends, such as ``lifelong ingest``, so memory stays flat).
    partition
        Period of a new stream's partitions: ``"auto"`` (the default) picks it from the
        event rate of the stream's first append (a day, unless that would write fewer than
        100 rows per file: one event a day gets yearly partitions); ``"day"``, ``"month"``
        or ``"year"`` fix it. A stream that already has partitions keeps their period.

    Notes
    -----
    Appends are safe across threads and processes: a per-stream ``flock`` covers the check of
    known ids and the write. Each process keeps a 64-bit hash of every id of a stream in memory
    (:class:`~lifelong.events.id_index.IdIndex`, 12 bytes an id; a match is confirmed against
    the ids of the files that hold it), tied to the listing of the stream's files, so a file
    written by another process is read once.
    Partitions are pruned from the listing and files are read with ``hive_partitioning``
    off: a payload column named ``date`` (Elec2 has one) is kept as it is. Queries read the
    listed files through a :class:`~lifelong.events.file_cache.FileCache` (data files never
    change once visible), so a window that slides forward reads only the new files.
    """

    def __init__(
        self,
        root: Path | str,
        *,
        fsync: bool = True,
        clock: Clock | None = None,
        read_cache_bytes: int = DEFAULT_MAX_BYTES,
        partition: Literal["auto", "day", "month", "year"] = "auto",
    ) -> None:
        if partition != "auto" and partition not in PERIODS:
            raise ValidationError(f"partition: expected one of auto, {', '.join(PERIODS)}, got {partition!r}")
        self._partition = partition
        self._periods: dict[str, Period] = {}
        self._root = Path(root)
        self._root.mkdir(parents=True, exist_ok=True)
        self._fsync = fsync
        self._clock = clock if clock is not None else SystemClock()
        self._known: dict[str, IdIndex] = {}
        self._guard = threading.Lock()
        self._duck: duckdb.DuckDBPyConnection | None = duckdb.connect()
        self._files = FileCache(max_bytes=read_cache_bytes)

    @property
    def root(self) -> Path:
        """Folder of the store."""
        return self._root

    # -- writing ---------------------------------------------------------------------------

    def append(self, stream: str, frame: pd.DataFrame) -> AppendResult:
        """Store the events of ``frame`` whose ids are new; duplicates are counted, not written.

        Raises
        ------
        ValidationError
            When ``event_id`` is not a non-empty string or ``event_time`` not a timestamp in
            every row, or a column cannot be stored; nothing is written then.
        """
        directory = self._root / check_stream_name(stream)
        return self._append(directory, normalize_events(frame), EVENT_ID, EVENT_TIME)

    def append_table(self, stream: str, table: pa.Table) -> AppendResult:
        """:meth:`append` for events already in Arrow (the ingest path); the same checks apply."""
        directory = self._root / check_stream_name(stream)
        return self._append_table(directory, normalize_table(table), EVENT_ID, EVENT_TIME)

    def _append(
        self, directory: Path, events: pd.DataFrame, id_column: str, time_column: str
    ) -> AppendResult:
        if len(events) == 0:
            return AppendResult(written=0, duplicates=0)
        return self._append_table(directory, to_arrow(events), id_column, time_column)

    def _append_table(
        self, directory: Path, table: pa.Table, id_column: str, time_column: str
    ) -> AppendResult:
        total = table.num_rows
        if total == 0:
            return AppendResult(written=0, duplicates=0)
        ids: list[str] = table.column(id_column).to_pylist()
        first = np.ones(total, dtype=bool)
        if len(set(ids)) < total:
            seen: set[str] = set()
            first = np.fromiter((not (value in seen or seen.add(value)) for value in ids), bool, total)  # type: ignore[func-returns-value]
        hashes = hash_ids(ids)
        micros = table.column(time_column).cast(pa.int64()).to_numpy()
        days = (micros // _DAY_MICROS).astype("datetime64[D]")
        directory.mkdir(parents=True, exist_ok=True)
        with file_lock(directory / WRITE_LOCK):
            index = self._known_ids(directory, id_column)
            fresh = first & ~self._stored(index, ids, hashes, id_column)
            period = self._period(directory, days[fresh])
            starts = partition_starts(days, period)
            for start in np.unique(starts[fresh]):
                selected = fresh & (starts == start)
                partition = directory / partition_name(start.astype(object), period)
                part = table.filter(pa.array(selected))
                path = write_part(part, partition, fsync=self._fsync, id_column=id_column)
                self._files.put(path, part)  # what a query reads back from the new file
                index.add(hashes[selected], str(path))
        written = int(fresh.sum())
        return AppendResult(written=written, duplicates=total - written)

    def _period(self, directory: Path, days: np.ndarray) -> Period:
        """The partition period of the stream under ``directory``; call while holding its write lock."""
        key = str(directory)
        period = self._periods.get(key)
        if period is None or not directory.is_dir():
            found = stream_period(directory)
            if found is None:
                found = choose_period(days) if self._partition == "auto" else self._partition
            period = self._periods[key] = found
        return period

    @staticmethod
    def _stored(index: IdIndex, ids: list[str], hashes: np.ndarray, id_column: str) -> np.ndarray:
        """Which ``ids`` the files of ``index`` hold: hash candidates, confirmed in their files."""
        candidates = index.candidates(hashes)
        if not candidates.any():
            return candidates
        files = sorted(index.owners(hashes[candidates]))
        schema = pa.schema([pa.field(id_column, pa.large_string())])
        held = set(ds.dataset(files, format="parquet", schema=schema).to_table().column(0).to_pylist())
        return candidates & np.fromiter((value in held for value in ids), bool, len(ids))

    def _known_ids(self, directory: Path, id_column: str) -> IdIndex:
        """Ids stored under ``directory``; call while holding its write lock."""
        files = stream_paths(directory)
        key = str(directory)
        with self._guard:
            known = self._known.get(key)
            if known is None or not known.files <= files:
                known = self._known[key] = IdIndex()
        schema = pa.schema([pa.field(id_column, pa.large_string())])
        for path in sorted(files - known.files):
            column = ds.dataset([path], format="parquet", schema=schema).to_table().column(0)
            known.add(hash_ids(column.to_pylist()), path)
        return known

    def add_dead_letters(self, letters: Sequence[DeadLetter]) -> int:
        """Store events that failed validation; a letter already stored is not repeated."""
        if not letters:
            return 0
        received = pd.Timestamp(utc(self._clock.now())).as_unit("us")
        rows: list[dict[str, Any]] = []
        for letter in letters:
            row = {
                "stream": letter.stream,
                "reason": letter.reason,
                "field": letter.field,
                "event_id": letter.event_id,
                "payload": letter.payload,
                "source": letter.source,
            }
            digest = hashlib.sha256(repr(sorted(row.items())).encode("utf-8")).hexdigest()
            rows.append({_LETTER_ID: digest[:32], **row, _RECEIVED_AT: received})
        frame = pd.DataFrame(
            {
                name: pd.Series([row[name] for row in rows], dtype="str")
                for name in (_LETTER_ID, *DEAD_LETTER_COLUMNS[:-1])
            }
        )
        frame[_RECEIVED_AT] = pd.Series([received] * len(rows), dtype=TIME_DTYPE)
        return self._append(self._root / DEAD_LETTERS, frame, _LETTER_ID, _RECEIVED_AT).written

    def compact(self, stream: str) -> int:
        """Merge the files of each partition of ``stream`` into one; return files removed.

        Readers never see a row twice or miss one: the merged file replaces the small ones
        under the stream's read lock, and a journal completes an interrupted compaction.
        """
        directory = self._root / check_stream_name(stream)
        if not directory.is_dir():
            return 0
        removed = 0
        with file_lock(directory / WRITE_LOCK):
            with file_lock(directory / READ_LOCK):
                for partition in list_partitions(directory).values():
                    finish_compaction(partition)
            for partition in list_partitions(directory).values():
                files = list_files(partition)
                if len(files) < 2:
                    continue
                table = self._arrow(
                    f"SELECT * FROM read_parquet({_sql_paths(files)}, union_by_name=true, hive_partitioning=false) "
                    "ORDER BY event_time, event_id"
                )
                temporary, final = write_temporary(table, partition, fsync=self._fsync, id_column=EVENT_ID)
                write_journal(partition, final.name, [f.name for f in files], fsync=self._fsync)
                with file_lock(directory / READ_LOCK):
                    os.replace(temporary, final)
                    finish_compaction(partition)
                removed += len(files)
                self._files.forget(files)
            self._known.pop(str(directory), None)
        return removed

    # -- reading ---------------------------------------------------------------------------

    def _arrow(self, sql: str, params: list[Any] | None = None, *, views: dict[str, pa.Table] | None = None) -> pa.Table:
        with self._guard:
            if self._duck is None:
                raise ValidationError("store: expected an open store, got a closed one")
            cursor = self._duck.cursor()
        try:
            for name, table in (views or {}).items():
                cursor.register(name, table)
            return cursor.sql(sql, params=params).to_arrow_table()
        finally:
            cursor.close()

    def _select(
        self,
        directory: Path,
        start: datetime | None,
        end: datetime | None,
        select: str,
        *,
        time_column: str = EVENT_TIME,
        extra_where: str = "",
        order: str = "",
        params: Sequence[Any] = (),
    ) -> pa.Table | None:
        """Run ``select`` over the files of the window, or None when the stream has no file."""
        lower = utc(start) if start is not None else None
        upper = utc(end) if end is not None else None
        where = ["true"]
        values: list[Any] = []
        if lower is not None:
            where.append(f"{time_column} >= ?")
            values.append(lower)
        if upper is not None:
            where.append(f"{time_column} < ?")
            values.append(upper)
        if extra_where:
            where.append(extra_where)
            values.extend(params)
        if not directory.is_dir():
            return None
        with file_lock(directory / READ_LOCK, shared=True):
            files = self._window_files(directory, lower, upper)
            if files is None:
                files = stream_files(directory)
                where = ["false"]
            if not files:
                return None
            source = (
                f"read_parquet({_sql_paths(files)}, union_by_name=true, hive_partitioning=false)"
            )
            views = None
            if where != ["false"]:
                try:
                    views = {"_window_files": self._files.read(files)}
                    source = "_window_files"
                except (pa.ArrowInvalid, pa.ArrowTypeError):  # types DuckDB unifies by casting
                    views = None
            sql = f"SELECT {select} FROM {source} WHERE {' AND '.join(where)} {order}"
            try:
                return self._arrow(sql, values if where != ["false"] else None, views=views)
            except duckdb.BinderException as exc:
                known = self._arrow(f"SELECT * FROM {source} LIMIT 0", views=views).column_names
                raise ValidationError(
                    f"columns: expected names among {known}, got {select}"
                ) from exc

    @staticmethod
    def _window_files(directory: Path, lower: datetime | None, upper: datetime | None) -> list[Path] | None:
        """Files of the partitions the window overlaps; None for an empty window."""
        if lower is not None and upper is not None and upper <= lower:
            return None
        first = lower.date() if lower is not None else None
        last = (upper - _MICROSECOND).date() if upper is not None else None
        files = stream_files(directory, first, last)
        return files if files else None

    def _window_arrow(self, directory: Path, start: datetime | None, end: datetime | None) -> pa.Table | None:
        """The window's rows from the read cache, filtered in Arrow (no SQL round trip).

        None when the stream has no row in the window's partitions or when the files' types
        need DuckDB's casts to be unified (the SQL path answers then).
        """
        if self._duck is None:
            raise ValidationError("store: expected an open store, got a closed one")
        lower = utc(start) if start is not None else None
        upper = utc(end) if end is not None else None
        if not directory.is_dir():
            return None
        with file_lock(directory / READ_LOCK, shared=True):
            files = self._window_files(directory, lower, upper)
            if files is None:
                return None
            try:
                table = self._files.read(files)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                return None
        if EVENT_TIME not in table.column_names or EVENT_ID not in table.column_names:
            return None
        times = table.column(EVENT_TIME)
        if not pa.types.is_timestamp(times.type):
            return None
        mask = None
        for bound, compare in ((lower, pc.greater_equal), (upper, pc.less)):
            if bound is not None:
                test = compare(times, pa.scalar(pd.Timestamp(bound).as_unit("us"), type=pa.timestamp("us", tz="UTC")))
                mask = test if mask is None else pc.and_(mask, test)
        return table if mask is None else table.filter(mask)

    def window(
        self,
        stream: str,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Events of ``stream`` with ``start <= event_time < end``, ordered by time then id.

        ``columns`` selects (and orders) the columns returned; an unknown stream or an empty
        window gives an empty frame with the requested columns.
        """
        directory = self._root / check_stream_name(stream)
        names = list(columns) if columns is not None else None
        fast = self._window_arrow(directory, start, end)
        if fast is not None and (names is None or set(names) <= set(fast.column_names)):
            ordered = fast.take(pc.sort_indices(fast, sort_keys=[(EVENT_TIME, "ascending"), (EVENT_ID, "ascending")]))
            return _to_frame(ordered if names is None else ordered.select(names))
        select = "*" if names is None else ", ".join(_sql_name(name) for name in names)
        table = self._select(directory, start, end, select, order="ORDER BY event_time, event_id")
        if table is None:
            return _empty(names if names is not None else [EVENT_ID, EVENT_TIME])
        return _to_frame(table)

    def count(self, stream: str, start: datetime | None = None, end: datetime | None = None) -> int:
        """Number of events of ``stream`` with ``start <= event_time < end``."""
        directory = self._root / check_stream_name(stream)
        fast = self._window_arrow(directory, start, end)
        if fast is not None:
            return int(fast.num_rows)
        table = self._select(directory, start, end, "count(*) AS n")
        return 0 if table is None else int(table.column(0)[0].as_py())

    def streams(self) -> list[str]:
        """Names of the streams that hold at least one event file."""
        names: list[str] = []
        for entry in sorted(os.scandir(self._root), key=lambda item: item.name):
            if entry.name.startswith(("_", ".")) or not entry.is_dir():
                continue
            if any(list_files(part) for part in list_partitions(Path(entry.path)).values()):
                names.append(entry.name)
        return names

    def dead_letters(self, stream: str | None = None) -> pd.DataFrame:
        """Stored dead letters (of ``stream`` only, when given), oldest first."""
        table = self._select(
            self._root / DEAD_LETTERS,
            None,
            None,
            ", ".join(_sql_name(name) for name in DEAD_LETTER_COLUMNS),
            time_column=_RECEIVED_AT,
            extra_where="stream = ?" if stream is not None else "",
            order=f"ORDER BY {_RECEIVED_AT}, {_LETTER_ID}",
            params=[stream] if stream is not None else (),
        )
        if table is None:
            return _empty(DEAD_LETTER_COLUMNS)
        return _to_frame(table)

    # -- lifetime --------------------------------------------------------------------------

    def close(self) -> None:
        """Release the DuckDB connection; the files stay."""
        with self._guard:
            if self._duck is not None:
                self._duck.close()
                self._duck = None
        self._files.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


__all__ = ["DEAD_LETTERS", "DEAD_LETTER_COLUMNS", "ParquetEventStore"]
