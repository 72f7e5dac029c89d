"""``lifelong ingest``: the long-running source → event store process.

One thread polls the source and validates (decodes) its batches; a writer thread appends each
batch to the event store (fsync and rename before it returns) and stores its dead letters;
only then does the writer commit the batch's position (Kafka offsets, Redis XACK, the
checkpoint file), in the order read, right away: a position never waits for the next poll
(librdkafka and redis-py clients may be called from several threads). Between them sits a
bounded queue of ``max_in_flight`` batches: when the store falls behind, the reader blocks on
the queue and stops polling the source (backpressure), so memory stays bounded whatever the
backlog. The writer stores the batches waiting in the queue together (one file per day and
one fsync for all of them: a group commit).

On :meth:`IngestProcess.stop` (SIGTERM, SIGINT) the reader stops polling, the writer stores
and commits every batch already read, and the source is closed. After a ``kill -9`` nothing
is lost either: uncommitted batches are read again and the store drops them by event id.

Examples
--------
>>> IngestOptions(max_in_flight=0)
Traceback (most recent call last):
...
lifelong.errors.ConfigError: --max-in-flight: expected an integer >= 1, got 0
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lifelong.errors import ConfigError
from lifelong.events import Batch
from lifelong.ingest import STREAM, BrokerSource, IngestTarget, _screen, commit_batch, open_source, start_position, store_events
from lifelong.sources import Source
from lifelong.sources.metrics import IngestMetrics

if TYPE_CHECKING:
    from lifelong.runtime import Pipeline

log = logging.getLogger("lifelong.ingest")
_TICK = 0.05
_FLAGS_EVERY = 30.0  # seconds between refreshes of the flagged-source gauges (they read the store)


@dataclass(frozen=True)
class IngestOptions:
    """How the ingest process runs.

    Attributes
    ----------
    follow
        Keep polling once the source is caught up (False: stop there, as ``--once``).
    max_in_flight
        Batches queued for the store at most; the source is not polled beyond that (a Kafka or
        Redis source also decodes up to two batches ahead, and the writer holds the group it
        is storing). The writer stores whatever is queued in one group, so a deeper queue means
        fewer fsyncs per event when the store is the slower side.
    poll
        Seconds between polls of a caught-up file or SQL source (brokers wait on their own).
    metrics_port
        Serve Prometheus metrics on this port (0: any free port; None: not at all).
    metrics_host
        Address the metrics server binds to.
    """

    follow: bool = True
    max_in_flight: int = 16
    poll: float = 1.0
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        if isinstance(self.max_in_flight, bool) or not isinstance(self.max_in_flight, int) or self.max_in_flight < 1:
            raise ConfigError(f"--max-in-flight: expected an integer >= 1, got {self.max_in_flight!r}")
        if isinstance(self.poll, bool) or not isinstance(self.poll, (int, float)) or self.poll <= 0:
            raise ConfigError(f"--poll: expected a number of seconds > 0, got {self.poll!r}")


class IngestProcess:
    """Source → event store until stopped (or caught up, without ``follow``).

    Parameters
    ----------
    pipeline
        The opened pipeline, or the lighter :class:`~lifelong.ingest.IngestTarget`.
    options
        See :class:`IngestOptions`.
    source
        The source to read (default: the pipeline's, from :func:`lifelong.ingest.open_source`).
    """

    def __init__(self, pipeline: Pipeline | IngestTarget, options: IngestOptions | None = None, *, source: Source | None = None) -> None:
        self.pipeline = pipeline
        self.options = options or IngestOptions()
        self.metrics = IngestMetrics(stream=STREAM)
        self.metrics_port: int | None = None
        self.totals = {"batches": 0, "written": 0, "duplicates": 0, "dead_letters": 0}
        self._source = source
        self._queue: queue.Queue[Batch | None] = queue.Queue(maxsize=self.options.max_in_flight)
        self._stop = threading.Event()
        self._failure: BaseException | None = None
        self._guard = threading.Lock()
        self._flags_at = -_FLAGS_EVERY

    # -- control -------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the process to finish: stop polling, store and commit what was read, return."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def serve_metrics(self) -> int | None:
        """Start the metrics server of ``options.metrics_port`` (once); its port, or None."""
        if self.metrics_port is None and self.options.metrics_port is not None:
            self.metrics_port = self.metrics.serve(self.options.metrics_port, self.options.metrics_host)
        return self.metrics_port

    def refresh_flags(self, *, every: float = 0.0) -> None:
        """Set the flagged-source gauges from the store (at most once per ``every`` seconds).

        Metrics are best effort: a failure to read the flags is logged, never raised.
        """
        now = time.monotonic()
        if now - self._flags_at < every:
            return
        self._flags_at = now
        try:
            screen = _screen(self.pipeline)
            if screen is not None:
                self.metrics.flags(screen.quarantine.status())
        except Exception as exc:  # noqa: BLE001  # a gauge must not stop ingest
            log.warning("ingest: reading the flagged sources failed: %s", exc)

    # -- loop ----------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        """Ingest until :meth:`stop` (or until caught up without ``follow``); the totals.

        Raises whatever the source or the store raised, after the batches already stored
        are committed; nothing unstored is committed.
        """
        source = self._source if self._source is not None else open_source(self.pipeline)
        self.serve_metrics()
        self.refresh_flags()
        writer = threading.Thread(target=self._write, args=(source,), name="lifelong-ingest-writer", daemon=True)
        writer.start()
        try:
            self._read(source)
        finally:
            self._put(None, final=True)
            writer.join()
            if self._failure is None:
                self.refresh_flags()
            source.close()
            self.metrics.close()
        if self._failure is not None:
            raise self._failure
        return dict(self.totals)

    def _read(self, source: Source) -> None:
        since = start_position(self.pipeline, source)
        lag = getattr(source, "lag", None)
        while not self._stop.is_set() and self._failure is None:
            got = 0
            for batch in source.read(since=since):
                got += 1
                if not self._put(batch):
                    return
                if lag is not None and got % 8 == 1:
                    self.metrics.lag(lag())
                if self._stop.is_set():
                    return
            since = None
            if lag is not None:
                self.metrics.lag(lag())
            if not self.options.follow:
                return
            if got == 0 and not isinstance(source, BrokerSource):
                self._stop.wait(self.options.poll)  # brokers wait for new events themselves

    def _put(self, batch: Batch | None, *, final: bool = False) -> bool:
        """Queue ``batch`` for the writer, waiting while the queue is full; False if storing failed."""
        while True:
            if self._failure is not None and not final:
                return False
            try:
                self._queue.put(batch, timeout=_TICK)
            except queue.Full:
                continue
            self.metrics.in_flight(self._queue.qsize())
            return True

    def _take(self) -> tuple[list[Batch], bool]:
        """The next batch and every other one already queued behind it; True once the end mark came."""
        taken: list[Batch] = []
        item = self._queue.get()
        while True:
            if item is None:
                return taken, True
            taken.append(item)
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return taken, False

    def _write(self, source: Source) -> None:
        while True:
            batches, last = self._take()
            try:
                if batches and self._failure is None:
                    started = time.perf_counter()
                    counts: dict[str, int] = {}
                    for group in _grouped(batches):
                        for key, value in store_events(self.pipeline, group).items():
                            counts[key] = counts.get(key, 0) + value
                    for batch in batches:  # durably stored: now their positions, in the order read
                        commit_batch(self.pipeline, batch, source)
                    self.metrics.stored(
                        written=counts["written"], duplicates=counts["duplicates"], dead_letters=counts["dead_letters"],
                        seconds=time.perf_counter() - started, quarantined=counts.get("quarantined", 0),
                    )
                    self.refresh_flags(every=_FLAGS_EVERY)
                    with self._guard:
                        self.totals["batches"] += len(batches)
                        for key, value in counts.items():
                            self.totals[key] = self.totals.get(key, 0) + value
            except BaseException as exc:  # the reader re-raises it; nothing later is stored or committed
                log.error("ingest: storing a batch failed: %s", exc)
                self._failure = exc
            finally:
                for _ in range(len(batches) + last):
                    self._queue.task_done()
                self.metrics.in_flight(self._queue.qsize())
            if last:
                return


def _grouped(batches: list[Batch]) -> list[Batch]:
    """Batches read back to back as one batch to store (one file per day, one fsync), or as they are.

    Only batches decoded to Arrow tables of one stream combine, and only when their columns
    do (numbers in one batch and text in another stay apart).
    """
    first = batches[0]
    tables = [batch.table for batch in batches]
    if len(batches) == 1 or any(batch.stream != first.stream for batch in batches):
        return batches
    if not all(isinstance(table, pa.Table) for table in tables):
        return batches
    try:
        table = pa.concat_tables(tables, promote_options="permissive")  # type: ignore[arg-type]
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return batches
    letters = tuple(letter for batch in batches for letter in batch.dead_letters)
    return [Batch(first.stream, dead_letters=letters, table=table)]


__all__ = ["IngestOptions", "IngestProcess"]
