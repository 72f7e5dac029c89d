"""Experiments started from the dashboard run on a real prediction server, whose live numbers it shows."""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


@contextmanager
def _served(app: Any, name: str) -> Iterator[str]:
    """``app`` served by uvicorn on a free loopback port, in a thread; its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", ws="none", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name=f"uvicorn-{name}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), f"the {name} server did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


@pytest.fixture
def prediction_server(demo_copy: Path) -> Iterator[str]:
    """``lifelong serve``'s app over the demo's registry, on a free loopback port."""
    pipeline = Pipeline.open(load_config(demo_copy / "lifelong.yaml"), project_dir=demo_copy)
    try:
        with _served(build_app(pipeline.registry, pipeline.store, admin_token=ADMIN_TOKEN), "prediction") as url:
            yield url
    finally:
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


def _challenger(source: Any) -> tuple[str, str]:
    """The champion, and the newest version that passed its gates and is not the champion."""
    champion = source.registry.alias_version("ctr", "champion")
    target = next(
        v.version
        for v in reversed(source.registry.versions("ctr"))
        if v.status != "rejected" and v.version != champion
    )
    return champion, target


def _live(client: Any) -> dict[str, Any]:
    """The live panel of ``ctr`` as the dashboard's JSON API gives it."""
    answer = client.get("/api/models/ctr")
    assert answer.status_code == 200, answer.text
    panel = next(panel for panel in answer.json()["panels"] if panel["key"] == "live")
    return dict(panel)


def _by_version(panel: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row[0]: dict(zip(panel["columns"], row, strict=True)) for row in panel["rows"]}


def _routing(server: str) -> dict[str, Any]:
    """The prediction server's own status of the experiments of ``ctr``."""
    answer = httpx.get(f"{server}/routing/ctr")
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["ctr"])


def test_a_shadow_shows_its_copies_and_agreement_live(
    demo_copy: Path, prediction_server: str, page: Any, artifacts: Path
) -> None:
    source = open_source(demo_copy)
    source.server = PredictionServer(prediction_server, admin_token=ADMIN_TOKEN)
    requests = 30
    try:
        champion, target = _challenger(source)
        web = create_dashboard(source, admin_token=ADMIN_TOKEN)
        with TestClient(web) as client:
            started = client.post(
                "/api/models/ctr/experiment/start",
                json={"version": target, "kind": "shadow"},
                headers=AUTH,
            )
            assert started.status_code == 200, started.text
            assert "shadow started" in started.json()["message"]
            for index in range(requests):
                answer = httpx.post(
                    f"{prediction_server}/predict",
                    json={"model": "ctr", "rows": _rows(1), "request_id": f"s{index}"},
                )
                assert answer.status_code == 200, answer.text
            deadline = time.monotonic() + 30
            while (_routing(prediction_server)["running"]["agreement"][target]["rows"] or 0) < requests:
                assert time.monotonic() < deadline, _routing(prediction_server)
                time.sleep(0.1)
            truth = _routing(prediction_server)["running"]["agreement"][target]
            live = _live(client)
            assert live["available"] and live["has_figure"]
            assert "running" in live["note"] and "kind shadow" in live["note"] and "dropped 0" in live["note"]
            rows = _by_version(live)
            assert set(rows) == {champion, target}
            assert rows[champion]["role"] == "champion" and rows[champion]["requests"] == requests
            assert rows[champion]["share of requests"] == "100.0%"
            shadow = rows[target]
            assert shadow["role"] == "shadow" and shadow["requests"] == requests
            assert shadow["share of requests"].startswith("copies of")
            assert shadow["shadow rows compared"] == requests
            assert shadow["agreement with the champion"] == truth["agreement"]
            assert shadow["mean |score gap|"] == truth["mean_abs_score_gap"]

            with _served(web, "dashboard") as url:
                page.goto(f"{url}/models/ctr")
                panel = page.locator("#panel-live")
                panel.locator("#chart-panel_live[data-drawn='true']").wait_for(state="visible")
                text = panel.inner_text()
                assert "agreement with the champion" in text and "shadow" in text and "copies of" in text
                titles = panel.locator(".g-ytitle text").all_text_contents()
                assert any("agreeing rows (%)" in title for title in titles), titles
                panel.screenshot(path=str(artifacts / "dashboard-live-shadow.png"))

            stopped = client.post("/api/models/ctr/experiment/stop", headers=AUTH)
            assert stopped.status_code == 200, stopped.text
            finished = _live(client)
            assert "finished" in finished["note"]
            assert _by_version(finished)[target]["shadow rows compared"] == requests
    finally:
        source.close()


def test_an_ab_test_shows_its_split_and_rewards_live(demo_copy: Path, prediction_server: str) -> None:
    source = open_source(demo_copy)
    source.server = PredictionServer(prediction_server, admin_token=ADMIN_TOKEN)
    try:
        champion, target = _challenger(source)
        with TestClient(create_dashboard(source, admin_token=ADMIN_TOKEN)) as client:
            started = client.post(
                "/api/models/ctr/experiment/start",
                json={"version": target, "kind": "ab", "weight": 0.5},
                headers=AUTH,
            )
            assert started.status_code == 200, started.text
            assert "ab started" in started.json()["message"]
            answered: dict[str, list[float]] = {champion: [], target: []}
            for index in range(60):
                request_id = f"ab{index}"
                answer = httpx.post(
                    f"{prediction_server}/predict",
                    json={"model": "ctr", "rows": _rows(1), "request_id": request_id},
                )
                assert answer.status_code == 200, answer.text
                reward = 1.0 if index % 3 == 0 else 0.0
                credited = httpx.post(
                    f"{prediction_server}/routing/ctr/feedback",
                    json={"request_id": request_id, "reward": reward},
                )
                assert credited.status_code == 200, credited.text
                answered[credited.json()["version"]].append(reward)
            assert all(answered.values()), answered  # a 50/50 split reached both arms
            live = _live(client)
            assert "running" in live["note"] and "kind ab" in live["note"] and "weight 0.5" in live["note"]
            assert "p_value" in live["note"] and "significant" in live["note"]
            rows = _by_version(live)
            assert rows[champion]["role"] == "champion" and rows[target]["role"] == "challenger"
            for version, rewards in answered.items():
                shown = rows[version]
                assert shown["requests"] == len(rewards)
                assert shown["share of requests"] == f"{100 * len(rewards) / 60:.1f}%"
                assert shown["rewards"] == len(rewards)
                assert shown["mean reward"] == pytest.approx(sum(rewards) / len(rewards))
                assert shown["shadow rows compared"] is None
            status = _routing(prediction_server)["running"]
            assert f"p_value {status['p_value']}" in live["note"]
            stopped = client.post("/api/models/ctr/experiment/stop", headers=AUTH)
            assert stopped.status_code == 200, stopped.text
            assert source.registry.alias_version("ctr", "challenger") is None
    finally:
        source.close()
