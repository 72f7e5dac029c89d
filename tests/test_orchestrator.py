"""The loop on a file source: replay, stateful versions with lineage, model iteration, stage 1 commands."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from lifelong.config import load_config
from lifelong.errors import IncompatibleParentError
from lifelong.ingest import run_replay
from lifelong.orchestrator import Orchestrator, UpdateResult
from lifelong.registry.types import TrainingMode
from lifelong.runtime import Pipeline
from lifelong.training import ModelBundle, Trainer, read_snapshot
from lifelong.triggers import Decision
from pipeline_support import write_spec, write_stream


def test_replay_creates_stateful_versions_with_lineage(tmp_path: Path, database_url: str) -> None:
    write_stream(tmp_path / "events.csv")
    pipeline = Pipeline.open(load_config(write_spec(tmp_path, registry_url=database_url)))
    try:
        summary = run_replay(pipeline, step=timedelta(hours=1))
        assert summary["rows"] == 6 * 24 * 20 and summary["dead_letters"] == 0
        versions = pipeline.registry.versions("churn")
        assert [v.version for v in versions][:3] == ["1.0", "1.1", "1.2"]
        first, second = versions[0], versions[1]
        assert first.lineage.mode is TrainingMode.STATELESS and first.parent is None
        assert second.lineage.mode is TrainingMode.STATEFUL and second.parent == "1.0"
        assert second.lineage.trigger["kind"] == "interval"
        assert second.evaluation["gates"] and "passed" in second.evaluation
        # The snapshot is exactly the rows used, content-addressed and readable.
        snapshot = read_snapshot(pipeline.registry.artifacts, second.lineage.snapshot)  # type: ignore[arg-type]
        assert len(snapshot) == second.lineage.snapshot.rows == second.metrics["train_rows"]  # type: ignore[union-attr]
        assert snapshot["event_time"].min() >= pd.Timestamp(first.lineage.snapshot.end)  # type: ignore[union-attr]
        assert second.lineage.library_versions["lightgbm"]
        assert summary["champion"] == pipeline.registry.alias_version("churn", "champion")
    finally:
        pipeline.close()


def test_model_iteration_starts_a_new_major_and_stateful_refuses_other_shapes(tmp_path: Path) -> None:
    write_stream(tmp_path / "events.csv", days=4)
    pipeline = Pipeline.open(load_config(write_spec(tmp_path)))
    run_replay(pipeline, step=timedelta(hours=6))
    pipeline.close()
    # Same data, a model with another shape: model iteration.
    changed = write_spec(tmp_path, model={"kind": "lightgbm", "n_estimators": 30, "num_leaves": 15})
    pipeline = Pipeline.open(load_config(changed))
    try:
        now = pipeline.store.window("events")["event_time"].max().to_pydatetime() + timedelta(seconds=1)
        outcome = Orchestrator(pipeline).update(now, Decision(True, "manual", "new architecture"))
        assert isinstance(outcome, UpdateResult)
        assert outcome.version == "2.0" and outcome.iteration == "model" and outcome.mode == "stateless"
        champion = pipeline.registry.get_alias("churn", "champion")
        assert champion is not None
        orchestrator = Orchestrator(pipeline)
        old = orchestrator.fresh_bundle(pipeline.registry.get("churn", "1.0"))
        frame = pipeline.labeler.label(pipeline.store, None, now, now=now).frame
        with pytest.raises(IncompatibleParentError, match="expected the same features and model shape"):
            Trainer().train(pipeline.training_spec(), frame, mode=TrainingMode.STATEFUL, parent=old, parent_version="1.0")
    finally:
        pipeline.close()


def test_bundle_round_trip_predicts_the_same(tmp_path: Path) -> None:
    write_stream(tmp_path / "events.csv", days=3)
    pipeline = Pipeline.open(load_config(write_spec(tmp_path)))
    try:
        run_replay(pipeline, step=timedelta(hours=12))
        version = pipeline.registry.versions("churn")[-1]
        orchestrator = Orchestrator(pipeline)
        a = orchestrator.fresh_bundle(version)
        b = ModelBundle.load(pipeline.registry.load_artifact("churn", version.version, tmp_path / "copy"))
        rows = pipeline.store.window("events").head(50)
        assert (a.predict_proba_frame(rows) == b.predict_proba_frame(rows)).all()
    finally:
        pipeline.close()


def test_while_nothing_serves_the_same_model_retrained_stays_in_its_major(tmp_path: Path) -> None:
    write_stream(tmp_path / "events.csv", days=3)
    strict = {"metric": "roc_auc", "gates": [{"kind": "min_rows", "rows": 10**9}]}  # every challenger rejected
    pipeline = Pipeline.open(load_config(write_spec(tmp_path, evaluation=strict)))
    try:
        run_replay(pipeline, step=timedelta(hours=12))
        versions = pipeline.registry.versions("churn")
        assert len(versions) >= 2 and pipeline.registry.alias_version("churn", "champion") is None
        assert [v.version for v in versions] == [f"1.{minor}" for minor in range(len(versions))]
        assert all(v.lineage.parent is None for v in versions)
        assert [v.lineage.iteration.value for v in versions] == ["model"] + ["data"] * (len(versions) - 1)
    finally:
        pipeline.close()
    changed = write_spec(tmp_path, evaluation=strict, model={"kind": "lightgbm", "n_estimators": 30, "num_leaves": 15})
    pipeline = Pipeline.open(load_config(changed))
    try:
        now = pipeline.store.window("events")["event_time"].max().to_pydatetime() + timedelta(seconds=1)
        outcome = Orchestrator(pipeline).update(now, Decision(True, "manual", "new architecture"))
        assert isinstance(outcome, UpdateResult) and outcome.version == "2.0" and outcome.iteration == "model"
    finally:
        pipeline.close()
