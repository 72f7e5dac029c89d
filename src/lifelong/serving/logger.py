"""Buffered prediction log: every answered row, with its request id and model version.

Rows are kept as the request's arrays (no per-request DataFrame) and turned into one frame per
set of columns when flushed (the rows of every version with the same inputs together), by a
background thread every ``flush_seconds`` or as soon as ``flush_rows`` are waiting. A failing
sink keeps the rows and is retried with backoff; only past ``max_buffer_rows`` are the oldest
rows dropped, counted in :attr:`PredictionLogger.dropped_rows` and reported in the log.

With ``wal_dir``, every chunk is also written to a write-ahead segment before the request is
answered (:mod:`lifelong.serving.wal`): a process killed with SIGKILL loses no logged row, and
the next logger on the same folder replays what the dead one had not stored yet.

Each row carries ``event_id`` (``"<request_id>:<row>"``, so a retried append is idempotent),
``event_time``, ``request_id``, ``model``, ``model_version``, every input column (renamed
``input_<name>`` if it collides with one of these), ``prediction`` and ``score``.

Examples
--------
>>> from datetime import datetime, timezone
>>> import numpy as np
>>> from lifelong.serving.model import PredictionResult
>>> from lifelong.testing.fakes import ListPredictionSink
>>> sink = ListPredictionSink()
>>> logger = PredictionLogger(sink)
>>> result = PredictionResult("m", "1.0", "r1", np.array([1]), np.array([[0.3, 0.7]]), (0, 1))
>>> logger.log(result, {"x": np.array([2.0])}, event_time=datetime(2024, 1, 1, tzinfo=timezone.utc))
>>> logger.close()
>>> sink.rows()[["event_id", "model_version", "x", "prediction", "score"]].to_dict("records")
[{'event_id': 'r1:0', 'model_version': '1.0', 'x': 2.0, 'prediction': 1, 'score': 0.7}]
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from lifelong.clock import Clock, SystemClock
from lifelong.errors import ConfigError, ValidationError
from lifelong.serving.logrows import (
    RESERVED_COLUMNS,
    EventTimes,
    LogChunk,
    as_event_times,
    group_chunks,
    log_frame,
)
from lifelong.serving.model import PredictionResult, PredictionSink
from lifelong.serving.wal import WriteAheadLog, encode_chunk

log = logging.getLogger(__name__)

_MAX_BACKOFF_SECONDS = 30.0
# Releases the interpreter and the core between appends: a waiting request thread runs first.
_yield = getattr(os, "sched_yield", None) or (lambda: time.sleep(0))
_DROP_REPORT_SECONDS = 10.0


def _positive_int(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name}: expected an integer >= 1, got {value!r}")
    return value


class PredictionLogger:
    """Buffer prediction rows and append them to a sink in the background.

    Parameters
    ----------
    sink
        Where rows go, e.g. the event store (``append(stream, frame)``, idempotent by event id).
    stream
        Stream name the rows are appended to.
    flush_rows
        Flush as soon as this many rows wait.
    flush_seconds
        Flush at least this often while rows wait.
    max_buffer_rows
        Hard cap on buffered rows while the sink fails; older rows beyond it are dropped and counted.
    clock
        Time of rows logged by :meth:`log_unserved` without an explicit time.
    wal_dir
        Folder of this stream's write-ahead segments (None: rows wait in memory only, and a
        killed process loses the ones not yet flushed). :meth:`start` replays the segments
        that dead processes left there.
    append_rows
        Rows per append to the sink, about (whole chunks; None: one append a flush for each
        set of columns: rows of several versions with the same inputs share one append). The
        flush thread yields the core between appends, so a large flush never holds a request
        thread for long.

    Examples
    --------
    >>> from lifelong.testing.fakes import ListPredictionSink
    >>> with PredictionLogger(ListPredictionSink(), flush_seconds=0.1) as logger:
    ...     logger.pending_rows
    0
    """

    def __init__(
        self,
        sink: PredictionSink,
        *,
        stream: str = "predictions",
        flush_rows: int = 1000,
        flush_seconds: float = 1.0,
        max_buffer_rows: int = 100_000,
        clock: Clock | None = None,
        wal_dir: Path | str | None = None,
        append_rows: int | None = None,
    ) -> None:
        if not isinstance(stream, str) or not stream:
            raise ConfigError(f"stream: expected a non-empty string, got {stream!r}")
        if (
            isinstance(flush_seconds, bool)
            or not isinstance(flush_seconds, (int, float))
            or not flush_seconds > 0
        ):
            raise ConfigError(
                f"flush_seconds: expected a number of seconds > 0, got {flush_seconds!r}"
            )
        self._sink = sink
        self._clock = clock or SystemClock()
        self._stream = stream
        self._flush_rows = _positive_int("flush_rows", flush_rows)
        self._max_rows = _positive_int("max_buffer_rows", max_buffer_rows)
        if self._max_rows < self._flush_rows:
            raise ConfigError(
                f"max_buffer_rows: expected at least flush_rows ({self._flush_rows}), got {max_buffer_rows!r}"
            )
        self._flush_seconds = float(flush_seconds)
        self._append_rows = None if append_rows is None else _positive_int("append_rows", append_rows)
        self._cond = threading.Condition(threading.Lock())
        self._flush_lock = threading.Lock()
        self._chunks: list[LogChunk] = []
        self._pending = 0
        self._closing = False
        self._thread: threading.Thread | None = None
        self._retry_at = 0.0
        self._failures_in_row = 0
        self._last_drop_report = float("-inf")
        self.dropped_rows = 0
        self.written_rows = 0
        self.failed_flushes = 0
        self.last_error: str | None = None
        self._wal = WriteAheadLog(wal_dir) if wal_dir is not None else None
        self.recovered_rows = 0
        self.wal_errors = 0

    @property
    def stream(self) -> str:
        """The stream rows are appended to."""
        return self._stream

    @property
    def pending_rows(self) -> int:
        """Rows waiting to be written."""
        return self._pending

    @property
    def running(self) -> bool:
        """Whether the background flush thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def log(
        self,
        result: PredictionResult,
        inputs: Mapping[str, NDArray[Any]],
        *,
        event_time: EventTimes,
    ) -> None:
        """Buffer the rows of one answered request; never raises because of the sink.

        ``event_time`` is one time for every row, or an array of ``datetime64`` per row.
        """
        self._add(
            LogChunk(
                result.model,
                result.version,
                result.request_id,
                inputs,
                result.labels,
                result.probabilities,
                event_time,
                len(result.labels),
            )
        )

    def log_batch(
        self,
        result: PredictionResult,
        inputs: Mapping[str, NDArray[Any]],
        *,
        event_time: EventTimes,
        request_ids: NDArray[np.object_],
        event_ids: NDArray[np.object_],
    ) -> None:
        """Buffer the rows of several requests answered together, one request id and event id a row.

        The rows stay one chunk (one write-ahead record, no per-request work), e.g. a batch of
        shadow copies.
        """
        rows = len(result.labels)
        if len(request_ids) != rows or len(event_ids) != rows:
            raise ValidationError(
                f"request_ids, event_ids: expected {rows} each, one per row, got "
                f"{len(request_ids)} and {len(event_ids)}",
                field="request_ids",
            )
        self._add(
            LogChunk(
                result.model,
                result.version,
                result.request_id,
                inputs,
                result.labels,
                result.probabilities,
                event_time,
                rows,
                request_ids,
                event_ids,
            )
        )

    def log_unserved(
        self,
        model: str,
        records: pd.DataFrame,
        *,
        request_id: str,
        event_times: Sequence[Any] | NDArray[Any] | pd.Series | None = None,
        event_time: datetime | None = None,
    ) -> None:
        """Log rows that no model answered (no champion yet): inputs kept, prediction null.

        Parameters
        ----------
        model
            The model that was asked.
        records
            One column per input.
        request_id
            Makes the event ids ``"<request_id>:<row>"``.
        event_times, event_time
            Per-row times, or one time for all rows (the current time when both are None).
        """
        if not isinstance(request_id, str) or not request_id:
            raise ValidationError(
                f"request_id: expected a non-empty string, got {request_id!r}", field="request_id"
            )
        rows = len(records)
        if rows == 0:
            return
        inputs = {str(name): records[name].to_numpy() for name in records.columns}
        when: EventTimes
        if event_times is not None:
            when = as_event_times(event_times, rows)
        else:
            when = event_time if event_time is not None else self._clock.now()
        self._add(LogChunk(model, None, request_id, inputs, None, None, when, rows))

    def _add(self, chunk: LogChunk) -> None:
        record = encode_chunk(chunk) if self._wal is not None else b""
        with self._cond:
            if self._wal is not None:
                self._write_ahead(self._wal, record)
            self._chunks.append(chunk)
            self._pending += chunk.rows
            if self._pending > self._max_rows:
                self._drop_oldest()
            full = self._pending >= self._flush_rows
            if full and self._thread is not None:
                self._cond.notify()
        if full and self._thread is None and time.monotonic() >= self._retry_at:
            self._flush_quietly()

    def _write_ahead(self, wal: WriteAheadLog, record: bytes) -> None:
        """Write ``record`` to the segment (lock held); a failure is counted, never raised."""
        try:
            wal.open()
            wal.append(record)
        except OSError as exc:
            self.wal_errors += 1
            self.last_error = f"write-ahead log: {type(exc).__name__}: {exc}"
            now = time.monotonic()
            if now - self._last_drop_report >= _DROP_REPORT_SECONDS:
                self._last_drop_report = now
                log.error(
                    "prediction log: the write-ahead segment could not be written (%s); "
                    "%d rows held in memory only so far",
                    exc,
                    self.wal_errors,
                )

    def _sync_quietly(self, wal: WriteAheadLog) -> None:
        try:
            wal.sync()
        except OSError as exc:
            self.wal_errors += 1
            log.error("prediction log: the write-ahead segments could not be synced: %s", exc)

    def replay(self) -> int:
        """Store the rows of write-ahead segments that no live process holds; return how many.

        A segment whose rows cannot be stored stays for the next try (the error is logged).
        """
        if self._wal is None:
            return 0
        recovered = 0
        for path, chunks in self._wal.orphans():
            try:
                for group in group_chunks(chunks):
                    self._sink.append(self._stream, log_frame(group))
            except Exception as exc:  # noqa: BLE001 - the segment stays for the next start
                log.error("prediction log: replay of %s failed, kept for the next start: %s", path, exc)
                continue
            rows = sum(chunk.rows for chunk in chunks)
            recovered += rows
            path.unlink(missing_ok=True)
            log.info("prediction log: replayed %d rows from %s", rows, path.name)
        self.recovered_rows += recovered
        return recovered

    def flush(self) -> int:
        """Write every buffered row now; return how many. A sink error is raised, rows are kept."""
        written = self._flush()
        return written

    def start(self) -> Self:
        """Start the background flush thread."""
        with self._cond:
            if self._thread is not None and self._thread.is_alive():
                return self
        self.replay()
        with self._cond:
            if self._wal is not None:
                self._wal.open()
            self._closing = False
            self._thread = threading.Thread(
                target=self._run, name="lifelong-prediction-log", daemon=True
            )
            self._thread.start()
        return self

    def close(self, timeout: float = 10.0) -> None:
        """Stop the thread and drain the buffer; a sink error is raised with the rows kept."""
        with self._cond:
            self._closing = True
            thread, self._thread = self._thread, None
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout)
        if self._pending:
            try:
                self._flush()
            except Exception as exc:
                log.error(
                    "prediction log: %d rows could not be written on close: %s", self._pending, exc
                )
                if self._wal is not None:
                    self._wal.close(keep=True)  # replayed by the next start
                raise
        if self._wal is not None:
            with self._cond:
                self._wal.close(keep=bool(self._chunks))

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                deadline = time.monotonic() + self._flush_seconds
                while not self._closing and self._pending < self._flush_rows:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                if self._closing:
                    return
            if not self._pending:
                continue
            if not self._flush_quietly():
                with self._cond:
                    delay = max(self._retry_at - time.monotonic(), 0.0)
                    self._cond.wait_for(lambda: self._closing, timeout=delay)

    def _flush_quietly(self) -> bool:
        try:
            self._flush()
        except Exception:  # noqa: BLE001 - already logged by _flush; the rows stay buffered
            return False
        return True

    def _flush(self) -> int:
        with self._flush_lock:
            with self._cond:
                chunks, self._chunks = self._chunks, []
                if chunks and self._wal is not None:
                    self._wal.rotate()  # the taken chunks are all in the rotated segments
            if not chunks:
                return 0
            pending = [piece for group in group_chunks(chunks) for piece in self._pieces(group)]
            written = 0
            try:
                while pending:
                    group = pending[0]
                    self._sink.append(self._stream, log_frame(group))
                    rows = sum(chunk.rows for chunk in group)
                    written += rows
                    pending.pop(0)
                    with self._cond:
                        self._pending -= rows
                    if pending:
                        _yield()
            except Exception as exc:
                unsent = [chunk for group in pending for chunk in group]
                with self._cond:
                    self._chunks = unsent + self._chunks
                    self._drop_oldest()
                if self._wal is not None:
                    self._sync_quietly(self._wal)
                self.failed_flushes += 1
                self._failures_in_row += 1
                delay = min(self._flush_seconds * 2.0**self._failures_in_row, _MAX_BACKOFF_SECONDS)
                self._retry_at = time.monotonic() + delay
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "prediction log: append to %r failed (%s); %d rows kept, retry in %.1f s",
                    self._stream,
                    self.last_error,
                    self._pending,
                    delay,
                )
                raise
            finally:
                self.written_rows += written
            if self._wal is not None:
                self._wal.release()
            self._failures_in_row = 0
            self._retry_at = 0.0
            return written

    def _pieces(self, group: list[LogChunk]) -> list[list[LogChunk]]:
        """``group`` cut into runs of whole chunks of about ``append_rows`` rows each."""
        if self._append_rows is None:
            return [group]
        pieces: list[list[LogChunk]] = [[]]
        rows = 0
        for chunk in group:
            if rows and rows + chunk.rows > self._append_rows:
                pieces.append([])
                rows = 0
            pieces[-1].append(chunk)
            rows += chunk.rows
        return pieces

    def _drop_oldest(self) -> None:
        """Drop the oldest chunks while over the cap (called with the lock held)."""
        dropped = 0
        while self._pending > self._max_rows and self._chunks:
            chunk = self._chunks.pop(0)
            self._pending -= chunk.rows
            dropped += chunk.rows
        if not dropped:
            return
        self.dropped_rows += dropped
        now = time.monotonic()
        if now - self._last_drop_report >= _DROP_REPORT_SECONDS:
            self._last_drop_report = now
            log.error(
                "prediction log: buffer over max_buffer_rows=%d while the sink fails; dropped %d rows "
                "(%d in total, last error: %s)",
                self._max_rows,
                dropped,
                self.dropped_rows,
                self.last_error,
            )


__all__ = ["RESERVED_COLUMNS", "PredictionLogger"]
