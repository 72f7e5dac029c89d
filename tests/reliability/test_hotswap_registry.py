"""Hot swap under load: promotions and rollbacks through the admin API of a real uvicorn server.

The server is ``build_app`` over a real registry (SQLite, artifacts on disk). Client threads send
predictions without pause, on both the plain JSON and the Open Inference Protocol endpoints,
while the champion is moved 20 times (promotions and rollbacks, alternating). Every response
must succeed, name the version that answered it, and that version must have been the champion
at some moment between the request's start and its answer (the registry's alias history is
the clock of record).
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from pipeline_support import write_spec, write_stream
from reliability_support import Record, copy_home, uvicorn_thread

from lifelong.config import load_config
from lifelong.ingest import run_replay
from lifelong.runtime import Pipeline
from lifelong.serving.registry_loader import build_app

TOKEN = "hot-swap-admin"
ROW = {"x1": 0.3, "x2": 1.1, "x3": -0.2, "segment": "b"}
OIP = {
    "inputs": [
        {"name": "x1", "shape": [2], "datatype": "FP64", "data": [0.3, -1.0]},
        {"name": "x2", "shape": [2], "datatype": "FP64", "data": [1.1, 0.0]},
        {"name": "x3", "shape": [2], "datatype": "FP64", "data": [-0.2, 2.0]},
        {"name": "segment", "shape": [2], "datatype": "BYTES", "data": ["b", "a"]},
    ]
}


@dataclass
class Tally:
    answers: list[tuple[float, float, str]] = field(default_factory=list)  # start, end, version
    failures: list[str] = field(default_factory=list)


def _client(url: str, stop: threading.Event, tally: Tally, seed: int) -> None:
    with httpx.Client(base_url=url, timeout=10.0) as client:
        for n in itertools.count():
            if stop.is_set():
                return
            started = time.time()
            try:
                if n % 2:
                    response = client.post(
                        "/v2/models/churn/infer", json={**OIP, "id": f"o{seed}-{n}"}
                    )
                else:
                    response = client.post(
                        "/predict",
                        json={"model": "churn", "rows": [ROW], "request_id": f"p{seed}-{n}"},
                    )
            except httpx.HTTPError as exc:
                tally.failures.append(f"{seed}-{n}: {exc!r}")
                continue
            ended = time.time()
            if response.status_code != 200:
                tally.failures.append(f"{seed}-{n}: {response.status_code} {response.text}")
                continue
            body = response.json()
            named = body.get("model_version")
            header = response.headers.get("x-model-version")
            if named != header or not header:
                tally.failures.append(f"{seed}-{n}: body names {named!r}, header {header!r}")
                continue
            tally.answers.append((started, ended, header))


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("hotswap") / "project"
    project.mkdir()
    write_stream(project / "events.csv", days=4, seed=9)
    pipeline = Pipeline.open(load_config(write_spec(project)))
    try:
        run_replay(pipeline, step=timedelta(hours=6))
        for version in pipeline.registry.versions("churn"):  # every version may be promoted here
            if version.status == "rejected":
                pipeline.registry.set_status("churn", version.version, "passed")
    finally:
        pipeline.close()
    return project


def champions_between(
    history: list[tuple[float, str | None]], start: float, end: float
) -> set[str | None]:
    """Versions that were champion at some moment of ``[start, end]``."""
    before = [version for at, version in history if at <= start]
    during = {version for at, version in history if start < at <= end}
    return ({before[-1]} if before else {None}) | during


def _run(prepared: Path, tmp_path: Path, *, moves: int, clients: int) -> dict[str, object]:
    project = copy_home(prepared, tmp_path)
    config = load_config(project / "lifelong.yaml")
    pipeline = Pipeline.open(config)
    registry = pipeline.registry
    versions = [v.version for v in registry.versions("churn")]
    assert len(versions) >= 3
    tallies = [Tally() for _ in range(clients)]
    stop = threading.Event()
    moved: list[str] = []
    try:
        app = build_app(registry, pipeline.store, admin_token=TOKEN)
        with uvicorn_thread(app) as url:
            threads = [
                threading.Thread(target=_client, args=(url, stop, t, i))
                for i, t in enumerate(tallies)
            ]
            for thread in threads:
                thread.start()
            headers = {"Authorization": f"Bearer {TOKEN}"}
            with httpx.Client(base_url=url, timeout=30.0, headers=headers) as admin:
                time.sleep(0.2)
                for move in range(moves):
                    current = registry.alias_version("churn", "champion")
                    if move % 2 == 0:
                        candidates = [v for v in versions if v != current]
                        target = candidates[(move // 2) % len(candidates)]
                        response = admin.post(
                            "/admin/models/churn/promote",
                            json={"version": target, "reason": f"move {move}"},
                        )
                    else:
                        response = admin.post(
                            "/admin/models/churn/rollback", json={"reason": f"move {move}"}
                        )
                    assert response.status_code == 200, response.text
                    body = response.json()
                    assert body["serving"] == body["champion"] and body["serving_error"] is None
                    moved.append(body["champion"])
                    time.sleep(0.05)
            time.sleep(0.2)
            stop.set()
            for thread in threads:
                thread.join(15)
        history = [
            (change.at.timestamp(), change.to_version)
            for change in registry.alias_history("churn", "champion")
        ]
    finally:
        stop.set()
        pipeline.close()
    failures = [f for t in tallies for f in t.failures]
    answers = [a for t in tallies for a in t.answers]
    assert failures == []
    wrong = [
        (start, end, version)
        for start, end, version in answers
        if version not in champions_between(history, start, end)
    ]
    assert wrong == [], (
        f"{len(wrong)} answers by a version that was not champion during the request: {wrong[:5]}"
    )
    served = {version for _, _, version in answers}
    assert len(served) >= 3 and len(moved) == moves
    latency = sorted(end - start for start, end, _ in answers)
    return {
        "moves": moves,
        "requests": len(answers),
        "failed": 0,
        "versions_served": len(served),
        "answers_by_non_champion": 0,
        "p99_ms": round(1000 * latency[int(0.99 * (len(latency) - 1))], 1),
    }


def test_twenty_moves_under_load(prepared: Path, tmp_path: Path, reliability: Record) -> None:
    reliability("hot swap: 20 moves under load", **_run(prepared, tmp_path, moves=20, clients=4))


@pytest.mark.soak
def test_two_hundred_moves_under_load(prepared: Path, tmp_path: Path, reliability: Record) -> None:
    reliability("hot swap: 200 moves under load", **_run(prepared, tmp_path, moves=200, clients=6))
