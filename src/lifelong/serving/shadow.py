"""Shadow work off the request thread: challengers answer copies of live requests in batches.

The request path only appends ``(challengers, inputs, champion's answer)`` to a bounded queue,
one item per request whatever the number of challengers (a request whose copies do not fit is
not copied, and its copies are counted as dropped). A background thread takes the queue in
chunks, joins a chunk's inputs once, lets every challenger answer the chunk in one call,
compares the answers with the champion's, records latency and errors with the router, and logs
every shadow row to the shadow log; it yields the interpreter between chunks, so a backlog never
holds the request loop for long.

Shadow rows are written by a :class:`~lifelong.serving.PredictionLogger` through
:class:`ShadowSink`: the same row format as the prediction log plus ``shadow = True``, with
event ids made unique per version (``"<request_id>:<row>@<version>"``, made by the executor
with the rest of the chunk), in their own stream (``predictions_shadow`` by default) so
that natural-label joins over the prediction log never take a shadow answer for a served one.
Each answered batch is logged as one chunk, and :func:`shadow_logger` flushes in large
batches: shadow rows are many (one per request and challenger) and need no quick visibility,
and the event store's cost is mostly per append (one Parquet file and one fsync each), so a
flush writes the rows of every challenger in one append.

Durability: with a write-ahead folder (``wal_dir``, as the server sets it), each answered
batch is written to the shadow log's segment when it is logged, so a SIGKILL loses no shadow
row that a challenger has answered (the next start replays it). Copies still waiting in the
queue (up to the linger, 1 s by default, plus any backlog) have no answer yet and are lost
with the process; the main prediction log is not affected (its rows are written ahead before
each response is sent).

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
import os
import threading
import time
from collections import deque
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

_CHUNK = 512  # about 1.5 ms of work a step for two challengers, at about 3 us a request
# Releases the interpreter and the core: a request thread waiting on either runs first.
_yield = getattr(os, "sched_yield", None) or (lambda: time.sleep(0))
SHADOW_FLUSH_ROWS = 50_000
SHADOW_FLUSH_SECONDS = 5.0
SHADOW_APPEND_ROWS = 16_384


class ShadowSink:
    """Wraps a prediction sink: marks rows ``shadow = True`` and suffixes event ids with the version."""

    def __init__(self, sink: PredictionSink) -> None:
        self._sink = sink

    def append(self, stream: str, frame: pd.DataFrame) -> AppendResult:
        versions = frame["model_version"].astype(str)
        ids = frame["event_id"].astype(str)
        for version in versions.unique():  # a frame holds the rows of a few versions
            rows = versions == version
            suffix = "@" + version
            unmarked = rows & ~ids.str.endswith(suffix)  # ids the shadow executor made carry it
            if unmarked.any():
                ids = ids.where(~unmarked, ids + suffix)
        return self._sink.append(stream, frame.assign(event_id=ids, shadow=True))


def shadow_logger(
    sink: PredictionSink,
    *,
    stream: str = "predictions_shadow",
    clock: Clock | None = None,
    wal_dir: Path | None = None,
) -> PredictionLogger:
    """The shadow log: rows marked by :class:`ShadowSink`, flushed every 50,000 rows or 5 s.

    A flush appends the rows of every challenger together, up to 16,384 rows an append, and
    yields the core between appends. An append costs a few milliseconds whatever its size (a
    Parquet file, an fsync, the id check), so few large appends cost less than many small ones.
    """
    return PredictionLogger(
        ShadowSink(sink),
        stream=stream,
        flush_rows=SHADOW_FLUSH_ROWS,
        flush_seconds=SHADOW_FLUSH_SECONDS,
        max_buffer_rows=10 * SHADOW_FLUSH_ROWS,
        clock=clock,
        wal_dir=wal_dir,
        append_rows=SHADOW_APPEND_ROWS,
    )


@dataclass(slots=True, eq=False)
class ShadowTask:
    """One live request, copied to every challenger of its shadow test (one queue item).

    Made on the request path: slots, and not frozen (a frozen dataclass costs three times as
    much to build); nothing changes a task once queued.
    """

    router: ShadowRouter
    challengers: tuple[ServedModel, ...]
    inputs: Mapping[str, NDArray[Any]]
    champion: PredictionResult


class ShadowExecutor:
    """Bounded queue plus one background thread answering shadow copies in batches.

    The request path appends one :class:`ShadowTask` per request (no lock, no copy of the
    request's arrays). The thread answers what waits in chunks of at most ``chunk`` requests:
    each chunk's inputs are joined once and answered by every challenger in one call, and the
    thread yields the interpreter between chunks, so that a large backlog never holds the
    request loop for long.

    Parameters
    ----------
    service
        Answers the copies (validation included); it should log nothing itself.
    logger
        The shadow log (None: shadow answers are compared and counted, not logged).
    queue_size
        Copies waiting at most (a request with two challengers makes two); a request whose
        copies do not fit is not copied, and its copies are counted as dropped by the router.
    clock
        Time of the logged shadow rows.
    linger
        Seconds the thread lets copies gather between rounds, so that one model call answers
        many copies (a model's fixed cost per call dwarfs its cost per row); 0 answers at once.
        A round starts early once half the queue waits.
    chunk
        Requests answered per step, at most.
    """

    def __init__(
        self,
        service: PredictionService,
        logger: PredictionLogger | None,
        *,
        queue_size: int = 1000,
        clock: Clock | None = None,
        linger: float = 1.0,
        chunk: int = _CHUNK,
    ) -> None:
        if isinstance(linger, bool) or not isinstance(linger, (int, float)) or not 0 <= linger <= 10:
            raise ConfigError(f"linger: expected a number of seconds in [0, 10], got {linger!r}")
        if isinstance(queue_size, bool) or not isinstance(queue_size, int) or queue_size < 1:
            raise ConfigError(f"queue_size: expected an integer >= 1, got {queue_size!r}")
        if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
            raise ConfigError(f"chunk: expected an integer >= 1, got {chunk!r}")
        self._linger = float(linger)
        self._chunk = chunk
        self._wake = threading.Event()
        self._service = service
        self._clock = clock or SystemClock()
        self._logger = logger
        self._queue: deque[ShadowTask] = deque()
        self._capacity = queue_size
        self._wake_at = max(1, queue_size // 2)
        self._step = threading.Lock()  # held while tasks taken from the queue are answered
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.answered = 0
        self.failed = 0

    @property
    def pending(self) -> int:
        """Copies waiting to be answered."""
        return sum(len(task.challengers) for task in list(self._queue))

    def submit(self, task: ShadowTask) -> bool:
        """Queue a request's copies without blocking; False (drops counted) when they do not fit."""
        copies = len(task.challengers)
        waiting = len(self._queue)
        if (waiting + 1) * copies > self._capacity:
            task.router.drop(copies)
            return False
        self._queue.append(task)
        if not self._linger or waiting * copies < self._wake_at <= (waiting + 1) * copies:
            self._wake.set()
        return True

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        if self._logger is not None:
            self._logger.start()
        self._stopping = False
        self._wake.clear()
        self._thread = threading.Thread(target=self._run, name="lifelong-shadow", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Answer what is queued, stop the thread and drain the shadow log."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stopping = True
            self._wake.set()
            thread.join(timeout)
        self._answer_queued()
        if self._logger is not None:
            try:
                self._logger.close()
            except Exception:  # noqa: BLE001 - already logged by the logger; shutdown goes on
                log.exception("shadow log: rows could not be drained on shutdown")

    def drain(self) -> None:
        """Answer every copy submitted so far before returning (tests, shutdown).

        Queued copies are answered on the calling thread; copies the background thread has
        already taken are waited for (it holds the step lock while answering them).
        """
        self._answer_queued()
        with self._step:
            pass

    def _answer_queued(self, *, pause: bool = False) -> None:
        """Answer the queue in chunks; ``pause`` yields the interpreter between chunks."""
        while self._queue:
            with self._step:
                tasks: list[ShadowTask] = []
                try:
                    while len(tasks) < self._chunk:
                        tasks.append(self._queue.popleft())
                except IndexError:
                    pass
                self._answer(tasks)
            if pause:
                _yield()  # let the request loop run between chunks

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self._linger or None)  # let copies gather: one call answers many
            self._wake.clear()
            self._answer_queued(pause=True)

    def _answer(self, tasks: list[ShadowTask]) -> None:
        groups: dict[tuple[int, int, tuple[str, ...]], list[ShadowTask]] = {}
        for task in tasks:
            key = (id(task.router), id(task.challengers), tuple(task.inputs))
            group = groups.get(key)
            if group is None:
                groups[key] = [task]
            else:
                group.append(task)
        for group in groups.values():
            try:
                self._answer_group(group)
            except Exception:  # noqa: BLE001 - a shadow failure never reaches a client
                log.exception("shadow: answering %d requests failed", len(group))

    def _answer_group(self, group: list[ShadowTask]) -> None:
        first = group[0]
        router = first.router
        if len(group) == 1:
            columns = dict(first.inputs)
            champion = first.champion
            champion_labels, champion_probabilities = champion.labels, champion.probabilities
        else:
            columns = {name: np.concatenate([task.inputs[name] for task in group]) for name in first.inputs}
            champion_labels = np.concatenate([task.champion.labels for task in group])
            champion_probabilities = np.concatenate([task.champion.probabilities for task in group])
        champion_scores = positive_scores(champion_probabilities)
        rows = len(champion_labels)
        request_ids = [task.champion.request_id for task in group]
        if rows == len(group):  # one row per request, the usual case
            row_requests = np.array(request_ids, dtype=object)
            base_ids = row_requests + ":0@"
        else:
            counts = [len(task.champion.labels) for task in group]
            row_requests = np.repeat(np.array(request_ids, dtype=object), counts)
            base_ids = np.array(
                [f"{rid}:{row}@" for rid, n in zip(request_ids, counts, strict=True) for row in range(n)], dtype=object
            )
        event_time = self._clock.now() if self._logger is not None else None
        for challenger in first.challengers:
            self._answer_challenger(
                router, challenger, columns, champion_labels, champion_scores, row_requests, base_ids, event_time, len(group)
            )

    def _answer_challenger(
        self,
        router: ShadowRouter,
        challenger: ServedModel,
        columns: Mapping[str, NDArray[Any]],
        champion_labels: NDArray[Any],
        champion_scores: NDArray[Any],
        row_requests: NDArray[np.object_],
        base_ids: NDArray[np.object_],
        event_time: Any,
        copies: int,
    ) -> None:
        started = time.perf_counter()
        try:
            result = self._service.predict_columns(challenger, columns, "shadow-batch")
        except Exception as exc:  # noqa: BLE001 - counted as the challenger's errors
            seconds = (time.perf_counter() - started) / copies
            router.observe_copies(challenger.version, copies, error=True, seconds=seconds)
            self.failed += copies
            log.warning("shadow: version %s failed on %d copies: %s", challenger.version, copies, exc)
            return
        seconds = (time.perf_counter() - started) / copies
        router.compare(
            challenger.version,
            rows=len(champion_labels),
            agreeing=int(np.count_nonzero(result.labels == champion_labels)),
            score_gap=float(np.abs(positive_scores(result.probabilities) - champion_scores).sum()),
        )
        router.observe_copies(challenger.version, copies, error=False, seconds=seconds)
        if self._logger is not None:
            answer = PredictionResult(
                challenger.model, challenger.version, "shadow-batch", result.labels, result.probabilities, result.classes
            )
            self._logger.log_batch(
                answer,
                columns,
                event_time=event_time,
                request_ids=row_requests,
                event_ids=base_ids + challenger.version,
            )
        self.answered += copies


__all__ = ["ShadowExecutor", "ShadowSink", "ShadowTask", "shadow_logger"]
