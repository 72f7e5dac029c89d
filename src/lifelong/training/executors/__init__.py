"""Training executors: in this process, in local worker processes, or as Ray tasks.

Examples
--------
>>> from lifelong.config import LocalExecutorConfig
>>> executor = build_executor(LocalExecutorConfig(kind="local", workers=2))
>>> executor.kind, executor.workers
('local', 2)
>>> executor.close()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lifelong.errors import ConfigError
from lifelong.training.executors.base import Executor, JobResult, TrainingJob, load_result
from lifelong.training.executors.local import InProcessExecutor, LocalExecutor

if TYPE_CHECKING:
    from lifelong.config import ExecutorConfig


def build_executor(config: ExecutorConfig) -> Executor:
    """The executor the spec's ``training.executor`` names (Ray is imported only when asked)."""
    from lifelong.config import InProcessExecutorConfig, LocalExecutorConfig, RayExecutorConfig

    if isinstance(config, InProcessExecutorConfig):
        return InProcessExecutor()
    if isinstance(config, LocalExecutorConfig):
        timeout = None if config.timeout is None else config.timeout.total_seconds()
        return LocalExecutor(workers=config.workers, timeout=timeout)
    if isinstance(config, RayExecutorConfig):
        from lifelong.training.executors.ray import RayExecutor

        timeout = None if config.timeout is None else config.timeout.total_seconds()
        return RayExecutor(address=config.address, num_cpus=config.num_cpus, timeout=timeout)
    raise ConfigError(
        f"training.executor.kind: expected one of ['inprocess', 'local', 'ray'], got {config!r}"
    )


__all__ = [
    "Executor",
    "InProcessExecutor",
    "JobResult",
    "LocalExecutor",
    "TrainingJob",
    "build_executor",
    "load_result",
]
