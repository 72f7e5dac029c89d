"""On-disk layout of the Parquet event store: time partitions, listings, locks, atomic files.

Each stream is a folder of hive-style time partitions of one period: a day, a month or a year
of ``event_time`` (UTC)::

    root/<stream>/date=YYYY-MM-DD/part-<uuid>.parquet     (day)
    root/<stream>/month=YYYY-MM/part-<uuid>.parquet       (month)
    root/<stream>/year=YYYY/part-<uuid>.parquet           (year)
    root/<stream>/.write.lock      exclusive while appending or compacting
    root/<stream>/.read.lock       shared while reading, exclusive while files are deleted

Files are written under a ``.tmp`` name and renamed, so a listing never shows a half file.
Compaction writes a journal (``_compact.json``: the merged file and the files it replaces)
before renaming the merged file into place; a listing that finds a journal whose merged file
exists leaves the replaced files out, so a crash in the middle never shows a row twice.

The period suits the stream's event rate (:func:`choose_period`): a stream with one event a
day would otherwise write one file per event. A stream keeps the period of the partitions it
already has (:func:`stream_period`), so stores written with daily partitions read and grow as
before.

Examples
--------
>>> from datetime import date
>>> partition_name(date(2024, 1, 31))
'date=2024-01-31'
>>> partition_name(date(2024, 1, 31), "month"), partition_name(date(2024, 1, 31), "year")
('month=2024-01', 'year=2024')
>>> partition_day("date=2024-01-31")
datetime.date(2024, 1, 31)
>>> partition_span("month=2024-02")
(datetime.date(2024, 2, 1), datetime.date(2024, 2, 29))
>>> partition_day("date=oops") is None, partition_span("year=24") is None
(True, True)
"""

from __future__ import annotations

import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

PART_PREFIX = "part-"
PART_SUFFIX = ".parquet"
TMP_SUFFIX = ".tmp"
JOURNAL = "_compact.json"
WRITE_LOCK = ".write.lock"
READ_LOCK = ".read.lock"

Period = Literal["day", "month", "year"]
PERIODS: tuple[Period, ...] = ("day", "month", "year")
_PREFIX: dict[Period, str] = {"day": "date=", "month": "month=", "year": "year="}
_UNIT: dict[Period, str] = {"day": "D", "month": "M", "year": "Y"}
_DAYS: dict[Period, float] = {"day": 1.0, "month": 30.44, "year": 365.25}
ROWS_PER_FILE = 100  # a coarser period is chosen while an append would write fewer rows per file


def partition_name(day: date, period: Period = "day") -> str:
    """Folder name of the ``period`` partition holding the events of ``day`` (UTC)."""
    if period == "month":
        return f"month={day.year:04d}-{day.month:02d}"
    if period == "year":
        return f"year={day.year:04d}"
    return f"date={day.isoformat()}"


def _period_of(name: str) -> Period | None:
    for period, prefix in _PREFIX.items():
        if name.startswith(prefix):
            return period
    return None


def partition_span(name: str) -> tuple[date, date] | None:
    """First and last day of a partition folder name, or None when ``name`` is not one."""
    period = _period_of(name)
    if period is None:
        return None
    text = name[len(_PREFIX[period]) :]
    try:
        if period == "day":
            day = date.fromisoformat(text)
            return day, day
        if period == "month":
            if len(text) != 7 or text[4] != "-":
                return None
            first = date(int(text[:4]), int(text[5:]), 1)
            following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
            return first, following - timedelta(days=1)
        if len(text) != 4 or not text.isdigit():
            return None
        return date(int(text), 1, 1), date(int(text), 12, 31)
    except ValueError:
        return None


def partition_day(name: str) -> date | None:
    """The last day a partition folder name covers (its day, for daily ones), or None."""
    span = partition_span(name)
    return None if span is None else span[1]


def choose_period(days: np.ndarray) -> Period:
    """The period for a stream whose first append holds events of ``days`` (``datetime64[D]``).

    The finest period at which the append's rate of events fills a file with
    ``ROWS_PER_FILE`` rows. Daily partitions unless the append is large enough to measure a
    rate (``ROWS_PER_FILE`` rows or more, over more than one day): a stream fed a few events
    at a time keeps them.

    Examples
    --------
    >>> hourly = np.arange(0, 250, dtype="int64").astype("datetime64[h]").astype("datetime64[D]")
    >>> daily = np.arange(0, 250, dtype="int64").astype("datetime64[D]")
    >>> choose_period(hourly), choose_period(daily), choose_period(daily[:1])
    ('month', 'year', 'day')
    """
    if len(days) < ROWS_PER_FILE:
        return "day"
    span = int((days.max() - days.min()).astype("int64")) + 1
    if span <= 1:
        return "day"
    rate = len(days) / span
    for period in PERIODS:
        if rate * _DAYS[period] >= ROWS_PER_FILE:
            return period
    return "year"


def partition_starts(days: np.ndarray, period: Period) -> np.ndarray:
    """The first day of the ``period`` partition of each of ``days`` (``datetime64[D]``)."""
    return days.astype(f"datetime64[{_UNIT[period]}]").astype("datetime64[D]")


def stream_period(stream_dir: Path) -> Period | None:
    """The period of the partitions a stream already has (the first one found), or None."""
    try:
        entries = list(os.scandir(stream_dir))
    except FileNotFoundError:
        return None
    for entry in entries:
        period = _period_of(entry.name)
        if period is not None and partition_span(entry.name) is not None and entry.is_dir():
            return period
    return None


def _is_part(name: str) -> bool:
    return name.startswith(PART_PREFIX) and name.endswith(PART_SUFFIX)


def list_partitions(stream_dir: Path) -> dict[date, Path]:
    """Partition folders of a stream by the last day each covers; empty when the stream does not exist."""
    try:
        entries = list(os.scandir(stream_dir))
    except FileNotFoundError:
        return {}
    partitions: dict[date, Path] = {}
    for entry in entries:
        day = partition_day(entry.name)
        if day is not None and entry.is_dir():
            partitions[day] = Path(entry.path)
    return partitions


def read_journal(partition: Path) -> tuple[str, frozenset[str]] | None:
    """The merged file and the files it replaces, when a compaction journal is present."""
    try:
        content = json.loads((partition / JOURNAL).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return str(content["merged"]), frozenset(str(name) for name in content["replaced"])


def _visible_names(partition: Path | str) -> list[str]:
    names: set[str] = set()
    journal = False
    try:
        entries = list(os.scandir(partition))
    except FileNotFoundError:
        return []
    for entry in entries:
        if entry.name == JOURNAL:
            journal = True
        elif _is_part(entry.name):
            names.add(entry.name)
    if journal:
        pending = read_journal(Path(partition))
        if pending is not None and pending[0] in names:
            names -= pending[1]
    return sorted(names)


def list_files(partition: Path) -> list[Path]:
    """Visible data files of one partition, in name order (temporary files never show)."""
    return [partition / name for name in _visible_names(partition)]


def stream_paths(stream_dir: Path) -> set[str]:
    """Paths of every visible data file of a stream, as strings (cheap, for cache keys)."""
    paths: set[str] = set()
    for partition in list_partitions(stream_dir).values():
        folder = str(partition)
        paths.update(os.path.join(folder, name) for name in _visible_names(folder))
    return paths


def stream_files(
    stream_dir: Path, first: date | None = None, last: date | None = None
) -> list[Path]:
    """Data files of a stream whose partition overlaps the days ``[first, last]`` (None: open)."""
    try:
        entries = list(os.scandir(stream_dir))
    except FileNotFoundError:
        return []
    low = partition_name(first) if first is not None else None
    high = partition_name(last) if last is not None else None
    selected: list[tuple[date, str]] = []
    for entry in entries:
        name = entry.name
        if name.startswith("date="):  # ISO dates sort as text: compare names before parsing any
            if (low is not None and name < low) or (high is not None and name > high):
                continue
        span = partition_span(name)
        if span is None or (first is not None and span[1] < first) or (last is not None and span[0] > last):
            continue
        if entry.is_dir():
            selected.append((span[0], entry.path))
    files: list[Path] = []
    for _, folder in sorted(selected):
        files.extend(Path(folder, name) for name in _visible_names(folder))
    return files


@contextmanager
def file_lock(path: Path, *, shared: bool = False) -> Iterator[None]:
    """Hold an ``flock`` on ``path`` (created if needed); works across threads and processes."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _fsync_file(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def dictionary_columns(table: pa.Table, id_column: str | None) -> list[str]:
    """Columns worth dictionary encoding: all but the id column and floating-point ones.

    Ids never repeat within a file and measurements rarely do: encoding them builds a
    dictionary as large as the column, and took more than half the time of writing a file of
    prediction-log rows.

    >>> dictionary_columns(pa.table({"event_id": ["a"], "country": ["fr"], "x": [0.5], "n": [1]}), "event_id")
    ['country', 'n']
    """
    return [field.name for field in table.schema if field.name != id_column and not pa.types.is_floating(field.type)]


_UTC_NAMES = frozenset({"Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu"})


def utc_named(table: pa.Table) -> pa.Table:
    """``table`` with every UTC timestamp column's time zone named ``UTC``.

    The same instants under another name of UTC (DuckDB writes ``Etc/UTC``) would make files
    of one stream impossible to concatenate without casts.

    Examples
    --------
    >>> table = pa.table({"t": pa.array([0], pa.timestamp("us", tz="Etc/UTC"))})
    >>> utc_named(table).schema.field("t").type
    TimestampType(timestamp[us, tz=UTC])
    """
    fields = [
        field.with_type(pa.timestamp(field.type.unit, tz="UTC"))
        if pa.types.is_timestamp(field.type) and field.type.tz in _UTC_NAMES
        else field
        for field in table.schema
    ]
    if all(field is original for field, original in zip(fields, table.schema, strict=True)):
        return table
    return table.cast(pa.schema(fields, metadata=table.schema.metadata))


def write_temporary(
    table: pa.Table, partition: Path, *, fsync: bool, id_column: str | None = None
) -> tuple[Path, Path]:
    """Write ``table`` under a temporary name; return it and the final name to publish it as.

    ``id_column`` (unique values) is left out of dictionary encoding (:func:`dictionary_columns`);
    time zones that are another name of UTC are written as ``UTC`` (:func:`utc_named`).
    """
    table = utc_named(table)
    partition.mkdir(parents=True, exist_ok=True)
    final = partition / f"{PART_PREFIX}{uuid.uuid4().hex}{PART_SUFFIX}"
    temporary = final.with_name(final.name + TMP_SUFFIX)
    try:
        pq.write_table(table, temporary, use_dictionary=dictionary_columns(table, id_column))
        if fsync:
            _fsync_file(temporary)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary, final


def write_part(table: pa.Table, partition: Path, *, fsync: bool, id_column: str | None = None) -> Path:
    """Write ``table`` as a new data file of ``partition``: temporary name, then rename."""
    temporary, final = write_temporary(table, partition, fsync=fsync, id_column=id_column)
    os.replace(temporary, final)
    return final


def write_journal(partition: Path, merged: str, replaced: list[str], *, fsync: bool) -> None:
    """Record, atomically, that ``merged`` replaces ``replaced`` in ``partition``."""
    target = partition / JOURNAL
    temporary = target.with_name(target.name + TMP_SUFFIX)
    temporary.write_text(json.dumps({"merged": merged, "replaced": replaced}), encoding="utf-8")
    if fsync:
        _fsync_file(temporary)
    os.replace(temporary, target)


def finish_compaction(partition: Path) -> None:
    """Complete (or abandon) an interrupted compaction and remove leftover temporary files.

    Call only while holding the stream's write lock and, exclusively, its read lock.
    """
    pending = read_journal(partition)
    if pending is not None:
        merged, replaced = pending
        if (partition / merged).exists():
            for name in replaced:
                (partition / name).unlink(missing_ok=True)
        (partition / JOURNAL).unlink()
    for entry in os.scandir(partition):
        if entry.name.endswith(TMP_SUFFIX):
            os.unlink(entry.path)


__all__ = [
    "PERIODS",
    "ROWS_PER_FILE",
    "Period",
    "choose_period",
    "dictionary_columns",
    "file_lock",
    "finish_compaction",
    "list_files",
    "list_partitions",
    "partition_day",
    "partition_name",
    "partition_span",
    "partition_starts",
    "read_journal",
    "stream_files",
    "stream_paths",
    "stream_period",
    "utc_named",
    "write_journal",
    "write_part",
    "write_temporary",
]
