"""Model iteration without starting cold: a new major version distilled or grown from the champion."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pipeline_support import write_spec, write_stream

from lifelong.config import load_config
from lifelong.deployment import promote
from lifelong.errors import ConfigError
from lifelong.ingest import run_replay
from lifelong.orchestrator import Orchestrator, UpdateResult
from lifelong.registry.types import Iteration, TrainingMode
from lifelong.runtime import Pipeline
from lifelong.triggers import Decision

pytest.importorskip("torch", reason="the 'torch' extra is not installed")

MLP: dict[str, Any] = {"kind": "torch_mlp", "hidden": [8], "epochs": 5, "update_epochs": 2, "seed": 0}


def _champion_pipeline(tmp_path: Path) -> None:
    """Three days replayed with a small MLP: champion 1.x."""
    write_stream(tmp_path / "events.csv", days=3)
    pipeline = Pipeline.open(load_config(write_spec(tmp_path, model=MLP)))
    try:
        run_replay(pipeline, step=timedelta(hours=12))
        assert pipeline.registry.alias_version("churn", "champion") is not None
    finally:
        pipeline.close()


def _now(pipeline: Pipeline) -> Any:
    return pipeline.store.window("events")["event_time"].max().to_pydatetime() + timedelta(seconds=1)


def test_grow_starts_a_new_major_from_the_champions_function(tmp_path: Path) -> None:
    _champion_pipeline(tmp_path)
    grown_model = {**MLP, "hidden": [12, 12], "learning_rate": 0.001, "warm_start": {"kind": "grow", "seed": 3}}
    pipeline = Pipeline.open(load_config(write_spec(tmp_path, model=grown_model)))
    try:
        orchestrator = Orchestrator(pipeline)
        champion = orchestrator.champion()
        assert champion is not None and champion.major == 1
        champion_bundle = orchestrator.fresh_bundle(champion)
        rows = pipeline.labeler.label(pipeline.store, None, _now(pipeline), now=_now(pipeline)).frame.tail(300)

        # before fine-tuning, the grown network computes the champion's function exactly
        from lifelong.learners.surgery import grow

        grown = grow(champion_bundle.learner, pipeline.new_learner(), seed=3)  # type: ignore[type-var]
        assert grown.hidden == (12, 12) and grown.learning_rate == 0.001
        before = champion_bundle.predict_proba_frame(rows)
        np.testing.assert_allclose(grown.predict_proba(champion_bundle.transform(rows)), before, rtol=0, atol=1e-12)

        outcome = orchestrator.update(_now(pipeline), Decision(True, "manual", "wider and deeper"))
        assert isinstance(outcome, UpdateResult)
        assert outcome.version == "2.0" and outcome.iteration == "model" and outcome.parent == champion.version
        version = pipeline.registry.get("churn", "2.0")
        assert version.lineage.iteration is Iteration.MODEL
        assert version.lineage.mode is TrainingMode.STATEFUL  # continued from the champion's weights
        assert version.lineage.trigger["warm_start"] == {
            "method": "grow", "from": champion.version, "alpha": 0.5, "temperature": 1.0, "seed": 3,
        }
        trained = orchestrator.fresh_bundle(version)
        assert trained.learner.signature()["hidden"] == [12, 12]  # type: ignore[attr-defined]
        # fine-tuned after growing: close to the champion, no longer identical
        after = trained.predict_proba_frame(rows)
        assert 0 < np.abs(after - before).max() < 0.5

        # with 2.0 serving, retraining the same spec is a data iteration of 2.0: warm_start does not apply
        if not outcome.promoted:
            promote(pipeline.registry, "churn", "2.0", actor="test", reason="serve the grown model", force=True)
        later = orchestrator.update(_now(pipeline), Decision(True, "manual", "again"), mode=TrainingMode.STATELESS)
        assert isinstance(later, UpdateResult) and later.version == "2.1" and later.iteration == "data"
        assert "warm_start" not in pipeline.registry.get("churn", "2.1").lineage.trigger
    finally:
        pipeline.close()


def test_distill_trains_new_features_with_the_champion_as_teacher(tmp_path: Path) -> None:
    _champion_pipeline(tmp_path)
    features = {"kind": "tabular", "numeric": ["x1", "x2"], "categorical": {"segment": ["a", "b"]}}
    student = {**MLP, "hidden": [16], "warm_start": {"kind": "distill", "alpha": 0.7, "temperature": 2.0}}
    pipeline = Pipeline.open(load_config(write_spec(tmp_path, model=student, features=features)))
    try:
        orchestrator = Orchestrator(pipeline)
        champion = orchestrator.champion()
        assert champion is not None
        outcome = orchestrator.update(_now(pipeline), Decision(True, "manual", "fewer features"))
        assert isinstance(outcome, UpdateResult) and outcome.version == "2.0" and outcome.iteration == "model"
        version = pipeline.registry.get("churn", "2.0")
        assert version.lineage.mode is TrainingMode.STATELESS and version.parent == champion.version
        assert version.lineage.trigger["warm_start"]["method"] == "distill"
        assert version.lineage.trigger["warm_start"]["from"] == champion.version
        assert version.lineage.trigger["warm_start"]["alpha"] == 0.7
        assert version.evaluation["metric"] == "roc_auc" and version.metrics["holdout_roc_auc"] > 0.6
    finally:
        pipeline.close()


def test_distilled_student_follows_the_teacher_more_than_a_cold_one(tmp_path: Path) -> None:
    """Same rows, same seed: with alpha 1 the student learns the teacher's probabilities."""
    _champion_pipeline(tmp_path)
    student = {**MLP, "hidden": [16]}
    cold = Pipeline.open(load_config(write_spec(tmp_path, model=student)))
    try:
        orchestrator = Orchestrator(cold)
        champion = orchestrator.champion()
        assert champion is not None
        teacher = orchestrator.fresh_bundle(champion)
        rows = cold.labeler.label(cold.store, None, _now(cold), now=_now(cold)).frame.tail(400)
        from lifelong.training import Trainer

        plain = Trainer().train(cold.training_spec(), rows, mode=TrainingMode.STATELESS, parent=None)
        assert plain.warm_start is None
    finally:
        cold.close()
    warm = Pipeline.open(load_config(write_spec(tmp_path, model={**student, "warm_start": {"kind": "distill", "alpha": 1.0}})))
    try:
        distilled = Trainer().train(
            warm.training_spec(), rows, mode=TrainingMode.STATELESS, parent=None, teacher=teacher, teacher_version=champion.version
        )
        assert distilled.warm_start is not None and distilled.warm_start["from"] == champion.version
    finally:
        warm.close()
    target = teacher.predict_proba_frame(rows)[:, 1]
    gap_cold = np.abs(plain.bundle.predict_proba_frame(rows)[:, 1] - target).mean()
    gap_warm = np.abs(distilled.bundle.predict_proba_frame(rows)[:, 1] - target).mean()
    assert gap_warm < gap_cold, (gap_warm, gap_cold)


@pytest.mark.parametrize(
    ("model", "match"),
    [
        ({**MLP, "warm_start": {"kind": "copy"}}, r"model\.warm_start\.kind: expected one of 'distill', 'grow', got 'copy'"),
        ({**MLP, "warm_start": {"kind": "distill", "alpha": 1.5}}, r"model\.warm_start\.alpha: expected less than or equal to 1, got 1\.5"),
        ({**MLP, "warm_start": {"kind": "grow", "depth": 2}}, r"model\.warm_start\.depth: unknown field \(got 2\)"),
    ],
)
def test_bad_warm_start_values_name_the_field(tmp_path: Path, model: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_config(write_spec(tmp_path, model=model))


def test_grow_refuses_a_narrower_network(tmp_path: Path) -> None:
    _champion_pipeline(tmp_path)
    narrow = {**MLP, "hidden": [4], "warm_start": {"kind": "grow"}}
    pipeline = Pipeline.open(load_config(write_spec(tmp_path, model=narrow)))
    try:
        with pytest.raises(ConfigError, match=r"hidden: growing keeps every layer at least as wide, expected layer 0 >= 8 units, got \[4\]"):
            Orchestrator(pipeline).update(_now(pipeline), Decision(True, "manual", "narrower"))
        assert [v.version for v in pipeline.registry.versions("churn")][-1].startswith("1.")
    finally:
        pipeline.close()


def test_warm_start_is_not_part_of_the_models_shape(tmp_path: Path) -> None:
    plain = load_config(write_spec(tmp_path, model=MLP))
    warm = load_config(write_spec(tmp_path, model={**MLP, "warm_start": {"kind": "grow"}}))
    assert plain.model_hash() == warm.model_hash()
    assert plain.config_hash() != warm.config_hash()


def test_warm_start_runs_in_a_worker_process(tmp_path: Path) -> None:
    """The local executor: the worker loads the champion as teacher and reports the warm start back."""
    _champion_pipeline(tmp_path)
    training = {"mode": "stateful", "window": "2d", "holdout": "6h", "min_rows": 100, "executor": {"kind": "local"}}
    student = {**MLP, "hidden": [8, 8], "warm_start": {"kind": "grow"}}
    pipeline = Pipeline.open(load_config(write_spec(tmp_path, model=student, training=training)))
    try:
        champion = pipeline.registry.get_alias("churn", "champion")
        assert champion is not None
        outcome = Orchestrator(pipeline).update(_now(pipeline), Decision(True, "manual", "deeper"))
        assert isinstance(outcome, UpdateResult) and outcome.version == "2.0"
        version = pipeline.registry.get("churn", "2.0")
        assert version.metrics["executor"] == "local"
        assert version.lineage.trigger["warm_start"]["method"] == "grow"
        assert version.lineage.trigger["warm_start"]["from"] == champion.version
    finally:
        pipeline.close()


@pytest.mark.parametrize("kind", ["grow", "distill"])
def test_reproduce_rebuilds_a_warm_started_version(tmp_path: Path, kind: str) -> None:
    from lifelong.training.reproduce import reproduce

    _champion_pipeline(tmp_path)
    student = {**MLP, "hidden": [12], "warm_start": {"kind": kind}}
    pipeline = Pipeline.open(load_config(write_spec(tmp_path, model=student)))
    try:
        outcome = Orchestrator(pipeline).update(_now(pipeline), Decision(True, "manual", kind))
        assert isinstance(outcome, UpdateResult) and outcome.version == "2.0"
        report = reproduce(pipeline, "churn", "2.0")
        assert report.matched, report.lines()
        assert report.max_abs_diff <= 1e-6
    finally:
        pipeline.close()
