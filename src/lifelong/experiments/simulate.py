"""``lifelong simulate``: replay a historical stream through full update policies.

The replay uses the production pieces — the file source and its schema validation, the
ingest path (:func:`lifelong.ingest.store_batch` into the Parquet event store), the
orchestrator (triggers, stateful or stateless training, gates, promotion, the registry) and
the prediction service answering with the registry's champion — on a clock that follows the
data's own time. Each batch of rows is first enriched with its point-in-time context
(:mod:`lifelong.experiments.context`: the last label that had arrived given the label delay,
recent changes of the inputs), then predicted by the champion serving at that moment, then
stored; its labels reach training only once they would have arrived (the column labeler's
delay). So every row is predicted before its label is used (prequential evaluation).

The context stage is the one piece a ``lifelong run`` spec cannot express yet (the features
section has no point-in-time context features): the replay computes them on each batch
between the source and the store, exactly as a feature service upstream of the model would,
and both serving and training read the stored columns. ``--no-context`` replays the raw inputs.

Batching is a speed device only: the context features of a row, and the answer given before
any model serves (the most frequent label that had arrived), depend on its event time, never on
where a batch was cut; the champion that answers a batch is the one serving when the batch's
first row arrived (at most one batch staler than row-by-row serving). Every policy is replayed
in batches of the ``default`` policy's update cadence (250 to 500 rows), so each of its updates
lands at a batch's end and answers the very next row, as row-by-row serving would. The events
stream is compacted every ``compact_every`` batches, as a long-running deployment does, so
that the store's file count does not grow with the replay.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lifelong.clock import ManualClock
from lifelong.errors import DataError
from lifelong.experiments.arrivals import event_times
from lifelong.experiments.context import StreamContext
from lifelong.experiments.majority import ArrivedMajority
from lifelong.experiments.policies import policy_config, update_rows
from lifelong.experiments.profile import StreamProfile
from lifelong.ingest import STREAM, open_source, store_batch
from lifelong.orchestrator import Orchestrator, SkippedUpdate, UpdateResult
from lifelong.runtime import Pipeline
from lifelong.serving import ModelCatalog, PredictionService
from lifelong.serving.registry_loader import RegistryModelLoader


@dataclass
class PolicyResult:
    """Served accuracy, speed and training cost of one policy.

    Examples
    --------
    >>> result = PolicyResult("default", rows=4, scored=4, correct=3, seconds=2.0, cpu_s=1.0)
    >>> result.accuracy, result.to_dict()["samples_per_s"], result.to_dict()["samples_per_cpu_s"]
    (0.75, 2.0, 4.0)
    """

    policy: str
    rows: int = 0
    scored: int = 0
    correct: int = 0
    seconds: float = 0.0
    cpu_s: float = 0.0
    train_cpu_s: float = 0.0
    versions: int = 0
    promotions: int = 0
    skipped: int = 0
    timeline: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.scored if self.scored else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "accuracy": round(self.accuracy, 6),
            "samples_per_s": round(self.rows / self.seconds, 1) if self.seconds else None,
            "samples_per_cpu_s": round(self.rows / self.cpu_s, 1) if self.cpu_s else None,
            "cpu_s": round(self.cpu_s, 3),
            "train_cpu_s": round(self.train_cpu_s, 3),
            "versions": self.versions,
            "promotions": self.promotions,
            "skipped_updates": self.skipped,
            "timeline": self.timeline,
        }


class _Timeline:
    """Accuracy of the served predictions per bucket of labeled rows."""

    def __init__(self, size: int) -> None:
        self.size, self.scored, self.correct = size, 0, 0
        self.points: list[dict[str, Any]] = []

    def add(self, scored: int, correct: int, until: str) -> None:
        self.scored += scored
        self.correct += correct
        if self.scored >= self.size:
            self.close(until)

    def close(self, until: str) -> None:
        if self.scored:
            self.points.append({"until": until, "rows": self.scored, "accuracy": round(self.correct / self.scored, 4)})
        self.scored = self.correct = 0


def _stream_start(profile: StreamProfile) -> pd.Timestamp:
    first = pd.Timestamp(pd.read_csv(profile.path, usecols=[profile.timestamp], nrows=1).iloc[0, 0])
    return first.tz_localize("UTC") if first.tzinfo is None else first.tz_convert("UTC")


def simulate_policy(
    profile: StreamProfile,
    policy: str,
    *,
    label_delay: timedelta = timedelta(0),
    batch_size: int | None = None,
    context: bool = True,
    buckets: int = 40,
    compact_every: int = 20,
    progress: Callable[[int, int, str], None] | None = None,
) -> PolicyResult:
    """Replay the stream under ``policy`` and measure what the served predictions got right.

    ``batch_size``: rows per batch (None: the ``default`` policy's update cadence,
    :func:`~lifelong.experiments.policies.update_rows`).
    """
    result = PolicyResult(policy)
    batch_size = batch_size if batch_size is not None else update_rows(profile.rows)
    enricher = (
        StreamContext(numeric=profile.numeric, target=profile.target, classes=profile.classes, delay=label_delay)
        if context
        else None
    )
    timeline = _Timeline(max(1, profile.rows // buckets))
    fallback = ArrivedMajority(profile.classes, delay=label_delay)
    with tempfile.TemporaryDirectory(prefix=f"lifelong-sim-{policy}-") as tmp:
        config = policy_config(profile, policy, home=Path(tmp), context=enricher, label_delay=label_delay, batch_size=batch_size)
        clock = ManualClock(_stream_start(profile).to_pydatetime())
        pipeline = Pipeline.open(config, clock=clock, durable=False)

        def record(outcome: UpdateResult | SkippedUpdate) -> None:
            if isinstance(outcome, UpdateResult):
                result.versions += 1
                result.promotions += int(outcome.promoted)
                result.train_cpu_s += outcome.train_cpu_s
            else:
                result.skipped += 1

        orchestrator = Orchestrator(pipeline, on_update=record)
        catalog = ModelCatalog(RegistryModelLoader(pipeline.registry, loaded=orchestrator.loaded_bundle))
        service = PredictionService(catalog, None, clock=clock, extra="ignore")
        inputs = [*config.features.numeric, *config.features.categorical]
        serving = False
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            with open_source(pipeline) as source:
                for index, batch in enumerate(source.read()):
                    frame = batch.frame
                    if len(frame):
                        if enricher is not None:
                            frame = enricher.enrich(frame)
                            batch = replace(batch, frame=frame)
                        clock.set(max(clock.now(), frame["event_time"].min().to_pydatetime()))
                        truth = frame[profile.target]
                        known = truth.notna().to_numpy()
                        labels = truth[known].map(_label_text).to_numpy(dtype=object)
                        if serving:
                            predicted = np.asarray(service.predict(pipeline.name, frame[inputs]).labels, dtype=object).astype(str)
                        else:  # before the first version: the most frequent label that had arrived
                            arrived = np.full(len(frame), None, dtype=object)
                            arrived[known] = labels
                            predicted = fallback.answer(event_times(frame), arrived.tolist())
                        hits = int(np.sum(predicted[known].astype(str) == labels.astype(str)))
                        result.rows += len(frame)
                        result.scored += int(known.sum())
                        result.correct += hits
                        end = frame["event_time"].max().to_pydatetime()
                        timeline.add(int(known.sum()), hits, end.isoformat())
                    store_batch(pipeline, batch)
                    if len(frame):
                        clock.set(max(clock.now(), end + timedelta(microseconds=1)))
                        if isinstance(orchestrator.step(clock.now()), UpdateResult):
                            catalog.refresh(pipeline.name)
                            serving = serving or pipeline.registry.alias_version(pipeline.name, "champion") is not None
                    if compact_every and index % compact_every == compact_every - 1:
                        pipeline.store.compact(STREAM)
                    if progress is not None:
                        progress(result.rows, profile.rows, policy)
        finally:
            result.seconds = time.perf_counter() - started
            result.cpu_s = time.process_time() - cpu_started
            catalog.stop()
            pipeline.close()
    timeline.close("end")
    result.timeline = timeline.points
    if result.scored == 0:
        raise DataError(f"{profile.target}: no labeled rows were scored; check the target column and --label-delay")
    return result


def _label_text(value: Any) -> str:
    """A label as the service returns it: 1.0 read from a CSV is the class 1."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def simulate(
    profile: StreamProfile,
    policies: Sequence[str],
    *,
    label_delay: timedelta = timedelta(0),
    batch_size: int | None = None,
    context: bool = True,
    progress: Callable[[int, int, str], None] | None = None,
) -> dict[str, Any]:
    """Every policy on the same stream: ``{"rows": n, "policies": {name: {...}}}``."""
    results = {
        name: simulate_policy(
            profile, name, label_delay=label_delay, batch_size=batch_size, context=context, progress=progress
        ).to_dict()
        for name in policies
    }
    return {
        "rows": profile.rows,
        "features": {
            "numeric": list(profile.numeric),
            "categorical": sorted(profile.categorical),
            "dropped": profile.dropped,
            "context": context,
        },
        "label_delay_s": label_delay.total_seconds(),
        "batch_size": batch_size if batch_size is not None else update_rows(profile.rows),
        "policies": results,
    }


__all__ = ["PolicyResult", "simulate", "simulate_policy"]
