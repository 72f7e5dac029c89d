"""Train and evaluate several challengers in parallel as Ray tasks (extra ``ray``).

Each job becomes one Ray task running :func:`~lifelong.training.executors.worker.run_job`;
the tasks only share the artifact store with the orchestrator (snapshots in, bundles out),
so on a cluster the store must be on storage every node reaches. With ``address`` unset and
no Ray running, a local Ray is started (and stopped by :meth:`RayExecutor.close`); a Ray the
caller already started is used as it is and left running.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lifelong.errors import ConfigError, LifelongError, TrainingError
from lifelong.training.executors.base import Executor, JobResult, TrainingJob
from lifelong.training.executors.worker import run_job


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ConfigError(
            f"training.executor.kind: 'ray' needs the 'ray' extra (pip install 'lifelong[ray]'), got {exc}"
        ) from exc
    return ray


class RayExecutor(Executor):
    """Run training jobs as Ray tasks, all at once, and wait for them.

    Parameters
    ----------
    address
        Ray cluster address (``auto``, ``ray://host:10001``); ``None`` starts a local Ray
        when none is running.
    num_cpus
        CPUs reserved per task.
    timeout
        Seconds to wait for a batch of jobs; ``None`` waits as long as it takes.

    Examples
    --------
    >>> RayExecutor(num_cpus=0)
    Traceback (most recent call last):
    ...
    lifelong.errors.ConfigError: num_cpus: expected a number > 0, got 0
    """

    kind = "ray"

    def __init__(
        self, *, address: str | None = None, num_cpus: float = 1.0, timeout: float | None = None
    ) -> None:
        if isinstance(num_cpus, bool) or not isinstance(num_cpus, int | float) or not num_cpus > 0:
            raise ConfigError(f"num_cpus: expected a number > 0, got {num_cpus!r}")
        if timeout is not None and not timeout > 0:
            raise ConfigError(f"timeout: expected seconds > 0 or None, got {timeout!r}")
        self.address = address
        self.num_cpus = float(num_cpus)
        self.timeout = timeout
        self._started = False
        self._task: Any = None

    def _remote(self) -> Any:
        ray = _ray()
        if not ray.is_initialized():
            try:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
            except Exception as exc:
                raise TrainingError(
                    f"training.executor.address: could not connect to Ray at {self.address or 'a new local instance'}: {exc}"
                ) from exc
            self._started = True
        if self._task is None:
            self._task = ray.remote(num_cpus=self.num_cpus, max_retries=0)(run_job)
        return self._task

    def run(self, jobs: Sequence[TrainingJob]) -> list[JobResult]:
        if not jobs:
            return []
        ray = _ray()
        task = self._remote()
        refs = [task.remote(job.to_dict(), True) for job in jobs]
        try:
            answers = ray.get(refs, timeout=self.timeout)
        except ray.exceptions.GetTimeoutError as exc:
            for ref in refs:
                ray.cancel(ref, force=True)
            raise TrainingError(
                f"ray executor: expected {len(jobs)} job(s) to finish within {self.timeout} s, they did not; cancelled"
            ) from exc
        except ray.exceptions.RayTaskError as exc:
            cause = exc.as_instanceof_cause() if hasattr(exc, "as_instanceof_cause") else exc
            if isinstance(cause, LifelongError):
                raise TrainingError(f"ray executor: a job failed: {cause}") from exc
            raise TrainingError(
                f"ray executor: a job failed in its task: {type(cause).__name__}: {cause}"
            ) from exc
        except ray.exceptions.RayError as exc:
            raise TrainingError(
                f"ray executor: a task was lost: {type(exc).__name__}: {exc}"
            ) from exc
        return [JobResult.from_dict(answer) for answer in answers]

    def close(self) -> None:
        if self._started:
            ray = _ray()
            if ray.is_initialized():
                ray.shutdown()
            self._started = False
        self._task = None


__all__ = ["RayExecutor"]
