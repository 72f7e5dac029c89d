"""Several challengers at once through the real loop: same held-out rows, richer gates, best one promoted.

The infra gate (a fresh process per challenger) is exercised in test_offline_gates.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from typer.testing import CliRunner

from lifelong.cli import app
from lifelong.config import load_config
from lifelong.errors import LifelongError
from lifelong.ingest import ingest_once
from lifelong.training import challengers as challengers_module
from lifelong.orchestrator import Orchestrator, UpdateResult
from lifelong.runtime import Pipeline
from lifelong.triggers import Decision
from pipeline_support import write_spec, write_stream

GATES = [
    {"kind": "not_worse", "tolerance": 0.05},
    {"kind": "min_rows", "rows": 50},
    {"kind": "slices", "columns": ["segment"], "tolerance": 0.1, "min_rows": 30},
    {"kind": "forgetting", "start": "3d", "end": "1d", "tolerance": 0.5, "min_rows": 50},
    {"kind": "calibration", "bins": 10, "max_ece": 0.5},
    {"kind": "invariance", "checks": [{"kind": "perturb", "column": "x3", "low": -0.01, "high": 0.01, "max_change": 0.2}], "rows": 200},
]
CHALLENGERS = [
    {"name": "stateful", "mode": "stateful"},
    {"name": "stateless", "mode": "stateless"},
    {"name": "wider", "model": {"kind": "lightgbm", "n_estimators": 30, "num_leaves": 15}},
]


def test_three_challengers_are_gated_on_the_same_rows_and_the_best_passing_one_promoted(tmp_path: Path) -> None:
    write_stream(tmp_path / "events.csv", days=4)
    first = Pipeline.open(load_config(write_spec(tmp_path)))
    ingest_once(first)
    start = Orchestrator(first).update(datetime(2024, 1, 3, tzinfo=timezone.utc), Decision(True, "manual", "first"))
    assert isinstance(start, UpdateResult) and start.promoted
    first.close()
    config = write_spec(tmp_path, evaluation={"metric": "roc_auc", "gates": GATES, "challengers": CHALLENGERS})
    pipeline = Pipeline.open(load_config(config))
    try:
        outcome = Orchestrator(pipeline).update(datetime(2024, 1, 4, 12, tzinfo=timezone.utc), Decision(True, "manual", "three at once"))
        assert isinstance(outcome, UpdateResult)
        names = [c["name"] for c in outcome.candidates]
        assert names == ["stateful", "stateless", "wider"]
        registry = pipeline.registry
        versions = {c["name"]: registry.get("churn", c["version"]) for c in outcome.candidates}
        assert versions["stateful"].lineage.mode.value == "stateful" and versions["stateful"].parent == "1.0"
        assert versions["stateless"].lineage.mode.value == "stateless" and versions["stateless"].version.startswith("1.")
        assert versions["wider"].version == "2.0" and versions["wider"].lineage.iteration.value == "model"
        rows = {v.evaluation["rows"] for v in versions.values()}
        assert len(rows) == 1  # the same held-out rows for every challenger
        for name, version in versions.items():
            assert registry.alias_version("churn", f"challenger-{name}") == version.version
            kinds = [gate["gate"] for gate in version.evaluation["gates"]]
            assert kinds == ["not_worse", "min_rows", "slices", "forgetting", "calibration", "invariance"]
            forgetting = version.evaluation["gates"][3]["values"]
            assert forgetting["rows"] >= 50 and "gain" in forgetting
        passing = [c for c in outcome.candidates if c["passed"]]
        assert passing, [v.evaluation["reason"] for v in versions.values()]
        best = max(passing, key=lambda c: c["roc_auc"])
        assert best["selected"] and outcome.version == best["version"] and outcome.promoted
        assert registry.alias_version("churn", "champion") == best["version"]
        assert sum(v.evaluation["selected"] for v in versions.values()) == 1

        runner = CliRunner()
        shown = runner.invoke(app, ["report", "churn", best["version"], "-c", str(config), "--json"])
        assert shown.exit_code == 0, shown.output
        record = json.loads(shown.output)
        assert record["status"] == "promoted" and record["evaluation"]["gates"][2]["values"]["slices"]
        table = runner.invoke(app, ["report", "churn", best["version"], "-c", str(config)])
        assert table.exit_code == 0 and "segment=a" in table.output and "ece=" in table.output
        missing = runner.invoke(app, ["report", "churn", "9.9", "-c", str(config)])
        assert missing.exit_code == 2
    finally:
        pipeline.close()


def test_challengers_differing_by_window_learn_from_their_own_span_and_the_recent_one_wins_after_a_change(tmp_path: Path) -> None:
    write_stream(tmp_path / "events.csv", days=5, shift_day=4)  # the concept flips at 2024-01-05 00:00
    challengers = [{"name": "recent", "window": "12h"}, {"name": "long", "window": "3d"}]
    config = write_spec(
        tmp_path,
        training={"mode": "stateless", "window": "1d", "holdout": "4h", "min_rows": 100},
        evaluation={"metric": "roc_auc", "gates": [{"kind": "not_worse", "tolerance": 0.01}], "challengers": challengers},
    )
    pipeline = Pipeline.open(load_config(config))
    try:
        ingest_once(pipeline)
        now = datetime(2024, 1, 5, 12, tzinfo=timezone.utc)
        outcome = Orchestrator(pipeline).update(now, Decision(True, "manual", "two windows"))
        assert isinstance(outcome, UpdateResult)
        versions = {c["name"]: pipeline.registry.get("churn", c["version"]) for c in outcome.candidates}
        recent, long = (versions[name].lineage.snapshot for name in ("recent", "long"))
        assert recent is not None and long is not None
        assert recent.start is not None and recent.start >= now - timedelta(hours=12)
        assert long.start is not None and long.start < now - timedelta(days=2)  # beyond training.window
        assert long.rows > 4 * recent.rows
        assert {v.evaluation["rows"] for v in versions.values()} == {versions["recent"].evaluation["rows"]}
        chosen = next(c for c in outcome.candidates if c["selected"])
        assert chosen["name"] == "recent", outcome.candidates
    finally:
        pipeline.close()


@contextmanager
def updated(tmp_path: Path, challengers: list[dict[str, Any]], *, updates: int, hours: int) -> Iterator[tuple[Pipeline, list[Any]]]:
    """A pipeline with ``challengers`` after ``updates`` manual updates ``hours`` apart (5 days, a shift on day 4)."""
    write_stream(tmp_path / "events.csv", days=5, shift_day=4)
    config = write_spec(
        tmp_path,
        training={"mode": "stateless", "window": "1d", "holdout": "4h", "min_rows": 100},
        evaluation={"metric": "roc_auc", "gates": [{"kind": "not_worse", "tolerance": 0.5}], "challengers": challengers},
    )
    pipeline = Pipeline.open(load_config(config))
    try:
        ingest_once(pipeline)
        orchestrator = Orchestrator(pipeline)
        start = datetime(2024, 1, 4, tzinfo=timezone.utc)
        yield pipeline, [orchestrator.update(start + timedelta(hours=hours * k), Decision(True, "manual", f"update {k}")) for k in range(updates)]
    finally:
        pipeline.close()


def test_a_challenger_refit_every_second_update_stays_a_candidate_in_between(tmp_path: Path) -> None:
    challengers = [{"name": "recent", "window": "12h"}, {"name": "long", "window": "3d", "every": 2}]
    with updated(tmp_path, challengers, updates=3, hours=6) as (pipeline, outcomes):
        assert all(isinstance(outcome, UpdateResult) for outcome in outcomes)
        refits = [{c["name"]: c["refit"] for c in outcome.candidates} for outcome in outcomes]  # type: ignore[union-attr]
        assert refits[0] == {"recent": True, "long": True} and refits[2] == {"recent": True, "long": True}
        assert refits[1]["recent"] is True and refits[1].get("long") in (False, None)  # kept, or the champion itself
        versions = pipeline.registry.versions("churn")
        assert len(versions) == 5  # 2 + 1 + 2: the second update trained the recent window only
        kept = outcomes[0].candidates[1]["version"]  # type: ignore[union-attr]
        if "long" in refits[1]:  # scored again on the second update's rows, not trained again
            again = next(c for c in outcomes[1].candidates if c["name"] == "long")  # type: ignore[union-attr]
            assert again["version"] == kept and outcomes[1].train_cpu_s > 0  # type: ignore[union-attr]
        assert pipeline.registry.alias_version("churn", "challenger-long") == outcomes[2].candidates[1]["version"] != kept  # type: ignore[union-attr]


def test_challengers_with_the_same_every_and_different_offsets_take_turns(tmp_path: Path) -> None:
    challengers = [
        {"name": "recent", "window": "12h"},
        {"name": "day", "window": "1d", "every": 2, "offset": 1},
        {"name": "long", "window": "3d", "every": 2},
    ]
    with updated(tmp_path, challengers, updates=4, hours=4) as (_, outcomes):
        assert all(isinstance(outcome, UpdateResult) for outcome in outcomes)
        refit = [sorted(c["name"] for c in outcome.candidates if c["refit"]) for outcome in outcomes]  # type: ignore[union-attr]
        assert refit == [["day", "long", "recent"], ["day", "recent"], ["long", "recent"], ["day", "recent"]]


def test_a_challenger_on_some_of_the_features_is_a_model_iteration_that_reads_only_them(tmp_path: Path) -> None:
    write_stream(tmp_path / "events.csv", days=4)
    challengers = [
        {"name": "all"},
        {"name": "raw", "features": ["x1", "x2"], "model": {"kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression"}},
    ]
    config = write_spec(
        tmp_path,
        training={"mode": "stateless", "window": "1d", "holdout": "6h", "min_rows": 100},
        evaluation={"metric": "roc_auc", "gates": [{"kind": "not_worse", "tolerance": 0.5}], "challengers": challengers},
    )
    pipeline = Pipeline.open(load_config(config))
    try:
        ingest_once(pipeline)
        outcome = Orchestrator(pipeline).update(datetime(2024, 1, 3, 12, tzinfo=timezone.utc), Decision(True, "manual", "two shapes"))
        assert isinstance(outcome, UpdateResult)
        versions = {c["name"]: pipeline.registry.get("churn", c["version"]) for c in outcome.candidates}
        assert versions["all"].version.split(".")[0] != versions["raw"].version.split(".")[0]  # another major
        orchestrator = Orchestrator(pipeline)
        raw = orchestrator.bundle(versions["raw"])
        assert raw.features.numeric == ("x1", "x2") and not raw.features.categorical
        row = {"x1": 0.5, "x2": -1.0}  # no x3, no segment: the raw challenger does not read them
        assert raw.predict_proba_frame(pd.DataFrame([row])).shape == (1, 2)
    finally:
        pipeline.close()


def test_challengers_on_the_same_rows_share_one_snapshot_written_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_stream(tmp_path / "events.csv", days=4)
    challengers = [
        {"name": "trees"},
        {"name": "linear", "model": {"kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression"}},
        {"name": "short", "window": "12h"},
    ]
    config = write_spec(
        tmp_path,
        training={"mode": "stateless", "window": "1d", "holdout": "6h", "min_rows": 50},
        evaluation={"metric": "roc_auc", "gates": [{"kind": "not_worse", "tolerance": 0.5}], "challengers": challengers},
    )
    written: list[int] = []
    real = challengers_module.snapshot_rows

    def counted(pipeline: Pipeline, rows: pd.DataFrame) -> object:
        written.append(len(rows))
        return real(pipeline, rows)

    monkeypatch.setattr(challengers_module, "snapshot_rows", counted)
    pipeline = Pipeline.open(load_config(config))
    try:
        ingest_once(pipeline)
        outcome = Orchestrator(pipeline).update(datetime(2024, 1, 3, 12, tzinfo=timezone.utc), Decision(True, "manual", "shared rows"))
        assert isinstance(outcome, UpdateResult)
        snapshots = {c["name"]: pipeline.registry.get("churn", c["version"]).lineage.snapshot for c in outcome.candidates}
        assert all(snapshot is not None for snapshot in snapshots.values())
        assert snapshots["trees"] == snapshots["linear"]  # the same rows: one snapshot
        assert snapshots["short"].sha256 != snapshots["trees"].sha256  # type: ignore[union-attr]
        assert len(written) == 2 and sorted(written) == sorted({s.rows for s in snapshots.values()})  # type: ignore[union-attr]
    finally:
        pipeline.close()


def test_challenger_settings_that_cannot_work_are_refused_naming_the_field(tmp_path: Path) -> None:
    write_stream(tmp_path / "events.csv", days=2)
    unknown = write_spec(tmp_path, evaluation={"metric": "roc_auc", "challengers": [{"name": "raw", "features": ["x1", "nope"]}]})
    result = CliRunner().invoke(app, ["check", "-c", str(unknown)])
    assert result.exit_code == 2 and "evaluation.challengers[0].features" in result.output and "nope" in result.output
    never = write_spec(tmp_path, evaluation={"metric": "roc_auc", "challengers": [{"name": "long", "every": 2}]})
    result = CliRunner().invoke(app, ["check", "-c", str(never)])
    assert result.exit_code == 2 and "every" in result.output and "Traceback" not in result.output
    beyond = write_spec(tmp_path, evaluation={"metric": "roc_auc", "challengers": [{"name": "now"}, {"name": "long", "every": 2, "offset": 2}]})
    result = CliRunner().invoke(app, ["check", "-c", str(beyond)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "evaluation.challengers.1: offset: expected an integer from 0 to every - 1 (1), got 2" in result.output


def test_a_challenger_that_fails_to_train_is_left_out_and_the_others_go_on(tmp_path: Path) -> None:
    write_stream(tmp_path / "events.csv", days=4)
    broken = {"kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression", "params": {"C": -1.0}}  # refused by scikit-learn
    training = {"mode": "stateless", "window": "1d", "holdout": "6h", "min_rows": 100}
    gates = [{"kind": "not_worse", "tolerance": 0.5}]
    config = write_spec(tmp_path, training=training, evaluation={"metric": "roc_auc", "gates": gates, "challengers": [{"name": "good"}, {"name": "broken", "model": broken}]})
    pipeline = Pipeline.open(load_config(config))
    try:
        ingest_once(pipeline)
        outcome = Orchestrator(pipeline).update(datetime(2024, 1, 3, 12, tzinfo=timezone.utc), Decision(True, "manual", "one broken"))
        assert isinstance(outcome, UpdateResult) and outcome.promoted
        assert [c["name"] for c in outcome.candidates] == ["good"]
        assert [f["name"] for f in outcome.failed] == ["broken"] and "C" in outcome.failed[0]["error"]
        assert [v.version for v in pipeline.registry.versions("churn")] == [outcome.version]
    finally:
        pipeline.close()
    only_broken = write_spec(tmp_path, training=training, evaluation={"metric": "roc_auc", "gates": gates, "challengers": [{"name": "broken", "model": broken}, {"name": "also", "model": broken}]})
    pipeline = Pipeline.open(load_config(only_broken))
    try:
        with pytest.raises(LifelongError, match="LogisticRegression"):  # nothing trained: the update fails
            Orchestrator(pipeline).update(datetime(2024, 1, 3, 18, tzinfo=timezone.utc), Decision(True, "manual", "all broken"))
    finally:
        pipeline.close()
