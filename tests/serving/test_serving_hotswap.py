"""A real uvicorn server on the loopback: champions move 20 times under load, no request fails."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI
from serving_support import ADMIN_TOKEN, FEATURES, build_loader, oip_body

from lifelong.serving import ModelCatalog, PredictionLogger, PredictionService, create_app
from lifelong.testing.fakes import InMemoryModelLoader, ListPredictionSink

VERSIONS = ("1.0", "1.1", "1.2", "2.0")


def run_server(app: FastAPI) -> tuple[uvicorn.Server, threading.Thread, str]:
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", ws="none", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start within 10 s")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture
def live() -> Iterator[tuple[str, InMemoryModelLoader, ListPredictionSink]]:
    loader = build_loader(VERSIONS, load_delay=0.01)
    sink = ListPredictionSink()
    service = PredictionService(
        ModelCatalog(loader, poll_interval=0.02),
        PredictionLogger(sink, flush_rows=200, flush_seconds=0.1),
    )
    server, thread, url = run_server(create_app(service, admin=loader, admin_token=ADMIN_TOKEN))
    try:
        yield url, loader, sink
    finally:
        server.should_exit = True
        thread.join(10)


@dataclass
class Tally:
    answers: list[tuple[str, str, list[list[float]], list[float]]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def client_loop(url: str, seed: int, stop: threading.Event, tally: Tally) -> None:
    rng = np.random.default_rng(seed)
    with httpx.Client(base_url=url, timeout=10.0) as client:
        for n in itertools.count():
            if stop.is_set():
                return
            rows = rng.normal(size=(int(rng.integers(1, 4)), len(FEATURES))).round(6).tolist()
            request_id = f"c{seed}-{n}"
            try:
                response = client.post(
                    "/v2/models/churn/infer", json=oip_body(rows, request_id=request_id)
                )
            except httpx.HTTPError as exc:
                tally.failures.append(f"{request_id}: {exc!r}")
                continue
            if response.status_code != 200:
                tally.failures.append(f"{request_id}: {response.status_code} {response.text}")
                continue
            body: dict[str, Any] = response.json()
            if body["model_version"] != response.headers["x-model-version"]:
                tally.failures.append(
                    f"{request_id}: header {response.headers['x-model-version']} != body"
                )
            tally.answers.append(
                (request_id, body["model_version"], rows, body["outputs"][1]["data"])
            )


def test_champion_moves_under_load_without_failed_requests(
    live: tuple[str, InMemoryModelLoader, ListPredictionSink],
) -> None:
    url, loader, _ = live
    stop = threading.Event()
    tallies = [Tally() for _ in range(4)]
    clients = [
        threading.Thread(target=client_loop, args=(url, i, stop, t)) for i, t in enumerate(tallies)
    ]
    for thread in clients:
        thread.start()
    champions = {"1.0"}
    try:
        with httpx.Client(base_url=url, timeout=10.0) as admin:
            time.sleep(0.1)
            for move in range(20):
                current = loader.champion_version("churn")
                target = VERSIONS[(VERSIONS.index(current or "1.0") + 1 + move % 2) % len(VERSIONS)]
                champions.add(target)
                if move % 2 == 0:  # through the admin API: the server follows at once
                    response = admin.post(
                        "/admin/models/churn/promote",
                        json={"version": target, "reason": f"move {move}"},
                        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                    )
                    assert response.status_code == 200 and response.json()["serving"] == target
                else:  # behind the server's back: the catalog's polling picks it up
                    loader.set_champion("churn", target)
                time.sleep(0.06)
    finally:
        stop.set()
        for thread in clients:
            thread.join(10)
    failures = [f for t in tallies for f in t.failures]
    answers = [a for t in tallies for a in t.answers]
    assert failures == []
    assert len(answers) >= 50
    seen = {version for _, version, _, _ in answers}
    assert seen <= champions and len(seen) >= 3
    # Every answer really came from the version it names.
    models = {version: loader.load("churn", version).predict_array for version in VERSIONS}
    for _, version, rows, proba in answers:
        predict = models[version]
        assert predict is not None
        np.testing.assert_allclose(proba, predict(np.array(rows))[1].ravel(), rtol=1e-9)


def test_prediction_log_names_the_answering_version(
    live: tuple[str, InMemoryModelLoader, ListPredictionSink],
) -> None:
    url, loader, sink = live
    answered: dict[str, str] = {}
    with httpx.Client(base_url=url, timeout=10.0) as client:
        for n in range(12):
            if n % 4 == 0:
                target = VERSIONS[n // 4]
                loader.set_champion("churn", target)
                deadline = time.monotonic() + 5
                while client.get("/v2/models/churn/ready").json()["version"] != target:
                    assert time.monotonic() < deadline, f"the server never followed {target}"
                    time.sleep(0.01)
            response = client.post(
                "/v2/models/churn/infer", json=oip_body([[0.1, 0.2, 0.3]], request_id=f"r{n}")
            )
            answered[f"r{n}"] = response.json()["model_version"]
    deadline = time.monotonic() + 5
    while len(sink.rows()) < 12 and time.monotonic() < deadline:
        time.sleep(0.05)
    logged = sink.rows()
    assert dict(zip(logged["request_id"], logged["model_version"], strict=True)) == answered
    assert set(answered.values()) == set(VERSIONS[:3])


def test_streamed_body_over_the_cap_is_413_on_a_real_server(
    live: tuple[str, InMemoryModelLoader, ListPredictionSink],
) -> None:
    url, _, _ = live

    def chunks() -> Iterator[bytes]:
        yield b'{"model": "churn", "rows": ['
        for _ in range(20):
            yield b'{"x1": 1.0, "x2": 2.0, "x3": 3.0},' * 2000  # about 70 kB a chunk, 1.4 MB in all
        yield b"]}"

    with httpx.Client(base_url=url, timeout=10.0) as client:
        response = client.post(
            "/predict", content=chunks(), headers={"content-type": "application/json"}
        )
    assert response.status_code == 413
