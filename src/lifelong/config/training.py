"""Training mode and data windows."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field

from lifelong.config.base import Duration, Strict
from lifelong.config.sampling import SamplingConfig


class InProcessExecutorConfig(Strict):
    """Train in the orchestrator's own process (tests, debugging)."""

    kind: Literal["inprocess"]


class LocalExecutorConfig(Strict):
    """Train in spawned worker processes on this machine, off the serving and loop process."""

    kind: Literal["local"]
    workers: int = Field(default=1, ge=1, le=256)
    timeout: Duration | None = None


class RayExecutorConfig(Strict):
    """Train (and score) challengers in parallel as Ray tasks; extra ``ray``."""

    kind: Literal["ray"]
    address: str | None = None
    num_cpus: float = Field(default=1.0, gt=0)
    timeout: Duration | None = None


ExecutorConfig = Annotated[
    InProcessExecutorConfig | LocalExecutorConfig | RayExecutorConfig, Field(discriminator="kind")
]


class RecalibrationConfig(Strict):
    """When a stateful update trains from scratch instead: every N updates, or on large drift.

    ``every``: after this many stateful updates in a row; ``psi_threshold``: when the largest
    population stability index of a feature, new rows against the parent's snapshot, reaches it.
    """

    every: int | None = Field(default=None, ge=1)
    psi_threshold: float | None = Field(default=None, gt=0)
    bins: int = Field(default=10, ge=2, le=100)


class ForgettingConfig(Strict):
    """Measure forgetting on the training windows of the last ``windows`` ancestors (0: off)."""

    windows: int = Field(default=3, ge=0, le=50)
    max_rows: int = Field(default=2000, gt=0)


class TrainingConfig(Strict):
    """How versions are trained: from scratch or from the champion, on which window.

    ``replay_fraction``: older rows of the window replayed into a stateful update per new row
    (0.5: half as many as the new rows; 12: twelve times as many, as far as the window holds).
    """

    mode: Literal["stateless", "stateful"] = "stateful"
    window: Duration = timedelta(days=7)
    holdout: Duration = timedelta(hours=12)
    min_rows: int = Field(default=200, gt=0)
    replay_fraction: float = Field(default=0.0, ge=0, le=100)
    seed: int = Field(default=0, ge=0)
    executor: ExecutorConfig = InProcessExecutorConfig(kind="inprocess")
    recalibration: RecalibrationConfig = RecalibrationConfig()
    forgetting: ForgettingConfig = ForgettingConfig()
    sampling: SamplingConfig = SamplingConfig()


__all__ = [
    "ExecutorConfig",
    "ForgettingConfig",
    "InProcessExecutorConfig",
    "LocalExecutorConfig",
    "RayExecutorConfig",
    "RecalibrationConfig",
    "SamplingConfig",
    "TrainingConfig",
]
