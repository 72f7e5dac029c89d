"""``lifelong run`` as a daemon: several models in one process, serving, and crash recovery (kill -9)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml
from pipeline_support import spec, write_stream

from lifelong.registry import Registry
from lifelong.triggers import FiringJournal

COMMAND = [sys.executable, "-c", "from lifelong.cli import main; main()"]


def _write(tmp_path: Path, name: str, **overrides: Any) -> Path:
    data = spec(tmp_path, **overrides)
    data["name"] = name
    data["home"] = str(tmp_path / f"home-{name}")
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _wait(condition: Any, *, timeout: float, what: str, process: subprocess.Popen[str] | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the daemon exited ({process.returncode}) before {what}: {process.stderr.read() if process.stderr else ''}")
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _versions(home: Path, model: str) -> list[Any]:
    with Registry.open(home) as registry:
        return registry.versions(model)


def test_two_models_in_one_process(tmp_path: Path) -> None:
    write_stream(tmp_path / "events.csv", days=3)
    first = _write(tmp_path, "churn")
    second = _write(tmp_path, "ctr", triggers={"triggers": [{"kind": "interval", "every": "12h"}]})
    result = subprocess.run([*COMMAND, "run", "-c", str(first), "-c", str(second), "--step", "6h"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stderr
    summaries = json.loads(result.stdout)
    assert set(summaries) == {"churn", "ctr"}
    assert summaries["churn"]["rows"] == summaries["ctr"]["rows"] == 3 * 24 * 20
    trained = {name: [u["version"] for u in s["updates"] if "version" in u] for name, s in summaries.items()}
    assert trained["churn"][:2] == ["1.0", "1.1"] and len(trained["ctr"]) > len(trained["churn"])
    for name in ("churn", "ctr"):
        versions = _versions(tmp_path / f"home-{name}", name)
        assert [v.version for v in versions] == trained[name]
        assert len({v.lineage.trigger["firing_id"] for v in versions}) == len(versions)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serves_the_champion_while_it_trains_and_stops_on_sigterm(tmp_path: Path) -> None:
    write_stream(tmp_path / "events.csv", days=2)
    port = _free_port()
    config = _write(tmp_path, "churn", serving={"host": "127.0.0.1", "port": port})
    daemon = subprocess.Popen([*COMMAND, "run", "-c", str(config), "--step", "12h", "--follow", "--poll", "0.2s", "--serve"],
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def ready() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/v2/models/churn/ready", timeout=1.0).status_code == 200
            except httpx.TransportError:
                return False

        _wait(ready, timeout=120, what="the champion to be served", process=daemon)
        answer = httpx.post(f"http://127.0.0.1:{port}/predict", json={"model": "churn", "rows": [{"x1": 0.5, "x2": 0.1, "x3": -1.0, "segment": "a"}]}, timeout=10.0)
        assert answer.status_code == 200, answer.text
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=60)
        assert daemon.returncode == 0, err
        assert json.loads(out)["champion"] is not None
    finally:
        if daemon.poll() is None:
            daemon.kill()
        daemon.communicate()


def test_kill_9_during_training_then_restart_trains_that_firing_exactly_once(tmp_path: Path) -> None:
    write_stream(tmp_path / "events.csv", days=3)
    # Slow to fit (thousands of epochs), small to store and quick to update: only the first training is slow.
    slow = {"kind": "sklearn", "estimator": "sklearn.neural_network.MLPClassifier",
            "params": {"hidden_layer_sizes": 256, "max_iter": 2500, "tol": 0.0, "n_iter_no_change": 100_000, "random_state": 0}}
    config = _write(tmp_path, "churn", model=slow, training={"mode": "stateful", "window": "2d", "holdout": "6h", "min_rows": 50})
    home = tmp_path / "home-churn"
    journal = FiringJournal(home / "firings" / "churn.jsonl")
    run = [*COMMAND, "run", "-c", str(config), "--step", "12h"]

    first = subprocess.Popen([*run, "--follow", "--poll", "0.2s"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        started = _wait(lambda: [e for e in journal.entries() if e["status"] == "started"], timeout=120,
                        what="the first training to start", process=first)
        os.kill(first.pid, signal.SIGKILL)
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate()
    firing = started[0]["firing_id"]
    assert _versions(home, "churn") == [], "training finished before the kill: make it slower"

    second = subprocess.run([*run, "--once"], cwd=tmp_path, capture_output=True, text=True, timeout=240, check=False)
    assert second.returncode == 0, second.stderr
    versions = _versions(home, "churn")
    for_firing = [v.version for v in versions if v.lineage.trigger.get("firing_id") == firing]
    assert for_firing == ["1.0"], [v.lineage.trigger for v in versions]
    assert len({v.lineage.trigger["firing_id"] for v in versions}) == len(versions) >= 2
    attempts = [e for e in journal.entries() if e["firing_id"] == firing and e["status"] == "started"]
    assert len(attempts) == 2  # interrupted by the kill, then trained once after the restart
