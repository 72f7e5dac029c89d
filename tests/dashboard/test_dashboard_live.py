"""Experiments started from the dashboard run on a real prediction server, whose live numbers it shows."""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from dashboard_support import ADMIN_TOKEN, open_source

from lifelong.config import load_config
from lifelong.dashboard import PredictionServer, create_dashboard
from lifelong.runtime import Pipeline
from lifelong.serving.registry_loader import build_app
from lifelong.sources.simulator import KEY

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from starlette.testclient import TestClient

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def prediction_server(demo_copy: Path) -> Iterator[str]:
    """``lifelong serve``'s app over the demo's registry, on a free loopback port."""
    pipeline = Pipeline.open(load_config(demo_copy / "lifelong.yaml"), project_dir=demo_copy)
    app = build_app(pipeline.registry, pipeline.store, admin_token=ADMIN_TOKEN)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", ws="none", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="uvicorn-prediction", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), (
            "the prediction server did not start"
        )
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        pipeline.close()


def _rows(count: int) -> list[dict[str, object]]:
    return [
        {
            "relevance": 0.5,
            "affinity": 0.1 * (i % 7),
            "price": 1.0 + i,
            "position": float(i % 5),
            "device": "mobile",
            KEY: f"live-{i}",
        }
        for i in range(count)
    ]


def test_a_canary_started_from_the_dashboard_routes_live_traffic_and_stops(
    demo_copy: Path, prediction_server: str
) -> None:
    source = open_source(demo_copy)
    source.server = PredictionServer(prediction_server, admin_token=ADMIN_TOKEN)
    try:
        champion = source.registry.alias_version("ctr", "champion")
        target = next(
            v.version
            for v in reversed(source.registry.versions("ctr"))
            if v.status != "rejected" and v.version != champion
        )
        with TestClient(create_dashboard(source, admin_token=ADMIN_TOKEN)) as client:
            started = client.post(
                "/api/models/ctr/experiment/start",
                json={"version": target, "kind": "canary", "weight": 0.5},
                headers=AUTH,
            )
            assert started.status_code == 200, started.text
            assert "canary started" in started.json()["message"]
            assert source.registry.alias_version("ctr", "challenger") == target
            for index in range(40):
                answer = httpx.post(
                    f"{prediction_server}/predict",
                    json={"model": "ctr", "rows": _rows(1), "request_id": f"r{index}"},
                )
                assert answer.status_code == 200, answer.text
            live = next(panel for panel in source.panels("ctr") if panel.key == "live")
            assert live.available and "running" in live.note and "canary" in live.note
            counted = {row[0]: row[2] for row in live.rows}
            assert set(counted) == {champion, target} and sum(counted.values()) == 40
            page = client.get("/models/ctr").text
            assert 'id="panel-live"' in page and 'data-figure="figure-panel_live"' in page
            stopped = client.post("/api/models/ctr/experiment/stop", headers=AUTH)
            assert stopped.status_code == 200, stopped.text
            status = source.server.routing("ctr")
            assert status is not None and status["running"] is None and status["finished"]
            assert source.registry.alias_version("ctr", "challenger") is None
    finally:
        source.close()


def test_an_unreachable_server_is_a_clear_error(demo_copy: Path) -> None:
    source = open_source(demo_copy)
    source.server = PredictionServer("http://127.0.0.1:9", admin_token=ADMIN_TOKEN, timeout=2.0)
    try:
        live = next(panel for panel in source.panels("ctr") if panel.key == "live")
        assert not live.available and "could not tell" in live.note
        champion = source.registry.alias_version("ctr", "champion")
        target = next(
            v.version
            for v in source.registry.versions("ctr")
            if v.status != "rejected" and v.version != champion
        )
        with TestClient(create_dashboard(source, admin_token=ADMIN_TOKEN)) as client:
            refused = client.post(
                "/api/models/ctr/experiment/start", json={"version": target}, headers=AUTH
            )
        assert refused.status_code == 502 and "127.0.0.1:9" in refused.json()["error"]
        assert source.registry.alias_version("ctr", "challenger") != target
    finally:
        source.close()
