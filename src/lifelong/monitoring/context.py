"""What monitoring reads about one model: its stored inputs, labels, champion and history.

A :class:`MonitorContext` is built from a running pipeline (:meth:`MonitorContext.from_pipeline`)
and handed to the triggers that need data (drift, performance, cost) so that their ``check``
stays a pure function of the :class:`~lifelong.triggers.TriggerState` they are given. It caches
what belongs to a champion version (its training rows, its scores on them) until the champion
changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from lifelong.events.store import EventStore
from lifelong.features import FeaturePipeline
from lifelong.labels.base import Labeler
from lifelong.registry import Registry
from lifelong.registry.types import ModelVersion
from lifelong.training.bundle import ModelBundle
from lifelong.training.snapshot import read_snapshot

if TYPE_CHECKING:
    from lifelong.runtime import Pipeline

CHAMPION = "champion"
_REFERENCE_SEED = 0


def trained_at(version: ModelVersion) -> datetime | None:
    """When the loop trained ``version`` (the trigger's time), or ``None`` if unknown."""
    at = version.lineage.trigger.get("at")
    return datetime.fromisoformat(at) if isinstance(at, str) else None


def positive_scores(bundle: ModelBundle, frame: pd.DataFrame) -> NDArray[np.float64]:
    """The score a prediction-drift test watches: P(second class) for binary models, else the top probability."""
    proba = bundle.predict_proba_frame(frame)
    return proba[:, 1] if proba.shape[1] == 2 else proba.max(axis=1)


@dataclass
class MonitorContext:
    """Read access to one model's data, labels, registry and champion.

    Parameters
    ----------
    name
        The model.
    store, labeler, registry, features
        The pipeline's pieces.
    stream
        The stream that holds the model's inputs (the prediction log for natural labels).
    holdout
        The spec's holdout: the champion was judged on ``[trained_at - holdout, trained_at)``.
    metric
        The evaluation metric.
    load_bundle
        The verified, loaded bundle of a version.
    max_reference_rows
        Larger training snapshots are sampled down (seeded) to this many rows.
    label_delay
        How long after its event a row's label is final: natural labels' ``window`` plus
        ``allowed_lateness``, column labels' ``delay``, 0 for labeling functions.
    """

    name: str
    store: EventStore
    labeler: Labeler
    registry: Registry
    features: FeaturePipeline
    stream: str
    holdout: timedelta
    metric: str
    load_bundle: Callable[[ModelVersion], ModelBundle]
    max_reference_rows: int = 50_000
    label_delay: timedelta = timedelta(0)
    _cache: dict[tuple[str, ...], Any] = field(default_factory=dict)

    @classmethod
    def from_pipeline(cls, pipeline: Pipeline, load_bundle: Callable[[ModelVersion], ModelBundle]) -> MonitorContext:
        from lifelong.config import NaturalLabelsConfig

        labels = pipeline.config.labels
        if isinstance(labels, NaturalLabelsConfig):
            stream, label_delay = labels.predictions, labels.window + labels.allowed_lateness
        else:
            stream, label_delay = "events", getattr(labels, "delay", timedelta(0))
        return cls(
            name=pipeline.name,
            store=pipeline.store,
            labeler=pipeline.labeler,
            registry=pipeline.registry,
            features=pipeline.features,
            stream=stream,
            holdout=pipeline.config.training.holdout,
            metric=pipeline.config.evaluation.metric,
            load_bundle=load_bundle,
            label_delay=label_delay,
        )

    def champion(self) -> ModelVersion | None:
        return self.registry.get_alias(self.name, CHAMPION)

    def versions(self) -> list[ModelVersion]:
        return self.registry.versions(self.name)

    def cached(self, key: tuple[str, ...], build: Callable[[], Any]) -> Any:
        """``build()`` once per ``key`` (keys start with the version they belong to)."""
        if key not in self._cache:
            stale = [old for old in self._cache if old[0] != key[0]]
            for old in stale:
                del self._cache[old]
            self._cache[key] = build()
        return self._cache[key]

    def complete_holdout(self, version: ModelVersion) -> bool:
        """Whether ``version``'s held-out rows are final (no label pending), so what derives from them can be kept."""
        return (version.version, "holdout") in self._cache

    def derived(self, version: ModelVersion, name: str, build: Callable[[], Any]) -> Any:
        """``build()`` from ``version``'s held-out rows: kept once they are final, recomputed while labels are pending."""
        key = (version.version, "derived", name)
        if key in self._cache:
            return self._cache[key]
        value = build()
        if self.complete_holdout(version):
            self.cached(key, lambda: value)
        return value

    def window_memo(self, version: ModelVersion) -> dict[tuple[Any, ...], Any]:
        """Where :class:`~lifelong.monitoring.performance.PerformanceMonitor` keeps ``version``'s complete windows."""
        memo: dict[tuple[Any, ...], Any] = self.cached((version.version, "windows"), dict)
        return memo

    def reference(self, version: ModelVersion) -> pd.DataFrame:
        """The rows ``version`` was trained on (its snapshot), sampled down if large; empty if none."""

        def load() -> pd.DataFrame:
            ref = version.lineage.snapshot
            if ref is None:
                return pd.DataFrame()
            frame = read_snapshot(self.registry.artifacts, ref)
            if len(frame) > self.max_reference_rows:
                frame = frame.sample(n=self.max_reference_rows, random_state=_REFERENCE_SEED).sort_index()
            return frame.reset_index(drop=True)

        frame: pd.DataFrame = self.cached((version.version, "reference"), load)
        return frame

    def inputs(self, start: datetime, end: datetime) -> pd.DataFrame:
        """The model's input rows with ``start <= event_time < end``."""
        return self.store.window(self.stream, start, end)

    def holdout_rows(self, version: ModelVersion, now: datetime) -> pd.DataFrame:
        """Labeled rows of the window ``version`` was judged on, labeled as known at ``now``.

        Kept for later calls only once no label of the window is pending any more.
        """
        at = trained_at(version)
        if at is None:
            return pd.DataFrame()
        key = (version.version, "holdout")
        if key in self._cache:
            frame: pd.DataFrame = self._cache[key]
            return frame
        labeled = self.labeler.label(self.store, at - self.holdout, at, now=now)
        if not labeled.stats.get("pending"):
            self.cached(key, lambda: labeled.frame)
        return labeled.frame

    def scorer(self, version: ModelVersion) -> Callable[[pd.DataFrame], tuple[NDArray[np.float64], NDArray[Any]]]:
        """Rows → (probabilities, classes) of ``version``."""
        bundle = self.load_bundle(version)

        def score(frame: pd.DataFrame) -> tuple[NDArray[np.float64], NDArray[Any]]:
            return bundle.predict_proba_frame(frame), np.asarray(bundle.classes_)

        return score


__all__ = ["MonitorContext", "positive_scores", "trained_at"]
