"""The trainer: fit from scratch (stateless) or continue the parent's state (stateful)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lifelong.errors import (
    ConfigError,
    DataError,
    IncompatibleParentError,
    LifelongError,
    TrainingError,
)
from lifelong.features import FeaturePipeline
from lifelong.learners.base import Learner
from lifelong.registry.types import Iteration, TrainingMode
from lifelong.training.bundle import ModelBundle
from lifelong.training.trainer_warm_start import WarmStart, warm_started


@dataclass(frozen=True)
class TrainingSpec:
    """What to train: the learner family, its features, and the label column."""

    learner_factory: Callable[[], Learner]
    features: FeaturePipeline
    model_hash: str
    label: str = "label"
    passthrough: tuple[str, ...] = ()
    min_rows: int = 1
    weight: str | None = "sample_weight"
    warm_start: WarmStart | None = None


@dataclass(frozen=True)
class TrainedModel:
    """A trained bundle and what it cost."""

    bundle: ModelBundle
    mode: TrainingMode
    iteration: Iteration
    rows: int
    cpu_seconds: float
    wall_seconds: float
    warm_start: dict[str, Any] | None = None

    def metrics(self) -> dict[str, Any]:
        return {"train_rows": self.rows, "train_cpu_s": self.cpu_seconds, "train_wall_s": self.wall_seconds}


class Trainer:
    """Turns a snapshot into a trained bundle.

    With ``parent`` and mode stateful, the parent's learner is updated on the new rows and the
    result is a data iteration (MINOR bump). Without a parent, or stateless, a fresh learner is
    fit; it is a model iteration (new MAJOR) when the model's shape differs from the parent's.
    A model iteration whose spec has ``warm_start`` starts from ``teacher`` (the champion)
    instead of cold: distilled from it, or grown from it (see
    :mod:`lifelong.training.trainer_warm_start`).
    """

    def train(
        self,
        spec: TrainingSpec,
        frame: pd.DataFrame,
        *,
        mode: TrainingMode,
        parent: ModelBundle | None,
        parent_version: str | None = None,
        teacher: ModelBundle | None = None,
        teacher_version: str | None = None,
    ) -> TrainedModel:
        if spec.label not in frame.columns:
            raise DataError(f"{spec.label}: expected a label column in the training rows, got columns {list(frame.columns)}")
        labeled = frame[frame[spec.label].notna()]
        if len(labeled) < spec.min_rows:
            raise DataError(f"training rows: expected at least {spec.min_rows} labeled rows, got {len(labeled)}")
        X = spec.features.transform(labeled)
        y = labeled[spec.label].to_numpy()
        weights = (
            labeled[spec.weight].to_numpy(dtype="float64")
            if spec.weight is not None and spec.weight in labeled.columns
            else None
        )
        same_shape = parent is not None and parent.model_hash == spec.model_hash
        if mode is TrainingMode.STATEFUL and parent is not None and not same_shape:
            raise IncompatibleParentError(
                f"parent {parent_version}: expected the same features and model shape for a stateful update "
                f"(model hash {parent.model_hash[:12]}), got model hash {spec.model_hash[:12]}; "
                "train from scratch to start a new major version"
            )
        stateful = mode is TrainingMode.STATEFUL and parent is not None and parent.learner.supports_update
        iteration = Iteration.DATA if (parent is not None and same_shape) else Iteration.MODEL
        warm = None
        if not stateful and spec.warm_start is not None and teacher is not None and teacher.model_hash != spec.model_hash:
            warm = spec.warm_start
            iteration = Iteration.MODEL
            if warm.method == "grow" and teacher.features != spec.features:
                raise ConfigError(
                    f"champion {teacher_version}: 'grow' keeps the champion's input layer, expected its features "
                    f"{teacher.features!r}, got {spec.features!r}; use warm_start kind 'distill' to change features"
                )
        cpu0, wall0 = time.process_time(), time.perf_counter()
        try:
            if stateful and parent is not None:
                learner = parent.learner
                learner.update(X, y, sample_weight=weights)
            elif warm is not None and teacher is not None:
                learner = warm_started(
                    warm,
                    teacher=teacher.learner,
                    teacher_rows=teacher.transform(labeled),
                    student=spec.learner_factory(),
                    X=X,
                    y=y,
                    sample_weight=weights,
                )
            else:
                learner = spec.learner_factory()
                learner.fit(X, y, sample_weight=weights)
        except LifelongError:
            raise
        except Exception as exc:  # a library failure becomes a TrainingError naming the cause
            raise TrainingError(f"training {mode.value}: the learner failed: {type(exc).__name__}: {exc}") from exc
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        bundle = ModelBundle(
            learner=learner,
            features=spec.features,
            model_hash=spec.model_hash,
            passthrough=spec.passthrough,
        )
        grown = warm is not None and warm.method == "grow"  # continued from the champion's weights
        return TrainedModel(
            bundle=bundle,
            mode=TrainingMode.STATEFUL if stateful or grown else TrainingMode.STATELESS,
            iteration=iteration,
            rows=int(len(labeled)),
            cpu_seconds=cpu,
            wall_seconds=wall,
            warm_start=None if warm is None else {**warm.to_dict(), "from": teacher_version},
        )


def label_array(frame: pd.DataFrame, label: str) -> np.ndarray[Any, Any]:
    """The label column as an array, refusing a frame without it."""
    if label not in frame.columns:
        raise DataError(f"{label}: expected a label column, got columns {list(frame.columns)}")
    return frame[label].to_numpy()


__all__ = ["TrainedModel", "Trainer", "TrainingSpec", "label_array"]
