"""Executors on this machine: in this process, or in long-lived worker subprocesses.

:class:`LocalExecutor` starts ``workers`` processes running
``python -m lifelong.training.executors`` on first use and keeps them: the libraries
are imported once, training never holds the GIL of the process that serves or orchestrates,
and nothing of the parent (its ``__main__``, threads, sockets, database connections) is
inherited. Jobs and results cross the boundary as JSON lines, never as pickles. A worker that
dies (segfault, out of memory) or overruns ``timeout`` is killed and replaced on the next
job, and the job fails with a :class:`~lifelong.errors.TrainingError`.
"""

from __future__ import annotations

import json
import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import pandas as pd

from lifelong import errors
from lifelong.errors import ConfigError, LifelongError, TrainingError
from lifelong.registry.artifacts import ArtifactStore
from lifelong.training.bundle import ModelBundle
from lifelong.training.executors.base import Executor, JobResult, TrainingJob, load_result
from lifelong.training.executors.worker import train_job
from lifelong.training.trainer import TrainedModel

WORKER_MODULE = "lifelong.training.executors"


class InProcessExecutor(Executor):
    """Train in the calling thread (tests, debugging, the smallest deployments).

    Examples
    --------
    >>> InProcessExecutor().run([])
    []
    """

    kind = "inprocess"

    def __init__(self) -> None:
        self._trained: dict[str, ModelBundle] = {}
        self._saved: dict[str, Path] = {}
        self._folder: tempfile.TemporaryDirectory[str] | None = None

    def run(self, jobs: Sequence[TrainingJob]) -> list[JobResult]:
        return self._run(jobs, {}, None)

    def run_written(
        self, jobs: Sequence[TrainingJob], *, frames: Mapping[str, pd.DataFrame], store: ArtifactStore
    ) -> list[JobResult]:
        """Train on the snapshots' rows in memory and store through ``store`` (see :class:`Executor`)."""
        return self._run(jobs, frames, store)

    def _run(
        self, jobs: Sequence[TrainingJob], frames: Mapping[str, pd.DataFrame], store: ArtifactStore | None
    ) -> list[JobResult]:
        self._trained = {}  # only the last batch's bundles: they are loaded right after it
        self._release()
        if store is not None:
            self._folder = tempfile.TemporaryDirectory(prefix="lifelong-trained-")
        results = []
        for index, job in enumerate(jobs):
            usable = store is not None and Path(job.artifacts_root) == store.root.resolve()
            keep = Path(self._folder.name) / str(index) if usable and self._folder is not None else None
            result, bundle = train_job(
                job,
                isolated=False,
                frame=frames.get(job.snapshot.sha256) if usable else None,
                store=store if usable else None,
                keep=keep,
            )
            self._trained[result.bundle_sha256] = bundle
            if keep is not None:
                self._saved[result.bundle_sha256] = keep
            results.append(result)
        return results

    def saved_bundle(self, result: JobResult) -> Path | None:
        """The folder this process saved ``result``'s bundle in, until the next batch."""
        return self._saved.get(result.bundle_sha256)

    def _release(self) -> None:
        self._saved = {}
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def close(self) -> None:
        self._release()

    def load(self, result: JobResult, store: ArtifactStore) -> TrainedModel:
        """The bundle this process just trained and stored as ``result`` (no read back), else from the store."""
        bundle = self._trained.pop(result.bundle_sha256, None)
        if bundle is None or not store.exists(result.bundle_sha256):
            return load_result(result, store)
        return TrainedModel(
            bundle=bundle,
            mode=result.mode,
            iteration=result.iteration,
            rows=result.rows,
            cpu_seconds=result.cpu_seconds,
            wall_seconds=result.wall_seconds,
            warm_start=result.warm_start,
        )


def _failure(name: str, message: str) -> LifelongError:
    """The lifelong error a worker reported, by class name (TrainingError for anything else)."""
    found = getattr(errors, name, None)
    if isinstance(found, type) and issubclass(found, LifelongError):
        try:
            return found(message)
        except TypeError:
            pass
    return TrainingError(f"{name}: {message}")


class _Worker:
    """One worker subprocess and its JSON-lines pipes."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", WORKER_MODULE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,
            text=True,
            encoding="utf-8",
        )

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, job: TrainingJob) -> None:
        stdin: IO[str] | None = self.process.stdin
        if stdin is None:
            raise TrainingError("local executor: the worker has no input pipe")
        stdin.write(json.dumps(job.to_dict()) + "\n")
        stdin.flush()

    def stop(self) -> None:
        if self.alive:
            self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()


class LocalExecutor(Executor):
    """Train in worker subprocesses on this machine.

    Parameters
    ----------
    workers
        Worker processes (a batch of more jobs runs in turns).
    timeout
        Seconds to wait for a batch of jobs; ``None`` waits as long as it takes.

    Examples
    --------
    >>> with LocalExecutor(workers=1) as executor:
    ...     executor.run([])
    []
    """

    kind = "local"

    def __init__(self, *, workers: int = 1, timeout: float | None = None) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ConfigError(f"workers: expected an integer >= 1, got {workers!r}")
        if timeout is not None and not timeout > 0:
            raise ConfigError(f"timeout: expected seconds > 0 or None, got {timeout!r}")
        self.workers = workers
        self.timeout = timeout
        self._pool: list[_Worker] = []

    def _ready(self, count: int) -> list[_Worker]:
        self._pool = [worker for worker in self._pool if worker.alive]
        while len(self._pool) < count:
            self._pool.append(_Worker())
        return self._pool[:count]

    def _drop(self, worker: _Worker) -> None:
        worker.stop()
        if worker in self._pool:
            self._pool.remove(worker)

    def run(self, jobs: Sequence[TrainingJob]) -> list[JobResult]:
        results: list[JobResult | None] = [None] * len(jobs)
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        pending = list(enumerate(jobs))
        while pending:
            batch = list(zip(self._ready(min(self.workers, len(pending))), pending, strict=False))
            pending = pending[len(batch) :]
            self._collect(batch, results, deadline)
        return [result for result in results if result is not None]

    def _collect(
        self,
        batch: list[tuple[_Worker, tuple[int, TrainingJob]]],
        results: list[JobResult | None],
        deadline: float | None,
    ) -> None:
        selector = selectors.DefaultSelector()
        try:
            for worker, (index, job) in batch:
                worker.send(job)
                if worker.process.stdout is not None:
                    selector.register(
                        worker.process.stdout, selectors.EVENT_READ, (worker, index, job)
                    )
            waiting = len(batch)
            failure: LifelongError | None = None
            while waiting:
                left = None if deadline is None else deadline - time.monotonic()
                ready = selector.select(timeout=None if left is None else max(left, 0.0))
                if not ready:
                    for worker, _ in batch:
                        if worker.alive:
                            self._drop(worker)
                    raise TrainingError(
                        f"local executor: expected {waiting} job(s) to finish within {self.timeout} s, they did not; workers stopped"
                    )
                for key, _ in ready:
                    worker, index, job = key.data
                    selector.unregister(key.fileobj)
                    waiting -= 1
                    line = (
                        worker.process.stdout.readline()
                        if worker.process.stdout is not None
                        else ""
                    )
                    outcome = self._answer(worker, job, line)
                    if isinstance(outcome, LifelongError):
                        failure = failure or outcome
                    else:
                        results[index] = outcome
            if failure is not None:
                raise failure
        finally:
            selector.close()

    def _answer(self, worker: _Worker, job: TrainingJob, line: str) -> JobResult | LifelongError:
        label = job.name or job.model_hash[:12]
        if not line:
            code = worker.process.wait()
            self._drop(worker)
            return TrainingError(
                f"local executor: job {label}: the worker process died (exit code {code}); a new one starts on the next job"
            )
        try:
            answer: dict[str, Any] = json.loads(line)
            if answer.get("ok"):
                return JobResult.from_dict(answer["result"])
            return _failure(str(answer.get("error")), str(answer.get("message")))
        except (ValueError, KeyError, TypeError) as exc:
            self._drop(worker)
            return TrainingError(
                f"local executor: job {label}: expected a JSON answer from the worker, got {line[:200]!r} ({exc})"
            )

    def close(self) -> None:
        for worker in self._pool:
            if worker.process.stdin is not None and worker.alive:
                worker.process.stdin.close()  # EOF: the worker's loop ends
            try:
                worker.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            worker.stop()
        self._pool = []


__all__ = ["WORKER_MODULE", "InProcessExecutor", "LocalExecutor"]
