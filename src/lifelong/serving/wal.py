"""Write-ahead file of the prediction log: a row is on disk before its answer is sent.

:class:`PredictionLogger` keeps rows in memory and appends them to the event store in
batches. With a :class:`WriteAheadLog`, every buffered chunk is first written to the current
segment file (one ``write()`` of one JSON line, no fsync on the request path), so a process
killed with SIGKILL loses none of them: the kernel holds what was written. Each flush starts
a new segment; the old one is deleted once every row in it is in the event store (which
fsyncs its files), or fsynced when the store fails, so the rows wait on disk until it works
again. A machine crash (power loss) can still lose the rows of the last flush interval.

A new logger replays the segments no live process holds (each writer keeps an exclusive
``flock`` on its segments, released by the kernel when it dies) into the event store before
it serves: appends are idempotent by event id, so rows written both to the store and to a
segment are stored once.

Examples
--------
>>> import tempfile
>>> from datetime import datetime, timezone
>>> import numpy as np
>>> from lifelong.serving.logrows import LogChunk
>>> wal = WriteAheadLog(tempfile.mkdtemp())
>>> wal.open()
>>> chunk = LogChunk("m", "1.0", "r1", {"x": np.array([2.0])}, np.array([1]),
...                  np.array([[0.3, 0.7]]), datetime(2024, 1, 1, tzinfo=timezone.utc), 1)
>>> wal.append(encode_chunk(chunk))
>>> decoded = decode_chunk(wal.segment.read_bytes())
>>> decoded.request_id, decoded.inputs["x"].tolist(), decoded.probabilities.tolist()
('r1', [2.0], [[0.3, 0.7]])
>>> wal.close(keep=False)
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray

from lifelong.errors import LifelongError
from lifelong.serving.logrows import LogChunk, epoch_micros

log = logging.getLogger(__name__)

_SUFFIX = ".wal"
_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE


class WalError(LifelongError):
    """A write-ahead segment could not be written or read."""


def _plain(value: Any) -> Any:
    """orjson's fallback: arrays it does not serialise natively (objects, views) as lists."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to the write-ahead log")


def _array(value: NDArray[Any]) -> list[Any]:
    return [value.dtype.str, value]


def encode_chunk(chunk: LogChunk) -> bytes:
    """One JSON line holding everything :func:`decode_chunk` needs to rebuild ``chunk``."""
    if isinstance(chunk.event_time, datetime):
        times: Any = epoch_micros(chunk.event_time)
    else:
        times = chunk.event_time.astype("datetime64[us]").view(np.int64)
    record: dict[str, Any] = {
        "m": chunk.model,
        "v": chunk.version,
        "r": chunk.request_id,
        "n": chunk.rows,
        "t": times,
        "i": [[name, *_array(values)] for name, values in chunk.inputs.items()],
        "l": None if chunk.labels is None else _array(chunk.labels),
        "p": chunk.probabilities,
    }
    if chunk.event_ids is not None and chunk.request_ids is not None:
        record["e"] = chunk.event_ids
        record["q"] = chunk.request_ids
    return orjson.dumps(record, default=_plain, option=_OPTIONS)


def _from_list(dtype: str, values: list[Any]) -> NDArray[Any]:
    kind = np.dtype(dtype)
    if kind.kind == "f":  # NaN is written as null
        return np.array([np.nan if v is None else v for v in values], dtype=kind)
    return np.array(values, dtype=kind)


def decode_chunk(line: bytes) -> LogChunk:
    """The chunk :func:`encode_chunk` wrote; a :class:`WalError` names what is wrong."""
    try:
        record = orjson.loads(line)
        rows = int(record["n"])
        times = record["t"]
        if isinstance(times, int):
            when: Any = np.full(rows, times, dtype=np.int64).view("datetime64[us]")
        else:
            when = np.asarray(times, dtype=np.int64).view("datetime64[us]")
        inputs = {name: _from_list(dtype, values) for name, dtype, values in record["i"]}
        labels = None if record["l"] is None else _from_list(*record["l"])
        proba = None if record["p"] is None else np.asarray(record["p"], dtype=np.float64)
        event_ids = request_ids = None
        if "e" in record:
            event_ids = np.array(record["e"], dtype=object)
            request_ids = np.array(record["q"], dtype=object)
        return LogChunk(
            record["m"], record["v"], record["r"], inputs, labels, proba, when, rows,
            request_ids, event_ids,
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise WalError(f"write-ahead record: expected a prediction-log chunk, got {exc}") from exc


class WriteAheadLog:
    """Segment files of one prediction-log stream in ``directory``.

    Parameters
    ----------
    directory
        Folder of this stream's segments (created if missing); several processes may share it.
    """

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self._fd: int | None = None
        self._path: Path | None = None
        self._closed: list[tuple[Path, int]] = []
        self._unsynced = False

    @property
    def segment(self) -> Path:
        """The segment being written."""
        if self._path is None:
            raise WalError("write-ahead log: not open")
        return self._path

    def open(self) -> None:
        """Start a new segment (idempotent while open)."""
        if self._fd is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._path, self._fd = self._new_segment()

    def _new_segment(self) -> tuple[Path, int]:
        path = self.directory / f"{time.time_ns():020d}-{os.getpid()}{_SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return path, fd

    def append(self, data: bytes) -> None:
        """Write one record (one ``write()``; the caller serialises calls)."""
        if self._fd is None:
            raise WalError("write-ahead log: not open")
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._unsynced = True

    def sync(self) -> None:
        """fsync the rotated segments, and the one being written if it changed since."""
        for _, fd in self._closed:
            os.fsync(fd)
        if self._fd is not None and self._unsynced:
            self._unsynced = False
            os.fsync(self._fd)

    def rotate(self) -> None:
        """Start a new segment; the previous one waits for :meth:`release`."""
        if self._fd is None or self._path is None:
            return
        self._closed.append((self._path, self._fd))
        self._path, self._fd = self._new_segment()

    def release(self) -> None:
        """Delete the rotated segments: every row in them is stored (or counted as dropped)."""
        closed, self._closed = self._closed, []
        for path, fd in closed:
            path.unlink(missing_ok=True)
            os.close(fd)

    def close(self, *, keep: bool) -> None:
        """Close every segment; delete them unless ``keep`` (rows not yet stored)."""
        if self._fd is not None and self._path is not None:
            self._closed.append((self._path, self._fd))
            self._fd = self._path = None
        if keep:
            for _, fd in self._closed:
                os.fsync(fd)
                os.close(fd)
            self._closed = []
        else:
            self.release()

    def orphans(self) -> Iterator[tuple[Path, list[LogChunk]]]:
        """Segments no live process holds, each with its chunks (a torn last line is skipped).

        Each segment stays locked while the caller handles it; the caller deletes it once its
        rows are stored.
        """
        if not self.directory.is_dir():
            return
        for path in sorted(self.directory.glob(f"*{_SUFFIX}")):
            if self._path == path or any(path == closed for closed, _ in self._closed):
                continue
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live process writes it
                yield path, _read_chunks(path)
            finally:
                os.close(fd)


def _read_chunks(path: Path) -> list[LogChunk]:
    chunks: list[LogChunk] = []
    lines = path.read_bytes().split(b"\n")
    for number, line in enumerate(lines):
        if not line:
            continue
        try:
            chunks.append(decode_chunk(line))
        except WalError as exc:
            where = "its last line (torn)" if number >= len(lines) - 2 else f"line {number + 1}"
            log.error("prediction log: %s: skipping %s: %s", path, where, exc)
    return chunks


__all__ = ["WalError", "WriteAheadLog", "decode_chunk", "encode_chunk"]
