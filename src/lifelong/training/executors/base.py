"""Training jobs and the executor protocol: where a challenger is trained.

The orchestrator writes the training snapshot first, then hands a :class:`TrainingJob` — plain
JSON: the artifact store's root, the snapshot reference, the learner's kind and parameters,
the features, the mode and the parent's artifact — to an executor. A worker (this process, a
subprocess, or a Ray task) reads the snapshot through the store (sha256 verified), loads the
parent bundle, trains, writes the bundle directory into the store and returns its manifest
sha256 in a :class:`JobResult`. The parent process materializes that bundle (verified again)
and registers it. Workers share nothing with the parent but the artifact store.

Examples
--------
>>> from lifelong.registry.types import SnapshotRef, TrainingMode
>>> ref = SnapshotRef(uri="artifact://" + "a" * 64, sha256="a" * 64, rows=10)
>>> job = TrainingJob(artifacts_root="/tmp/store", snapshot=ref, learner_kind="lightgbm",
...                   learner_params={"n_estimators": 5}, features={"numeric": ["x"]},
...                   model_hash="m", mode=TrainingMode.STATELESS)
>>> TrainingJob.from_dict(job.to_dict()) == job
True
"""

from __future__ import annotations

import tempfile
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Self

import pandas as pd

from lifelong.errors import ConfigError
from lifelong.registry.artifacts import ArtifactStore
from lifelong.registry.codec import snapshot_from_json, snapshot_to_json
from lifelong.registry.signing import Signer
from lifelong.registry.types import Iteration, ModelVersion, SnapshotRef, TrainingMode
from lifelong.training.bundle import ModelBundle
from lifelong.training.trainer import TrainedModel

if TYPE_CHECKING:
    from lifelong.config import ModelConfig
    from lifelong.runtime import Pipeline


@dataclass(frozen=True)
class TrainingJob:
    """Everything a worker needs to train one challenger, as JSON-friendly values."""

    artifacts_root: str
    snapshot: SnapshotRef
    learner_kind: str
    learner_params: Mapping[str, Any]
    features: Mapping[str, Any]
    model_hash: str
    mode: TrainingMode
    label: str = "label"
    passthrough: tuple[str, ...] = ()
    min_rows: int = 1
    weight: str | None = "sample_weight"
    parent_artifact: str | None = None
    parent_version: str | None = None
    seed: int = 0
    threads: int = 1
    holdout: SnapshotRef | None = None
    metric: str | None = None
    name: str | None = None
    warm_start: Mapping[str, Any] | None = None
    teacher_artifact: str | None = None
    teacher_version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form (what crosses the process boundary)."""
        return {
            "artifacts_root": self.artifacts_root,
            "snapshot": snapshot_to_json(self.snapshot),
            "learner_kind": self.learner_kind,
            "learner_params": dict(self.learner_params),
            "features": dict(self.features),
            "model_hash": self.model_hash,
            "mode": TrainingMode(self.mode).value,
            "label": self.label,
            "passthrough": list(self.passthrough),
            "min_rows": self.min_rows,
            "weight": self.weight,
            "parent_artifact": self.parent_artifact,
            "parent_version": self.parent_version,
            "seed": self.seed,
            "threads": self.threads,
            "holdout": snapshot_to_json(self.holdout),
            "metric": self.metric,
            "name": self.name,
            "warm_start": None if self.warm_start is None else dict(self.warm_start),
            "teacher_artifact": self.teacher_artifact,
            "teacher_version": self.teacher_version,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainingJob:
        """Inverse of :meth:`to_dict`."""
        try:
            snapshot = snapshot_from_json(data["snapshot"])
            if snapshot is None:
                raise ConfigError("job.snapshot: expected a snapshot reference, got null")
            return cls(
                artifacts_root=str(data["artifacts_root"]),
                snapshot=snapshot,
                learner_kind=str(data["learner_kind"]),
                learner_params=dict(data["learner_params"]),
                features=dict(data["features"]),
                model_hash=str(data["model_hash"]),
                mode=TrainingMode(data["mode"]),
                label=str(data.get("label", "label")),
                passthrough=tuple(data.get("passthrough", ())),
                min_rows=int(data.get("min_rows", 1)),
                weight=data.get("weight", "sample_weight"),
                parent_artifact=data.get("parent_artifact"),
                parent_version=data.get("parent_version"),
                seed=int(data.get("seed", 0)),
                threads=int(data.get("threads", 1)),
                holdout=snapshot_from_json(data.get("holdout")),
                metric=data.get("metric"),
                name=data.get("name"),
                warm_start=data.get("warm_start"),
                teacher_artifact=data.get("teacher_artifact"),
                teacher_version=data.get("teacher_version"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"job: expected a training job mapping, got {exc!r}") from exc

    @classmethod
    def for_pipeline(
        cls,
        pipeline: Pipeline,
        snapshot: SnapshotRef,
        *,
        mode: TrainingMode,
        parent: ModelVersion | None = None,
        model: ModelConfig | None = None,
        holdout: SnapshotRef | None = None,
        name: str | None = None,
        teacher: ModelVersion | None = None,
        columns: tuple[str, ...] | None = None,
    ) -> TrainingJob:
        """The job that trains ``pipeline``'s model (or the challenger ``model``) on ``snapshot``.

        ``teacher`` (the champion) is what a model with ``warm_start`` starts from; ``columns``
        are the challenger's own feature columns.
        """
        from lifelong.runtime import learner_params

        kind, params = learner_params(pipeline.variant(model, columns))
        spec = pipeline.training_spec(model, columns)
        return cls(
            artifacts_root=str(pipeline.registry.artifacts.root.resolve()),
            snapshot=snapshot,
            learner_kind=kind,
            learner_params=params,
            features=spec.features.to_dict(),
            model_hash=spec.model_hash,
            mode=mode,
            label=spec.label,
            passthrough=spec.passthrough,
            min_rows=spec.min_rows,
            weight=spec.weight,
            parent_artifact=parent.artifact_sha256 if parent is not None else None,
            parent_version=parent.version if parent is not None else None,
            seed=pipeline.config.training.seed,
            holdout=holdout,
            metric=pipeline.config.evaluation.metric if holdout is not None else None,
            name=name,
            warm_start=None if spec.warm_start is None or teacher is None else spec.warm_start.to_dict(),
            teacher_artifact=teacher.artifact_sha256 if teacher is not None and spec.warm_start is not None else None,
            teacher_version=teacher.version if teacher is not None and spec.warm_start is not None else None,
        )


@dataclass(frozen=True)
class JobResult:
    """What a worker reports: where the bundle is stored and what training cost."""

    name: str | None
    bundle_sha256: str
    mode: TrainingMode
    iteration: Iteration
    rows: int
    cpu_seconds: float
    wall_seconds: float
    holdout_metric: float | None = None
    worker: dict[str, Any] = field(default_factory=dict)
    warm_start: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "bundle_sha256": self.bundle_sha256,
            "mode": self.mode.value,
            "iteration": self.iteration.value,
            "rows": self.rows,
            "cpu_seconds": self.cpu_seconds,
            "wall_seconds": self.wall_seconds,
            "holdout_metric": self.holdout_metric,
            "worker": dict(self.worker),
            "warm_start": self.warm_start,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobResult:
        return cls(
            name=data.get("name"),
            bundle_sha256=str(data["bundle_sha256"]),
            mode=TrainingMode(data["mode"]),
            iteration=Iteration(data["iteration"]),
            rows=int(data["rows"]),
            cpu_seconds=float(data["cpu_seconds"]),
            wall_seconds=float(data["wall_seconds"]),
            holdout_metric=None
            if data.get("holdout_metric") is None
            else float(data["holdout_metric"]),
            worker=dict(data.get("worker") or {}),
            warm_start=data.get("warm_start"),
        )


def load_result(result: JobResult, store: ArtifactStore) -> TrainedModel:
    """The trained bundle of ``result``, materialized from the store (sha256 verified)."""
    with tempfile.TemporaryDirectory(prefix="lifelong-job-") as tmp:
        path = store.materialize(result.bundle_sha256, Path(tmp) / "bundle")
        bundle = ModelBundle.load(path, signer=Signer.from_file(store.root.parent / "signing.key"))
    return TrainedModel(
        bundle=bundle,
        mode=result.mode,
        iteration=result.iteration,
        rows=result.rows,
        cpu_seconds=result.cpu_seconds,
        wall_seconds=result.wall_seconds,
        warm_start=result.warm_start,
    )


class Executor(ABC):
    """Runs training jobs somewhere and returns their results, in the order given."""

    kind: ClassVar[str]

    @abstractmethod
    def run(self, jobs: Sequence[TrainingJob]) -> list[JobResult]:
        """Run ``jobs`` (in parallel where the executor can) and wait for all of them."""

    def run_written(
        self, jobs: Sequence[TrainingJob], *, frames: Mapping[str, pd.DataFrame], store: ArtifactStore
    ) -> list[JobResult]:
        """Run ``jobs`` whose snapshots this process has just written to ``store``.

        ``frames`` holds each snapshot's rows by sha256. An executor that trains in this
        process trains on them and writes through ``store`` (nothing read back); the others
        run the jobs as :meth:`run` does (their workers read the snapshots from the store).
        """
        return self.run(jobs)

    def saved_bundle(self, result: JobResult) -> Path | None:
        """A folder holding ``result``'s bundle exactly as stored, when this process has one.

        Valid until the next batch of jobs; the caller only reads (or hard-links) its files.
        """
        return None

    def train(self, job: TrainingJob, store: ArtifactStore) -> TrainedModel:
        """Run one job and load its bundle."""
        (result,) = self.run([job])
        return self.load(result, store)

    def load(self, result: JobResult, store: ArtifactStore) -> TrainedModel:
        """The trained model of one of this executor's results (by default read from the store)."""
        return load_result(result, store)

    def close(self) -> None:
        """Release workers (idempotent)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


__all__ = ["Executor", "JobResult", "TrainingJob", "load_result"]
