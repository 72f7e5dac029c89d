"""``lifelong simulate``: replay a historical stream through full update policies.

The replay uses the production pieces — the file source and ingest path, the event store,
the orchestrator (triggers, stateful or stateless training, gates, promotion), and the
prediction service answering with the registry's champion — on a clock that follows the
data's own time. Each row is predicted by the champion serving at that moment, before its
label is used for training (prequential evaluation).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lifelong.clock import ManualClock
from lifelong.errors import DataError
from lifelong.experiments.policies import policy_config
from lifelong.experiments.profile import StreamProfile
from lifelong.ingest import open_source, store_batch
from lifelong.orchestrator import Orchestrator, SkippedUpdate, UpdateResult
from lifelong.runtime import Pipeline
from lifelong.serving import ModelCatalog, PredictionService
from lifelong.serving.registry_loader import RegistryModelLoader


@dataclass
class PolicyResult:
    """Served accuracy, speed and training cost of one policy."""

    policy: str
    rows: int = 0
    scored: int = 0
    correct: int = 0
    seconds: float = 0.0
    train_cpu_s: float = 0.0
    versions: int = 0
    promotions: int = 0
    timeline: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.scored if self.scored else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "accuracy": round(self.accuracy, 6),
            "samples_per_s": round(self.rows / self.seconds, 1) if self.seconds else None,
            "train_cpu_s": round(self.train_cpu_s, 3),
            "versions": self.versions,
            "promotions": self.promotions,
            "timeline": self.timeline,
        }


def _fallback(counts: dict[Any, int], classes: Sequence[Any]) -> Any:
    """Before any model serves: the most frequent label seen so far (the first class at the start)."""
    return max(counts, key=lambda c: counts[c]) if counts else classes[0]


def simulate_policy(
    profile: StreamProfile,
    policy: str,
    *,
    label_delay: timedelta = timedelta(0),
    batch_size: int = 100,
    buckets: int = 20,
    progress: Callable[[int, int, str], None] | None = None,
) -> PolicyResult:
    """Replay the stream under ``policy`` and measure what the served predictions got right."""
    result = PolicyResult(policy)
    with tempfile.TemporaryDirectory(prefix=f"lifelong-sim-{policy}-") as tmp:
        config = policy_config(profile, policy, home=Path(tmp), label_delay=label_delay, batch_size=batch_size)
        first = pd.Timestamp(pd.read_csv(profile.path, usecols=[profile.timestamp], nrows=1).iloc[0, 0])
        first = first.tz_localize("UTC") if first.tzinfo is None else first.tz_convert("UTC")
        clock = ManualClock(first.to_pydatetime())
        pipeline = Pipeline.open(config, clock=clock, durable=False)

        def record(outcome: UpdateResult | SkippedUpdate) -> None:
            if isinstance(outcome, UpdateResult):
                result.versions += 1
                result.promotions += int(outcome.promoted)
                result.train_cpu_s += outcome.train_cpu_s

        orchestrator = Orchestrator(pipeline, on_update=record)
        catalog = ModelCatalog(RegistryModelLoader(pipeline.registry))
        service = PredictionService(catalog, None, clock=clock, extra="ignore")
        inputs = [*profile.numeric, *profile.categorical]
        counts: dict[Any, int] = {}
        bucket_size = max(1, profile.rows // buckets)
        bucket_scored = bucket_correct = 0
        started = time.perf_counter()
        try:
            with open_source(pipeline) as source:
                for batch in source.read():
                    frame = batch.frame
                    if len(frame):
                        end = frame["event_time"].max().to_pydatetime()
                        clock.set(max(clock.now(), frame["event_time"].min().to_pydatetime()))
                        truth = frame[profile.target]
                        if pipeline.registry.alias_version(pipeline.name, "champion") is not None:
                            predicted = np.asarray(service.predict(pipeline.name, frame[inputs]).labels, dtype=object)
                        else:
                            predicted = np.full(len(frame), _fallback(counts, profile.classes), dtype=object)
                        known = truth.notna().to_numpy()
                        hits = int(sum(str(p) == str(t) for p, t in zip(predicted[known], truth[known], strict=True)))
                        result.rows += len(frame)
                        result.scored += int(known.sum())
                        result.correct += hits
                        bucket_scored += int(known.sum())
                        bucket_correct += hits
                        for value in truth[known]:
                            counts[value] = counts.get(value, 0) + 1
                        if bucket_scored >= bucket_size:
                            result.timeline.append({"until": end.isoformat(), "accuracy": round(bucket_correct / bucket_scored, 4)})
                            bucket_scored = bucket_correct = 0
                    store_batch(pipeline, batch)
                    if len(frame):
                        clock.set(max(clock.now(), end + timedelta(microseconds=1)))
                        if isinstance(orchestrator.step(clock.now()), UpdateResult):
                            catalog.refresh(pipeline.name)
                    if progress is not None:
                        progress(result.rows, profile.rows, policy)
        finally:
            result.seconds = time.perf_counter() - started
            pipeline.close()
    if bucket_scored:
        result.timeline.append({"until": "end", "accuracy": round(bucket_correct / bucket_scored, 4)})
    if result.scored == 0:
        raise DataError(f"{profile.target}: no labeled rows were scored; check the target column and --label-delay")
    return result


def simulate(
    profile: StreamProfile,
    policies: Sequence[str],
    *,
    label_delay: timedelta = timedelta(0),
    batch_size: int = 100,
    progress: Callable[[int, int, str], None] | None = None,
) -> dict[str, Any]:
    """Every policy on the same stream: ``{"rows": n, "policies": {name: {...}}}``."""
    results = {
        name: simulate_policy(profile, name, label_delay=label_delay, batch_size=batch_size, progress=progress).to_dict()
        for name in policies
    }
    return {
        "rows": profile.rows,
        "features": {"numeric": list(profile.numeric), "categorical": sorted(profile.categorical), "dropped": profile.dropped},
        "label_delay_s": label_delay.total_seconds(),
        "policies": results,
    }


__all__ = ["PolicyResult", "simulate", "simulate_policy"]
