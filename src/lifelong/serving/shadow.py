"""Shadow work off the request thread: challengers answer copies of live requests in batches.

The request path only puts ``(challenger, inputs, champion's answer)`` on a bounded queue (a
full queue drops the copy and counts it). A background thread drains the queue, answers the
queued copies of one challenger in a single batch, compares them with the champion's answers,
records latency and errors with the router, and logs every shadow row to the shadow log.

Shadow rows are written by a :class:`~lifelong.serving.PredictionLogger` through
:class:`ShadowSink`: the same row format as the prediction log plus ``shadow = True``, with
event ids made unique per version, in their own stream (``predictions_shadow`` by default) so
that natural-label joins over the prediction log never take a shadow answer for a served one.
Each answered batch is logged as one chunk, and :func:`shadow_logger` flushes in large
batches: shadow rows are many (one per request and challenger) and need no quick visibility.

Examples
--------
>>> import pandas as pd
>>> from lifelong.testing.fakes import ListPredictionSink
>>> sink = ListPredictionSink()
>>> _ = ShadowSink(sink).append("predictions_shadow", pd.DataFrame({"event_id": ["r1:0"], "model_version": ["1.1"]}))
>>> sink.rows("predictions_shadow")[["event_id", "shadow"]].to_dict("records")
[{'event_id': 'r1:0@1.1', 'shadow': True}]
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from lifelong.clock import Clock, SystemClock
from lifelong.deployment.shadow import ShadowRouter
from lifelong.errors import ConfigError
from lifelong.events.store import AppendResult
from lifelong.serving.logger import PredictionLogger
from lifelong.serving.model import PredictionResult, PredictionSink, ServedModel, positive_scores
from lifelong.serving.service import PredictionService

log = logging.getLogger(__name__)

_BATCH = 1024
SHADOW_FLUSH_ROWS = 50_000
SHADOW_FLUSH_SECONDS = 5.0


class ShadowSink:
    """Wraps a prediction sink: marks rows ``shadow = True`` and suffixes event ids with the version."""

    def __init__(self, sink: PredictionSink) -> None:
        self._sink = sink

    def append(self, stream: str, frame: pd.DataFrame) -> AppendResult:
        versions = frame["model_version"].astype(str)
        first = versions.iloc[0] if len(versions) else ""
        # The prediction log writes one frame per version: one suffix for every row.
        suffix = "@" + (first if (versions == first).all() else versions)
        marked = frame.assign(event_id=frame["event_id"].astype(str) + suffix, shadow=True)
        return self._sink.append(stream, marked)


def shadow_logger(
    sink: PredictionSink,
    *,
    stream: str = "predictions_shadow",
    clock: Clock | None = None,
    wal_dir: Path | None = None,
) -> PredictionLogger:
    """The shadow log: rows marked by :class:`ShadowSink`, flushed every 50,000 rows or 5 s."""
    return PredictionLogger(
        ShadowSink(sink),
        stream=stream,
        flush_rows=SHADOW_FLUSH_ROWS,
        flush_seconds=SHADOW_FLUSH_SECONDS,
        max_buffer_rows=10 * SHADOW_FLUSH_ROWS,
        clock=clock,
        wal_dir=wal_dir,
    )


@dataclass(frozen=True, eq=False)
class ShadowTask:
    """One copy of a request for one challenger."""

    router: ShadowRouter
    challenger: ServedModel
    inputs: Mapping[str, NDArray[Any]]
    champion: PredictionResult


class ShadowExecutor:
    """Bounded queue plus one background thread answering shadow copies in batches.

    Parameters
    ----------
    service
        Answers the copies (validation included); it should log nothing itself.
    logger
        The shadow log (None: shadow answers are compared and counted, not logged).
    queue_size
        Copies waiting at most; more are dropped and counted by the router.
    clock
        Time of the logged shadow rows.
    linger
        Seconds the thread lets copies gather after the first one arrives, so that one model
        call answers many copies (a model's fixed cost per call dwarfs its cost per row); 0
        answers at once. The thread starts early once half the queue (at most 1024 copies)
        waits.
    """

    def __init__(
        self,
        service: PredictionService,
        logger: PredictionLogger | None,
        *,
        queue_size: int = 1000,
        clock: Clock | None = None,
        linger: float = 0.25,
    ) -> None:
        if isinstance(linger, bool) or not isinstance(linger, (int, float)) or not 0 <= linger <= 10:
            raise ConfigError(f"linger: expected a number of seconds in [0, 10], got {linger!r}")
        self._linger = float(linger)
        self._wake = threading.Event()
        self._service = service
        self._clock = clock or SystemClock()
        self._logger = logger
        self._queue: queue.Queue[ShadowTask | None] = queue.Queue(maxsize=queue_size)
        self._wake_at = max(1, min(_BATCH, queue_size // 2)) if queue_size > 0 else _BATCH
        self._thread: threading.Thread | None = None
        self.answered = 0
        self.failed = 0

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def submit(self, task: ShadowTask) -> bool:
        """Queue a copy without blocking; False (and a drop counted) when the queue is full."""
        try:
            self._queue.put_nowait(task)
        except queue.Full:
            task.router.drop()
            return False
        if self._queue.qsize() >= self._wake_at:
            self._wake.set()
        return True

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        if self._logger is not None:
            self._logger.start()
        self._wake.clear()
        self._thread = threading.Thread(target=self._run, name="lifelong-shadow", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Answer what is queued, stop the thread and drain the shadow log."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._wake.set()
            self._queue.put(None)
            thread.join(timeout)
        if self._logger is not None:
            try:
                self._logger.close()
            except Exception:  # noqa: BLE001 - already logged by the logger; shutdown goes on
                log.exception("shadow log: rows could not be drained on shutdown")

    def drain(self) -> None:
        """Answer every copy submitted so far before returning (tests, shutdown).

        Queued copies are answered on the calling thread; copies the background thread has
        already taken are waited for.
        """
        self._wake.set()
        self._answer_queued()
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            self._queue.join()

    def _answer_queued(self) -> None:
        taken: list[ShadowTask | None] = []
        while True:
            try:
                taken.append(self._queue.get_nowait())
            except queue.Empty:
                break
        try:
            self._answer([task for task in taken if task is not None])
        finally:
            for _ in taken:
                self._queue.task_done()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is not None and self._linger and self._queue.qsize() < _BATCH:
                self._wake.wait(self._linger)  # let copies gather: one call answers them all
                self._wake.clear()
            taken = [first]
            while first is not None and len(taken) < _BATCH and taken[-1] is not None:
                try:
                    taken.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._answer([task for task in taken if task is not None])
            finally:
                for _ in taken:
                    self._queue.task_done()
            if taken[-1] is None:
                self._answer_queued()
                return

    def _answer(self, tasks: list[ShadowTask]) -> None:
        groups: dict[tuple[int, tuple[str, ...]], list[ShadowTask]] = {}
        for task in tasks:
            groups.setdefault((id(task.challenger), tuple(task.inputs)), []).append(task)
        for group in groups.values():
            try:
                self._answer_group(group)
            except Exception:  # noqa: BLE001 - a shadow failure never reaches a client
                log.exception("shadow: answering %d copies failed", len(group))

    def _answer_group(self, group: list[ShadowTask]) -> None:
        challenger = group[0].challenger
        router = group[0].router
        columns = {name: np.concatenate([task.inputs[name] for task in group]) for name in group[0].inputs}
        started = time.perf_counter()
        try:
            result = self._service.predict_columns(challenger, columns, "shadow-batch")
        except Exception as exc:  # noqa: BLE001 - counted as the challenger's errors
            seconds = (time.perf_counter() - started) / len(group)
            router.observe_copies(challenger.version, len(group), error=True, seconds=seconds)
            self.failed += len(group)
            log.warning("shadow: version %s failed on %d copies: %s", challenger.version, len(group), exc)
            return
        seconds = (time.perf_counter() - started) / len(group)
        champion_labels = np.concatenate([task.champion.labels for task in group])
        champion_scores = positive_scores(np.concatenate([task.champion.probabilities for task in group]))
        router.compare(
            challenger.version,
            rows=len(champion_labels),
            agreeing=int(np.count_nonzero(result.labels == champion_labels)),
            score_gap=float(np.abs(positive_scores(result.probabilities) - champion_scores).sum()),
        )
        router.observe_copies(challenger.version, len(group), error=False, seconds=seconds)
        if self._logger is not None:
            request_ids = [task.champion.request_id for task in group]
            if len(champion_labels) == len(group):  # one row per request, the usual case
                event_ids = [rid + ":0" for rid in request_ids]
                row_requests = np.array(request_ids, dtype=object)
            else:
                counts = [len(task.champion.labels) for task in group]
                event_ids = [f"{rid}:{row}" for rid, rows in zip(request_ids, counts, strict=True) for row in range(rows)]
                row_requests = np.repeat(np.array(request_ids, dtype=object), counts)
            answer = PredictionResult(
                challenger.model, challenger.version, "shadow-batch", result.labels, result.probabilities, result.classes
            )
            self._logger.log_batch(
                answer,
                columns,
                event_time=self._clock.now(),
                request_ids=row_requests,
                event_ids=np.array(event_ids, dtype=object),
            )
        self.answered += len(group)


__all__ = ["ShadowExecutor", "ShadowSink", "ShadowTask", "shadow_logger"]
