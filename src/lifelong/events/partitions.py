"""On-disk layout of the Parquet event store: date partitions, listings, locks, atomic files.

Each stream is a folder of hive-style date partitions::

    root/<stream>/date=YYYY-MM-DD/part-<uuid>.parquet
    root/<stream>/.write.lock      exclusive while appending or compacting
    root/<stream>/.read.lock       shared while reading, exclusive while files are deleted

Files are written under a ``.tmp`` name and renamed, so a listing never shows a half file.
Compaction writes a journal (``_compact.json``: the merged file and the files it replaces)
before renaming the merged file into place; a listing that finds a journal whose merged file
exists leaves the replaced files out, so a crash in the middle never shows a row twice.

Examples
--------
>>> from datetime import date
>>> partition_name(date(2024, 1, 31))
'date=2024-01-31'
>>> partition_day("date=2024-01-31")
datetime.date(2024, 1, 31)
>>> partition_day("date=oops") is None
True
"""

from __future__ import annotations

import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

PART_PREFIX = "part-"
PART_SUFFIX = ".parquet"
TMP_SUFFIX = ".tmp"
JOURNAL = "_compact.json"
WRITE_LOCK = ".write.lock"
READ_LOCK = ".read.lock"


def partition_name(day: date) -> str:
    """Folder name of the partition holding the events of ``day`` (UTC)."""
    return f"date={day.isoformat()}"


def partition_day(name: str) -> date | None:
    """The day of a partition folder name, or None when ``name`` is not one."""
    if not name.startswith("date="):
        return None
    try:
        return date.fromisoformat(name[5:])
    except ValueError:
        return None


def _is_part(name: str) -> bool:
    return name.startswith(PART_PREFIX) and name.endswith(PART_SUFFIX)


def list_partitions(stream_dir: Path) -> dict[date, Path]:
    """Partition folders of a stream by day; empty when the stream does not exist."""
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
    """Data files of a stream whose partition day lies in ``[first, last]`` (None: open)."""
    try:
        entries = list(os.scandir(stream_dir))
    except FileNotFoundError:
        return []
    low = partition_name(first) if first is not None else None
    high = partition_name(last) if last is not None else None
    selected: list[tuple[date, str]] = []
    for entry in entries:  # ISO dates sort as text: compare names before parsing any
        name = entry.name
        if (low is not None and name < low) or (high is not None and name > high):
            continue
        day = partition_day(name)
        if day is not None and entry.is_dir():
            selected.append((day, entry.path))
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


def write_temporary(table: pa.Table, partition: Path, *, fsync: bool) -> tuple[Path, Path]:
    """Write ``table`` under a temporary name; return it and the final name to publish it as."""
    partition.mkdir(parents=True, exist_ok=True)
    final = partition / f"{PART_PREFIX}{uuid.uuid4().hex}{PART_SUFFIX}"
    temporary = final.with_name(final.name + TMP_SUFFIX)
    try:
        pq.write_table(table, temporary)
        if fsync:
            _fsync_file(temporary)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary, final


def write_part(table: pa.Table, partition: Path, *, fsync: bool) -> Path:
    """Write ``table`` as a new data file of ``partition``: temporary name, then rename."""
    temporary, final = write_temporary(table, partition, fsync=fsync)
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
    "file_lock",
    "finish_compaction",
    "list_files",
    "list_partitions",
    "partition_day",
    "partition_name",
    "read_journal",
    "stream_files",
    "stream_paths",
    "write_journal",
    "write_part",
    "write_temporary",
]
