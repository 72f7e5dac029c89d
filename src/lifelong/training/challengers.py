"""Train the challengers of one update through the pipeline's executor, in one batch.

For each planned challenger the training rows are written as a content-addressed snapshot
first; the executor then trains all of them at once (in parallel on a process pool or Ray)
from those snapshots and the champion's artifact. An executor in this process trains on the
rows just written, without reading them back. Each result comes back with the metrics the
orchestrator records on the version besides the training cost: the recalibration decision
and the forgetting measured on the ancestors' training windows.

A challenger whose training fails does not take the others down: when the batch fails, each
job is run again alone, and the ones that fail come back as :class:`FailedChallenger` with
their error. Only when every challenger fails does the update fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from lifelong.errors import LifelongError
from lifelong.registry.types import ModelVersion, SnapshotRef, TrainingMode
from lifelong.training.bundle import ModelBundle
from lifelong.training.executors import JobResult, TrainingJob
from lifelong.training.forgetting import forgetting_metrics
from lifelong.training.recalibration import RecalibrationDecision
from lifelong.training.snapshot import write_snapshot
from lifelong.training.trainer import TrainedModel

if TYPE_CHECKING:
    from lifelong.runtime import Pipeline

Plan = tuple[str | None, TrainingMode, Any, pd.DataFrame, tuple[str, ...] | None]
"""(challenger name, mode, model config or None, training rows, feature columns or None)"""


@dataclass(frozen=True)
class PreparedChallenger:
    """A trained challenger, the snapshot it was trained on, and metrics to record on its version."""

    trained: TrainedModel
    snapshot: SnapshotRef
    metrics: dict[str, Any] = field(default_factory=dict)
    saved: Path | None = None  # the bundle as the executor stored it, until its next batch


@dataclass(frozen=True)
class FailedChallenger:
    """A planned challenger whose training failed, and why."""

    name: str | None
    error: LifelongError

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "error": str(self.error)}


def snapshot_rows(pipeline: Pipeline, rows: pd.DataFrame) -> SnapshotRef:
    """Store the training rows of one challenger as its snapshot."""
    end = rows["event_time"].max() + pd.Timedelta(microseconds=1)
    return write_snapshot(
        pipeline.registry.artifacts,
        rows,
        start=rows["event_time"].min().to_pydatetime(),
        end=end.to_pydatetime(),
        source=f"{pipeline.config.name}:{type(pipeline.labeler).__name__}",
        label=pipeline.label_column,
    )


def train_challengers(
    pipeline: Pipeline,
    plans: Sequence[Plan],
    champion: ModelVersion | None,
    champion_bundle: ModelBundle | None,
    recalibration: RecalibrationDecision | None = None,
) -> list[PreparedChallenger | FailedChallenger]:
    """Snapshot, then train every plan ``(name, mode, model, rows, columns)`` in one executor batch.

    Raises the first failure when no challenger could be trained.
    """
    frames = [rows.reset_index(drop=True) for _, _, _, rows, _ in plans]
    snapshots = _snapshot_each(pipeline, frames)
    jobs = [
        TrainingJob.for_pipeline(
            pipeline,
            snapshot,
            mode=mode,
            parent=champion if champion is not None and mode is TrainingMode.STATEFUL else None,
            model=model,
            name=name,
            teacher=_teacher(pipeline, model, columns, mode, champion, champion_bundle),
            columns=columns,
        )
        for (name, mode, model, _, columns), snapshot in zip(plans, snapshots, strict=True)
    ]
    store = pipeline.registry.artifacts
    written = {snapshot.sha256: rows for snapshot, rows in zip(snapshots, frames, strict=True)}
    results = _run_each(pipeline, jobs, written)
    prepared: list[PreparedChallenger | FailedChallenger] = []
    for result, snapshot, (name, *_) in zip(results, snapshots, plans, strict=True):
        if isinstance(result, LifelongError):
            prepared.append(FailedChallenger(name, result))
            continue
        trained = pipeline.executor.load(result, pipeline.registry.artifacts)
        metrics: dict[str, Any] = {"executor": pipeline.executor.kind}
        if recalibration is not None:
            metrics["recalibration"] = recalibration.to_dict()
        if champion is not None and champion_bundle is not None:
            metrics.update(forgetting_metrics(pipeline, champion, champion_bundle, trained.bundle))
        prepared.append(PreparedChallenger(trained, snapshot, metrics, pipeline.executor.saved_bundle(result)))
    return prepared


def _snapshot_each(pipeline: Pipeline, frames: Sequence[pd.DataFrame]) -> list[SnapshotRef]:
    """One snapshot per distinct frame: challengers trained on the same rows share theirs."""
    written: list[tuple[pd.DataFrame, SnapshotRef]] = []
    snapshots: list[SnapshotRef] = []
    for rows in frames:
        same = next((ref for other, ref in written if len(other) == len(rows) and other.equals(rows)), None)
        if same is None:
            same = snapshot_rows(pipeline, rows)
            written.append((rows, same))
        snapshots.append(same)
    return snapshots


def _run_each(
    pipeline: Pipeline, jobs: Sequence[TrainingJob], written: dict[str, pd.DataFrame]
) -> list[JobResult | LifelongError]:
    """The jobs' results in one batch; after a failure, each job alone, its failure in its place."""
    store = pipeline.registry.artifacts
    try:
        return list(pipeline.executor.run_written(jobs, frames=written, store=store))  # never read back
    except LifelongError as failure:
        if len(jobs) == 1:
            raise
        first: LifelongError = failure
    outcomes: list[JobResult | LifelongError] = []
    for job in jobs:
        try:
            outcomes.extend(pipeline.executor.run_written([job], frames=written, store=store))
        except LifelongError as exc:
            outcomes.append(exc)
    if all(isinstance(outcome, LifelongError) for outcome in outcomes):
        raise first
    return outcomes


def _teacher(
    pipeline: Pipeline,
    model: Any,
    columns: tuple[str, ...] | None,
    mode: TrainingMode,
    champion: ModelVersion | None,
    champion_bundle: ModelBundle | None,
) -> ModelVersion | None:
    """The champion, when this plan is a model iteration whose spec starts from it (``warm_start``)."""
    if champion is None or champion_bundle is None or mode is TrainingMode.STATEFUL:
        return None
    spec = pipeline.training_spec(model, columns)
    return champion if spec.warm_start is not None and champion_bundle.model_hash != spec.model_hash else None


__all__ = ["FailedChallenger", "Plan", "PreparedChallenger", "snapshot_rows", "train_challengers"]
