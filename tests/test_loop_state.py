"""State the loop keeps between steps: the last training, and the bundles a server in the same process serves."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lifelong.config import load_config
from lifelong.ingest import run_replay
from lifelong.orchestrator import Orchestrator, SkippedUpdate, UpdateResult
from lifelong.registry.types import TrainingMode
from lifelong.runtime import Pipeline
from lifelong.serving.registry_loader import RegistryModelLoader
from lifelong.triggers import Decision
from pipeline_support import write_spec, write_stream


@pytest.fixture()
def pipeline(tmp_path: Path) -> Any:
    write_stream(tmp_path / "events.csv", days=3)
    lenient = {"metric": "roc_auc", "gates": [{"kind": "not_worse", "tolerance": 1.0}]}  # every challenger promoted
    opened = Pipeline.open(load_config(write_spec(tmp_path, evaluation=lenient)))
    run_replay(opened, step=timedelta(hours=12))
    yield opened
    opened.close()


def test_the_last_training_follows_an_update_made_by_another_orchestrator(pipeline: Pipeline) -> None:
    watcher = Orchestrator(pipeline)
    now = pipeline.store.window("events")["event_time"].max().to_pydatetime() + timedelta(hours=1)
    before = watcher.trigger_state(now).last_trained_at
    assert before is not None and before < now
    outcome = Orchestrator(pipeline).update(now, Decision(True, "manual", "retrain"), labeled_rows=123)
    assert isinstance(outcome, UpdateResult)
    state = watcher.trigger_state(now + timedelta(seconds=1))
    assert state.last_trained_at == now and state.labeled_rows_at_last_training == 123


def test_a_firing_is_trained_once_whichever_orchestrator_trained_it(pipeline: Pipeline) -> None:
    first, second = Orchestrator(pipeline), Orchestrator(pipeline)
    now = pipeline.store.window("events")["event_time"].max().to_pydatetime() + timedelta(hours=1)
    first.trigger_state(now)  # both have read the versions before the firing is trained
    second.trigger_state(now)
    decision = Decision(True, "manual", "retrain", firing_id="occasion-1")
    trained = first.update(now, decision, mode=TrainingMode.STATELESS)
    assert isinstance(trained, UpdateResult)
    for orchestrator in (first, second):
        again = orchestrator.update(now + timedelta(minutes=1), decision, mode=TrainingMode.STATELESS)
        assert isinstance(again, SkippedUpdate) and trained.version in again.reason
    other = first.update(
        now + timedelta(minutes=2), Decision(True, "manual", "retrain", firing_id="occasion-2"), mode=TrainingMode.STATELESS
    )
    assert isinstance(other, UpdateResult)


def test_the_server_serves_the_bundle_its_orchestrator_holds_without_reading_it_again(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    orchestrator = Orchestrator(pipeline)
    now = pipeline.store.window("events")["event_time"].max().to_pydatetime() + timedelta(hours=1)
    outcome = orchestrator.update(now, Decision(True, "manual", "retrain"))
    assert isinstance(outcome, UpdateResult) and outcome.promoted
    rows = pipeline.store.window("events").tail(40)
    from_registry = RegistryModelLoader(pipeline.registry).load("churn", outcome.version)
    held = orchestrator.loaded_bundle("churn", outcome.version)
    assert held is not None and orchestrator.loaded_bundle("other", outcome.version) is None

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("read from the registry again")

    loader = RegistryModelLoader(pipeline.registry, loaded=orchestrator.loaded_bundle)
    monkeypatch.setattr(pipeline.registry, "load_artifact", refuse)
    served = loader.load("churn", outcome.version)
    assert served.version == outcome.version
    assert np.array_equal(served.predict(rows)[1], from_registry.predict(rows)[1])
    other = next(v.version for v in pipeline.registry.versions("churn") if orchestrator.loaded_bundle("churn", v.version) is None)
    with pytest.raises(AssertionError, match="read from the registry again"):
        loader.load("churn", other)  # not held: read (and verified) from the registry


def test_an_update_counts_the_fitting_cpu_of_every_challenger(tmp_path: Path) -> None:
    write_stream(tmp_path / "events.csv", days=3)
    evaluation = {
        "metric": "roc_auc",
        "gates": [{"kind": "not_worse", "tolerance": 1.0}],
        "challengers": [{"name": "short", "window": "1d"}, {"name": "long", "window": "2d"}],
    }
    training = {"mode": "stateless", "window": "2d", "holdout": "6h", "min_rows": 100}
    pipeline = Pipeline.open(load_config(write_spec(tmp_path, evaluation=evaluation, training=training)))
    try:
        run_replay(pipeline, step=timedelta(hours=12))
        now = pipeline.store.window("events")["event_time"].max().to_pydatetime() + timedelta(hours=1)
        outcome = Orchestrator(pipeline).update(now, Decision(True, "manual", "retrain"))
        assert isinstance(outcome, UpdateResult) and len(outcome.candidates) == 2
        fitted = [pipeline.registry.get("churn", c["version"]).metrics["train_cpu_s"] for c in outcome.candidates]
        assert outcome.train_cpu_s == pytest.approx(sum(fitted)) and min(fitted) > 0
    finally:
        pipeline.close()
