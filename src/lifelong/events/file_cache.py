"""Read cache of the Parquet event store: the Arrow tables of data files already read.

A data file of the store never changes once visible: it is written under a fresh
``part-<uuid>.parquet`` name and renamed into place, and compaction publishes a *new* file
and deletes the old ones. So a file's path identifies its content, and a table read once can
answer every later query that lists the same path, without stale reads. Windows that slide
forward (the orchestrator's training and held-out windows, a replay's queries) then read only
the files written since the last query instead of rescanning every partition of the window.

The cache is bounded by the bytes of the tables it holds (least recently used first out).

Examples
--------
>>> import tempfile, pathlib
>>> import pyarrow as pa, pyarrow.parquet as pq
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> pq.write_table(pa.table({"x": [1, 2]}), folder / "part-a.parquet")
>>> pq.write_table(pa.table({"x": [3], "y": ["z"]}), folder / "part-b.parquet")
>>> cache = FileCache(max_bytes=1 << 20)
>>> table = cache.read([folder / "part-a.parquet", folder / "part-b.parquet"])
>>> table.to_pydict(), cache.stats()["misses"]
({'x': [1, 2, 3], 'y': [None, None, 'z']}, 2)
>>> _ = cache.read([folder / "part-b.parquet"]); cache.stats()["hits"]
1
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from lifelong.errors import ConfigError

DEFAULT_MAX_BYTES = 256 * 1024 * 1024


class FileCache:
    """Arrow tables of immutable data files by path, least recently used evicted first.

    Parameters
    ----------
    max_bytes
        Upper bound of the bytes of the cached tables (``pa.Table.nbytes``); a single table
        larger than this is returned but not kept.
    """

    def __init__(self, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
            raise ConfigError(f"max_bytes: expected an integer >= 0, got {max_bytes!r}")
        self._max_bytes = max_bytes
        self._tables: OrderedDict[str, pa.Table] = OrderedDict()
        self._bytes = 0
        self._hits = 0
        self._misses = 0
        self._lock = threading.Lock()

    def tables(self, files: Sequence[Path]) -> list[pa.Table]:
        """The table of each file, in order; files not cached are read (and kept when they fit)."""
        found: list[pa.Table | None] = []
        with self._lock:
            for path in files:
                table = self._tables.get(str(path))
                if table is not None:
                    self._tables.move_to_end(str(path))
                found.append(table)
        result: list[pa.Table] = []
        fresh: list[tuple[str, pa.Table]] = []
        for path, table in zip(files, found, strict=True):
            if table is None:
                table = pq.read_table(path, partitioning=None)
                fresh.append((str(path), table))
            result.append(table)
        with self._lock:
            self._hits += len(files) - len(fresh)
            self._misses += len(fresh)
            for key, table in fresh:
                self._keep(key, table)
        return result

    def read(self, files: Sequence[Path]) -> pa.Table:
        """The rows of ``files`` as one table, columns unified by name (missing ones null).

        Raises ``pyarrow.ArrowInvalid`` or ``pyarrow.ArrowTypeError`` when the files' types of
        a column cannot be unified; callers fall back to a reader that casts.
        """
        tables = self.tables(files)
        if len(tables) == 1:
            return tables[0]
        return pa.concat_tables(tables, promote_options="permissive")

    def _keep(self, key: str, table: pa.Table) -> None:
        size = table.nbytes
        if key in self._tables or size > self._max_bytes:
            return
        self._tables[key] = table
        self._bytes += size
        while self._bytes > self._max_bytes and self._tables:
            _, evicted = self._tables.popitem(last=False)
            self._bytes -= evicted.nbytes

    def put(self, path: Path, table: pa.Table) -> None:
        """Keep ``table`` as the content of the file just written at ``path``."""
        with self._lock:
            self._keep(str(path), table)

    def forget(self, files: Sequence[Path]) -> None:
        """Drop the tables of ``files`` (deleted by a compaction, say)."""
        with self._lock:
            for path in files:
                table = self._tables.pop(str(path), None)
                if table is not None:
                    self._bytes -= table.nbytes

    def clear(self) -> None:
        """Forget every cached table."""
        with self._lock:
            self._tables.clear()
            self._bytes = 0

    def stats(self) -> dict[str, int]:
        """Files held, their bytes, and the hits and misses so far."""
        with self._lock:
            return {"files": len(self._tables), "bytes": self._bytes, "hits": self._hits, "misses": self._misses}


__all__ = ["DEFAULT_MAX_BYTES", "FileCache"]
