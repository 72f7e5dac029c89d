"""River versions, trained by the loop, are served from the registry: the signed checkpoint verifies."""

from __future__ import annotations

import warnings
from datetime import timedelta
from pathlib import Path

from pipeline_support import write_spec, write_stream

from lifelong.config import load_config
from lifelong.ingest import run_replay
from lifelong.runtime import Pipeline
from lifelong.serving.registry_loader import build_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from starlette.testclient import TestClient


def test_the_registry_backed_server_answers_with_a_river_champion(tmp_path: Path) -> None:
    write_stream(tmp_path / "events.csv", days=3)
    model = {"kind": "river", "model": "hoeffding_adaptive_tree"}
    pipeline = Pipeline.open(load_config(write_spec(tmp_path, model=model)), project_dir=tmp_path)
    try:
        run_replay(pipeline, step=timedelta(hours=12))
        champion = pipeline.registry.alias_version("churn", "champion")
        assert champion is not None and pipeline.registry.get("churn", champion).learner_kind.startswith("river")
        with TestClient(build_app(pipeline.registry, pipeline.store, admin_token="admin")) as client:
            rows = [{"x1": 0.1, "x2": -1.0, "x3": 2.0, "segment": "a"}, {"x1": 2.0, "x2": 1.0, "x3": -2.0, "segment": "b"}]
            response = client.post("/predict", json={"model": "churn", "rows": rows})
        assert response.status_code == 200, response.text
        assert response.headers["x-model-version"] == champion
        assert len(response.json()["predictions"]) == 2
    finally:
        pipeline.close()
