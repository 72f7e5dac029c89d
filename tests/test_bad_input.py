"""Bad input gets a clear error and loses nothing: CSV rows to dead letters, requests to 4xx."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
from fastapi.testclient import TestClient
from pipeline_support import write_spec, write_stream

from lifelong.config import load_config
from lifelong.ingest import ingest_once, run_replay
from lifelong.runtime import Pipeline
from lifelong.serving.registry_loader import build_app


def test_bad_csv_rows_go_to_dead_letters_and_the_rest_is_stored(tmp_path: Path) -> None:
    frame = write_stream(tmp_path / "events.csv", days=1)
    frame = frame.astype({"x1": object, "x2": object})
    frame.loc[5, "x1"] = "not-a-number"
    frame.loc[9, "x2"] = None
    frame.to_csv(tmp_path / "events.csv", index=False)
    pipeline = Pipeline.open(load_config(write_spec(tmp_path)))
    try:
        report = ingest_once(pipeline)
        assert report["written"] == len(frame) - 2 and report["dead_letters"] == 2
        letters = pipeline.store.dead_letters("events").sort_values("event_id")
        assert list(letters["event_id"]) == ["e5", "e9"]
        reasons = list(letters["reason"])
        assert "x1" in reasons[0] and "not-a-number" in reasons[0]
        assert "x2" in reasons[1] and "missing" in reasons[1]
        assert "not-a-number" in letters["payload"].iloc[0]  # the raw row is kept
        # Nothing is lost or stored twice when ingest runs again.
        again = ingest_once(pipeline)
        assert again["written"] == 0
        assert pipeline.store.count("events") == len(frame) - 2
        assert len(pipeline.store.dead_letters("events")) == 2
    finally:
        pipeline.close()


def test_prediction_requests_with_missing_or_mistyped_fields_get_4xx(tmp_path: Path) -> None:
    write_stream(tmp_path / "events.csv", days=3)
    pipeline = Pipeline.open(load_config(write_spec(tmp_path)))
    try:
        run_replay(pipeline, step=timedelta(hours=12))
        champion = pipeline.registry.alias_version("churn", "champion")
        app = build_app(pipeline.registry, pipeline.store, admin_token="t0ken")
        good = {"x1": 0.1, "x2": -1.0, "x3": 2.0, "segment": "a"}
        with TestClient(app) as client:
            ok = client.post("/predict", json={"model": "churn", "rows": [good]})
            assert ok.status_code == 200 and ok.json()["model_version"] == champion

            missing = client.post("/predict", json={"model": "churn", "rows": [{k: v for k, v in good.items() if k != "x2"}]})
            assert 400 <= missing.status_code < 500 and missing.json()["field"] == "x2"
            assert "x2" in missing.json()["error"]

            mistyped = client.post("/predict", json={"model": "churn", "rows": [{**good, "x3": "high"}]})
            assert 400 <= mistyped.status_code < 500 and mistyped.json()["field"] == "x3"
            assert "'high'" in mistyped.json()["error"] or "high" in mistyped.json()["error"]

            oip = client.post(
                "/v2/models/churn/infer",
                json={"inputs": [{"name": "x1", "shape": [1], "datatype": "FP64", "data": ["oops"]}]},
            )
            assert 400 <= oip.status_code < 500 and "error" in oip.json()

            unknown = client.post("/predict", json={"model": "nosuch", "rows": [good]})
            assert unknown.status_code == 404

            still_ok = client.post("/predict", json={"model": "churn", "rows": [good]})
            assert still_ok.status_code == 200  # the process keeps serving
        log = pipeline.store.window("predictions")
        assert len(log) == 2 and set(log["model_version"]) == {champion}
        assert isinstance(log["event_time"].iloc[0], pd.Timestamp)
    finally:
        pipeline.close()
