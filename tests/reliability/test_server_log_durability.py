"""kill -9 of ``lifelong serve`` under load: every answered prediction is in the log after a restart.

The server writes each row to a write-ahead segment (``<home>/wal/predictions``) before it
answers, and buffers it for the event store. Clients send predictions with their own request
ids while the server is killed with SIGKILL; right after the kill the store misses the rows that
were still buffered; the next ``lifelong serve`` replays the dead process's segments before it
reports ready. Then every answered request has exactly one row, with the version that answered.
A row may also exist for a request whose answer the kill cut off (it was logged, then the
process died before the reply left): write-ahead means logged before answered.
"""

from __future__ import annotations

import itertools
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import yaml
from reliability_support import LIFELONG, Child, Record, child_env, free_port, wait_ready

from lifelong.events import ParquetEventStore

FEATURES = ("x1", "x2", "x3")
KILLS = 2


@dataclass
class Answers:
    ok: dict[str, str] = field(default_factory=dict)  # request id -> version that answered
    failed: set[str] = field(default_factory=set)  # sent, no answer (the server was down or died)
    server_errors: list[str] = field(default_factory=list)


def _project(root: Path) -> Path:
    """A registry whose champion is a logistic regression on three numeric features."""
    from lifelong.features import FeaturePipeline
    from lifelong.learners import build_learner
    from lifelong.registry import Registry
    from lifelong.registry.types import Iteration, Lineage, TrainingMode
    from lifelong.training import ModelBundle

    spec = {
        "name": "churn",
        "home": str(root / "home"),
        "source": {"kind": "file", "path": str(root / "none.csv"), "timestamp": "ts"},
        "labels": {"kind": "column", "column": "y"},
        "features": {"kind": "tabular", "numeric": list(FEATURES)},
        "model": {"kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression"},
    }
    config = root / "lifelong.yaml"
    config.write_text(yaml.safe_dump(spec))
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 3))
    y = (X @ np.array([1.0, -1.0, 0.5]) > 0).astype(int)
    learner = build_learner("sklearn", {"estimator": "sklearn.linear_model.LogisticRegression", "params": {}})
    learner.fit(X, y)
    bundle = ModelBundle(learner=learner, features=FeaturePipeline(numeric=FEATURES), model_hash="durability")
    lineage = Lineage(None, TrainingMode.STATELESS, Iteration.MODEL, None, "test", "test", None, {})
    registry = Registry.open(root / "home")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            bundle.save(Path(tmp))
            version = registry.register("churn", Path(tmp), lineage=lineage, learner_kind="sklearn").version
        registry.set_alias("churn", "champion", version, actor="test", reason="durability test")
    finally:
        registry.close()
    return config


def _client(url: str, stop: threading.Event, answers: Answers, seed: int) -> None:
    row = {"x1": 0.1 * seed, "x2": -0.4, "x3": 1.2}
    with httpx.Client(base_url=url, timeout=5.0) as client:
        for n in itertools.count():
            if stop.is_set():
                return
            request_id = f"c{seed}-{n}"
            try:
                response = client.post("/predict", json={"model": "churn", "rows": [row], "request_id": request_id})
            except httpx.HTTPError:
                answers.failed.add(request_id)
                time.sleep(0.02)
                continue
            if response.status_code == 200:
                answers.ok[request_id] = response.headers["x-model-version"]
            else:
                answers.server_errors.append(f"{request_id}: {response.status_code} {response.text[:200]}")


def _logged(home: Path) -> dict[str, str]:
    """request id -> model version of every row in the prediction log, checking no row is twice."""
    with ParquetEventStore(home / "events") as store:
        if "predictions" not in store.streams():
            return {}
        log = store.window("predictions", columns=["event_id", "request_id", "model_version"])
    assert log["event_id"].is_unique, "a prediction was logged twice"
    return dict(zip(log["request_id"], log["model_version"], strict=True))


def _start(config: Path, port: int) -> Child:
    server = Child.start([str(LIFELONG), "serve", "-c", str(config), "--port", str(port)], env=child_env())
    try:
        wait_ready(f"http://127.0.0.1:{port}", timeout=120.0)
    except AssertionError as exc:
        server.kill()
        raise AssertionError(f"{exc}; the server printed: {server.output()}") from exc
    return server


def test_sigkill_loses_no_answered_prediction(tmp_path: Path, reliability: Record) -> None:
    config = _project(tmp_path)
    home = tmp_path / "home"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    answers = Answers()
    missing_at_kill: list[int] = []
    replayed_segments: list[int] = []
    for kill in range(KILLS):
        server = _start(config, port)
        stop = threading.Event()
        clients = [threading.Thread(target=_client, args=(url, stop, answers, seed + 10 * kill)) for seed in range(3)]
        for thread in clients:
            thread.start()
        time.sleep(2.5)  # several flushes of the 1 s interval, then rows still buffered
        assert server.kill(), "the server exited by itself"
        stop.set()
        for thread in clients:
            thread.join(10)
        answered = set(answers.ok)
        missing_at_kill.append(len(answered - set(_logged(home))))
        replayed_segments.append(len(list((home / "wal" / "predictions").glob("*.wal"))))
    # The buffered rows the kills cut off were not in the store yet (so the test can fail) ...
    assert sum(missing_at_kill) > 0, "every answered row was stored before the kill: nothing to replay"
    assert all(count >= 1 for count in replayed_segments), "a killed server left no write-ahead segment"
    # ... and the next start stores them before it answers.
    final = _start(config, port)
    try:
        segments = list((home / "wal" / "predictions").glob("*.wal"))
        assert len(segments) == 1, f"expected only the live server's segment, got {segments}"
        logged_live = _logged(home)
    finally:
        final.proc.terminate()
        final.finish(30)
    assert answers.server_errors == []
    logged = _logged(home)
    assert set(logged_live) == set(logged)
    ours = {key: version for key, version in logged.items() if str(key).startswith("c")}
    lost = set(answers.ok) - set(ours)
    assert not lost, f"{len(lost)} answered predictions are not in the log, e.g. {sorted(lost)[:5]}"
    assert all(ours[key] == version for key, version in answers.ok.items())
    unanswered = set(ours) - set(answers.ok)
    assert unanswered <= answers.failed, "a logged prediction was never sent"
    reliability(
        "durability: server kill -9",
        kills=KILLS,
        answered=len(answers.ok),
        missing_in_store_at_kill=sum(missing_at_kill),
        lost_after_restart=len(lost),
        logged_cut_off_answers=len(unanswered),
    )

