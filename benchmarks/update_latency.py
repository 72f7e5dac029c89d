"""Update latency: from the last labeled event of a 10k-row batch at the source to the new champion on 100% of traffic.

Setup, all real: a ``lifelong serve`` process (uvicorn, the registry-backed catalog polling for
promotions every 0.2 s) over a SQLite registry; a file source reading a folder (one CSV per
batch, SEA-like rows with their labels); the loop of ``lifelong run`` in this process
(:func:`lifelong.ingest.store_batch` into the Parquet event store, then
:meth:`lifelong.orchestrator.Orchestrator.step`: volume trigger, stateless LightGBM on the
new 10k rows, gates on — ``min_rows`` and ``not_worse`` on a held-out tenth — direct deployment,
no bake time); a client thread polling ``/predict`` every 20 ms.

For each trial, a new batch file is renamed into the source folder (t0: the batch and its last
labeled event have arrived). The loop polls the folder, ingests, trains, gates, registers and
promotes; the latency ends at the first response served by the new version, provided that every
later response is too (the swap is atomic per process: 100% of traffic). ``train_s`` is the
training time the trainer measured for that version (CPU seconds, single-threaded LightGBM);
``overhead_s`` = latency − ``train_s``: ingest, snapshot, evaluation, registry, promotion, the
server's poll and load.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import yaml

GOAL_P50_S = 2.4
GOAL_OVERHEAD_S = 0.5
ROWS = 10_000
PERIOD_S = 0.02  # the client's polling period: 50 requests a second
START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _config(home: Path, inbox: Path) -> dict[str, Any]:
    return {
        "name": "latency",
        "home": str(home),
        "source": {"kind": "file", "path": str(inbox), "timestamp": "ts", "batch_size": ROWS},
        "labels": {"kind": "column", "column": "label"},
        "features": {"kind": "tabular", "numeric": ["f1", "f2", "f3"]},
        "model": {"kind": "lightgbm", "n_estimators": 100, "num_leaves": 31},
        "training": {"mode": "stateless", "window": "10000s", "holdout": "1000s", "min_rows": 1000, "forgetting": {"windows": 0}},
        "evaluation": {"metric": "accuracy", "gates": [{"kind": "min_rows", "rows": 500}, {"kind": "not_worse", "tolerance": 0.05}]},
        "deployment": {"kind": "direct"},
        "triggers": {"triggers": [{"kind": "volume", "growth": 1e-9, "min_rows": ROWS}]},
    }


def _batch(index: int, rng: np.random.Generator) -> pd.DataFrame:
    """10k rows a second apart, labels from a SEA concept whose threshold moves with each batch."""
    X = rng.uniform(0, 10, size=(ROWS, 3))
    threshold = 8.0 + (index % 3)
    label = ((X[:, 0] + X[:, 1]) <= threshold).astype(int)
    flip = rng.random(ROWS) < 0.1
    times = pd.date_range(START + timedelta(seconds=index * ROWS), periods=ROWS, freq="s")
    return pd.DataFrame({"ts": times.strftime("%Y-%m-%dT%H:%M:%S"), "f1": X[:, 0], "f2": X[:, 1], "f3": X[:, 2], "label": np.where(flip, 1 - label, label)})


def _drop(inbox: Path, index: int, frame: pd.DataFrame) -> float:
    """Write the batch beside the folder and rename it in: the moment its last event arrives."""
    staging = inbox.parent / f"batch-{index:04d}.csv"
    frame.to_csv(staging, index=False)
    os.replace(staging, inbox / staging.name)
    return time.perf_counter()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Client(threading.Thread):
    """Polls: posts /predict every ``PERIOD_S`` and records (time, version) of every answer."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.answers, self.stop = url, [], threading.Event()
        self.answers: list[tuple[float, str]] = []

    def run(self) -> None:
        body = {"model": "latency", "rows": [{"f1": 1.0, "f2": 2.0, "f3": 3.0}]}
        with httpx.Client(timeout=5.0) as client:
            while not self.stop.is_set():
                try:
                    response = client.post(self.url, json=body)
                except httpx.HTTPError:
                    time.sleep(0.01)
                    continue
                if response.status_code == 200:
                    self.answers.append((time.perf_counter(), response.json()["model_version"]))
                time.sleep(PERIOD_S)


def _switched(answers: list[tuple[float, str]], version: str, since: float) -> float | None:
    """When every answer after ``since`` is ``version`` from some point on (and at least 5 such): that point."""
    after = [(t, v) for t, v in answers if t >= since]
    for index, (t, v) in enumerate(after):
        if v == version and all(w == version for _, w in after[index:]) and len(after) - index >= 5:
            return t
    return None


def run(quick: bool) -> dict[str, Any]:
    from lifelong.clock import ManualClock
    from lifelong.config import parse_config
    from lifelong.ingest import open_source, start_position, store_batch
    from lifelong.orchestrator import Orchestrator, UpdateResult
    from lifelong.runtime import Pipeline

    trials = 3 if quick else 9
    rng = np.random.default_rng(0)
    samples: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="lifelong-latency-") as tmp:
        root = Path(tmp)
        inbox, home = root / "inbox", root / "home"
        inbox.mkdir()
        raw = _config(home, inbox)
        (root / "lifelong.yaml").write_text(yaml.safe_dump(raw))
        config = parse_config(raw)
        clock = ManualClock(START)
        pipeline = Pipeline.open(config, clock=clock, project_dir=root)
        orchestrator = Orchestrator(pipeline)
        source = open_source(pipeline)

        def loop_once() -> UpdateResult | None:
            """One pass of the run loop: ingest whatever arrived, then check the trigger."""
            outcome = None
            for batch in source.read(since=start_position(pipeline, source)):
                store_batch(pipeline, batch, source)
                if batch.rows:
                    clock.set(batch.frame["event_time"].max().to_pydatetime() + timedelta(microseconds=1))
                    step = orchestrator.step(clock.now())
                    outcome = step if isinstance(step, UpdateResult) else outcome
            return outcome

        _drop(inbox, 0, _batch(0, rng))
        first = loop_once()
        if first is None or not first.promoted:
            raise RuntimeError(f"update_latency: the first version was not promoted: {first}")
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-c", "from lifelong.cli import main; main()", "serve", "-c", str(root / "lifelong.yaml"), "--port", str(port)],
            cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = _Client(f"http://127.0.0.1:{port}/predict")
        try:
            deadline = time.perf_counter() + 60
            client.start()
            while not client.answers and time.perf_counter() < deadline:
                time.sleep(0.05)
            if not client.answers:
                raise RuntimeError("update_latency: the server never answered")
            for index in range(1, trials + 1):
                t0 = _drop(inbox, index, _batch(index, rng))
                result = None
                while result is None:  # the run loop, polling the source folder
                    result = loop_once()
                    if result is None:
                        time.sleep(0.01)
                promoted_at = time.perf_counter()
                if not result.promoted:
                    samples.append({"rejected": 1.0, "train_s": result.train_cpu_s})
                    continue
                switched = None
                limit = time.perf_counter() + 30
                while switched is None and time.perf_counter() < limit:
                    time.sleep(0.05)
                    switched = _switched(client.answers, result.version, t0)
                if switched is None:
                    raise RuntimeError(f"update_latency: version {result.version} never took all traffic")
                latency = switched - t0
                samples.append({
                    "latency_s": latency,
                    "train_s": result.train_cpu_s,
                    "overhead_s": latency - result.train_cpu_s,
                    "loop_s": promoted_at - t0,  # ingest, train, gate, register, promote
                    "swap_s": switched - promoted_at,  # the server's poll, load and next answer
                })
        finally:
            client.stop.set()
            server.terminate()
            server.wait(timeout=10)
            source.close()
            pipeline.close()
    measured = [s for s in samples if "latency_s" in s]
    latencies = sorted(s["latency_s"] for s in measured)
    return {
        "rows_per_batch": ROWS,
        "trials": len(measured),
        "rejected": len(samples) - len(measured),
        "p50_s": round(statistics.median(latencies), 3),
        "p95_s": round(float(np.percentile(latencies, 95)), 3),
        "train_s": round(statistics.median(s["train_s"] for s in measured), 3),
        "overhead_s": round(statistics.median(s["overhead_s"] for s in measured), 3),
        "loop_s": round(statistics.median(s["loop_s"] for s in measured), 3),
        "swap_s": round(statistics.median(s["swap_s"] for s in measured), 3),
        "samples": [{k: round(v, 3) for k, v in s.items()} for s in samples],
        "goal_p50_s": GOAL_P50_S,
        "goal_overhead_s": GOAL_OVERHEAD_S,
    }


def describe(result: dict[str, Any]) -> str:
    met_p50 = result["p50_s"] <= result["goal_p50_s"]
    met_overhead = result["overhead_s"] <= result["goal_overhead_s"]
    lines = [
        "## update_latency",
        "",
        f"From the last labeled event of a {result['rows_per_batch']:,}-row batch arriving at the file source to the new",
        "champion answering 100% of a real `lifelong serve` process's traffic (gates on, no bake time), over",
        f"{result['trials']} updates ({result['rejected']} rejected by the gates).",
        "",
        "| p50 | p95 | training (median) | overhead (median) |",
        "|---|---|---|---|",
        f"| {result['p50_s']:.2f} s | {result['p95_s']:.2f} s | {result['train_s']:.2f} s | {result['overhead_s']:.2f} s |",
        "",
        f"Goal p50 <= {result['goal_p50_s']} s: {'met' if met_p50 else 'missed'}; "
        f"overhead <= {result['goal_overhead_s']} s: {'met' if met_overhead else 'missed'}.",
    ]
    if not (met_p50 and met_overhead):
        lines.append(
            "The overhead is the loop's work around training (ingest into the Parquet store, the label window read, "
            "the snapshot and artifact writes, the holdout evaluation, registry transactions) plus the server's "
            "0.2 s registry poll and model load."
        )
    return "\n".join(lines) + "\n"


__all__ = ["describe", "run"]
