"""Recommenders in the real loop: ALS and River MF trained, versioned, gated and served."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from fastapi.testclient import TestClient

from lifelong.config import load_config
from lifelong.errors import ConfigError
from lifelong.ingest import run_replay
from lifelong.orchestrator import Orchestrator, UpdateResult
from lifelong.registry.types import Iteration, TrainingMode
from lifelong.runtime import Pipeline
from lifelong.serving.registry_loader import build_app
from lifelong.triggers import Decision

pytest.importorskip("implicit", reason="the 'cf' extra (implicit) is not installed")


def write_interactions(path: Path, *, days: int = 4, per_hour: int = 30, seed: int = 0) -> pd.DataFrame:
    """Impressions of (user, item): users of a taste group click items of the same group."""
    rng = np.random.default_rng(seed)
    n = days * 24 * per_hour
    times = pd.date_range("2024-01-01", periods=n, freq=pd.Timedelta(hours=1) / per_hour, tz="UTC")
    # new users keep arriving: user ids grow with time, so later windows hold unseen users
    users = rng.integers(0, 40, size=n) + (np.arange(n) * 40 // n)
    items = rng.integers(0, 30, size=n)
    same = (users % 3) == (items % 3)
    clicked = rng.uniform(size=n) < np.where(same, 0.8, 0.1)
    frame = pd.DataFrame(
        {
            "ts": times.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "id": [f"e{i}" for i in range(n)],
            "user": users,
            "item": items,
            "clicked": clicked.astype(int),
        }
    )
    frame.to_csv(path, index=False)
    return frame


def recs_spec(tmp_path: Path, model: dict[str, Any]) -> Path:
    data = {
        "name": "recs",
        "home": str(tmp_path / "home"),
        "source": {"kind": "file", "path": str(tmp_path / "events.csv"), "timestamp": "ts", "id_column": "id", "batch_size": 500},
        "labels": {"kind": "column", "column": "clicked"},
        "features": {"kind": "tabular", "numeric": ["user", "item"]},
        "model": model,
        "training": {"mode": "stateful", "window": "2d", "holdout": "6h", "min_rows": 50},
        "evaluation": {"metric": "roc_auc", "gates": [{"kind": "not_worse", "tolerance": 0.05}]},
        "triggers": {"triggers": [{"kind": "interval", "every": "1d"}]},
    }
    path = tmp_path / "lifelong.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize(
    ("model", "auc_floor", "recall_floor"),
    [
        ({"kind": "implicit_als", "user": "user", "item": "item", "factors": 8, "iterations": 8, "refit_every": 2}, 0.65, 0.45),
        # FunkMF (SGD, one pass per update, sampled negatives) ranks less well on so few rows
        ({"kind": "river_mf", "user": "user", "item": "item", "n_factors": 8, "epochs": 10}, 0.55, 0.35),
    ],
    ids=["implicit_als", "river_mf"],
)
def test_recommender_trains_versions_gates_and_serves(
    tmp_path: Path, model: dict[str, Any], auc_floor: float, recall_floor: float
) -> None:
    write_interactions(tmp_path / "events.csv")
    pipeline = Pipeline.open(load_config(recs_spec(tmp_path, model)))
    try:
        summary = run_replay(pipeline, step=timedelta(hours=6))
        assert summary["dead_letters"] == 0
        versions = pipeline.registry.versions("recs")
        assert [v.version for v in versions][:3] == ["1.0", "1.1", "1.2"]
        first, second = versions[0], versions[1]
        assert first.learner_kind == model["kind"] and first.lineage.mode is TrainingMode.STATELESS
        # data iteration: the champion's factors updated with the new interactions (fold-in)
        assert second.lineage.mode is TrainingMode.STATEFUL and second.parent == "1.0"
        assert second.lineage.iteration is Iteration.DATA
        assert second.evaluation["metric"] == "roc_auc" and second.evaluation["gates"]
        # the factorization learned the taste groups: clicked pairs rank above the others
        assert all(v.metrics["holdout_roc_auc"] > auc_floor for v in versions[1:]), [v.metrics["holdout_roc_auc"] for v in versions]
        # and each held-out user's top 10 holds their clicked items: recall@10 recorded on every
        # version (a random top 10 of the 30 items finds about 0.33 of them)
        recalls = [v.metrics["holdout_recall_at_10"] for v in versions]
        assert all(0 <= r <= 1 for r in recalls) and float(np.mean(recalls[1:])) > recall_floor, recalls
        champion = pipeline.registry.alias_version("recs", "champion")
        assert champion is not None
        orchestrator = Orchestrator(pipeline)
        bundle = orchestrator.fresh_bundle(pipeline.registry.get("recs", champion))
        learner: Any = bundle.learner
        # recent users (ids 60..62, one per taste group) prefer the items of their own group
        for user in (60, 61, 62):
            pairs = np.array([[user, item] for item in range(30)], dtype=np.float64)
            preference = learner.predict_proba(pairs)[:, 1]
            own = (np.arange(30) % 3) == user % 3
            assert preference[own].mean() > preference[~own].mean(), (user, preference)
        assert len(learner.recommend([60], k=5)[0]) == 5
        with TestClient(build_app(pipeline.registry, pipeline.store, admin_token=None)) as client:
            reply = client.post("/predict", json={"model": "recs", "rows": [{"user": 3, "item": 6}, {"user": 3, "item": 7}]})
            assert reply.status_code == 200, reply.text
            body = reply.json()
            assert body["model_version"] == champion, body
            assert len(body["predictions"]) == 2, body
    finally:
        pipeline.close()


@pytest.mark.parametrize("refit_every", [1, 10])
def test_als_refits_from_scratch_on_its_schedule(tmp_path: Path, refit_every: int) -> None:
    write_interactions(tmp_path / "events.csv", days=3)
    model = {"kind": "implicit_als", "user": "user", "item": "item", "factors": 4, "iterations": 4, "refit_every": refit_every}
    pipeline = Pipeline.open(load_config(recs_spec(tmp_path, model)))
    try:
        run_replay(pipeline, step=timedelta(hours=12))
        versions = pipeline.registry.versions("recs")
        stateful = [v for v in versions if v.lineage.mode is TrainingMode.STATEFUL]
        assert len(stateful) >= 2 and versions[-1] in stateful
        learner: Any = Orchestrator(pipeline).fresh_bundle(versions[-1]).learner
        # every update with refit_every 1 factorized the whole matrix again; with 10, none yet did
        expected = 0 if refit_every == 1 else len(stateful)
        assert learner.recommender.updates_since_refit == expected
    finally:
        pipeline.close()


def test_model_iteration_of_a_recommender_is_a_new_major(tmp_path: Path) -> None:
    write_interactions(tmp_path / "events.csv", days=3)
    model = {"kind": "implicit_als", "user": "user", "item": "item", "factors": 4, "iterations": 4}
    pipeline = Pipeline.open(load_config(recs_spec(tmp_path, model)))
    run_replay(pipeline, step=timedelta(hours=12))
    pipeline.close()
    pipeline = Pipeline.open(load_config(recs_spec(tmp_path, {**model, "factors": 12})))
    try:
        now = pipeline.store.window("events")["event_time"].max().to_pydatetime() + timedelta(seconds=1)
        outcome = Orchestrator(pipeline).update(now, Decision(True, "manual", "more factors"))
        assert isinstance(outcome, UpdateResult)
        assert outcome.version.endswith(".0") and int(outcome.version.split(".")[0]) == 2
        assert outcome.iteration == "model" and outcome.mode == "stateless"
    finally:
        pipeline.close()


@pytest.mark.parametrize(
    ("model", "match"),
    [
        ({"kind": "implicit_als", "user": "user", "item": "sku"}, r"model\.item: expected one of the numeric features \['user', 'item'\], got 'sku'"),
        ({"kind": "implicit_als", "user": "user", "item": "user"}, r"model\.item: expected a column other than model\.user, got 'user'"),
        ({"kind": "implicit_als", "user": "user", "item": "item", "refit_every": -1}, r"model\.refit_every: .*greater than or equal to 0.*-1"),
        ({"kind": "river_mf", "user": "user", "item": "item", "n_factors": 0}, r"model\.n_factors: .*greater than or equal to 1.*0"),
        ({"kind": "implicit_als", "item": "item"}, r"model\.user"),
    ],
)
def test_bad_recommender_specs_name_the_field(tmp_path: Path, model: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        Pipeline.open(load_config(recs_spec(tmp_path, model))).close()
