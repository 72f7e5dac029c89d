"""Training: snapshots, bundles and the stateless / stateful trainer."""

from __future__ import annotations

from lifelong.training.bundle import ModelBundle
from lifelong.training.snapshot import read_snapshot, write_snapshot
from lifelong.training.trainer import TrainedModel, Trainer, TrainingSpec

__all__ = ["ModelBundle", "TrainedModel", "Trainer", "TrainingSpec", "read_snapshot", "write_snapshot"]
