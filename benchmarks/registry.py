"""Registry at scale: 10,000 versions, register latency and lineage queries, against MLflow.

Both registries run on SQLite files in the same run, on the same machine. Each registers a
linear chain of versions (every version the parent of the next, as hourly stateful updates make
over a year), then answers lineage queries. lifelong's ``register`` also stores the version's
artifact folder (content-addressed, hashed and fsynced); MLflow's ``create_model_version`` only
records a pointer to artifacts logged elsewhere, with the parent as a tag (MLflow has no lineage
query: walking the chain is one ``get_model_version`` per hop). MLflow runs in its own virtual
environment (``benchmarks.common.peer_python``), as a separate process.

Keys: ``register_p50_ms``, ``lineage_ms`` (the full 10,000-deep chain), ``lineage_100_ms`` (a
version 100 deep), ``mlflow_register_p50_ms``, ``mlflow_lineage_100_ms``, ``speedup`` (MLflow's
register p50 over lifelong's). Goals: register p50 <= 5 ms, lineage <= 50 ms, speedup >= 10.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import peer_python

MLFLOW = ["mlflow==3.17.2"]
GOALS = {"register_p50_ms": 5.0, "lineage_ms": 50.0, "speedup": 10.0}

MLFLOW_WORKER = r"""
import json, statistics, sys, time, logging, warnings
warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
from mlflow import MlflowClient
folder, count = sys.argv[1], int(sys.argv[2])
uri = f"sqlite:///{folder}/mlflow.db"
client = MlflowClient(tracking_uri=uri, registry_uri=uri)
client.create_registered_model("churn")
times, parent = [], None
for n in range(count):
    tags = {"parent": parent} if parent else {}
    started = time.perf_counter()
    version = client.create_model_version("churn", source=f"{folder}/artifacts/{n}", tags=tags)
    times.append(time.perf_counter() - started)
    parent = version.version
def walk(version, hops):
    started = time.perf_counter()
    for _ in range(hops):
        found = client.get_model_version("churn", version)
        version = found.tags.get("parent")
        if version is None:
            break
    return time.perf_counter() - started
depth = min(100, count)
lineage_100 = statistics.median(walk(str(count), depth) for _ in range(5))
print(json.dumps({"register_p50_ms": 1000 * statistics.median(times),
                  "register_p95_ms": 1000 * sorted(times)[int(0.95 * (len(times) - 1))],
                  "lineage_100_ms": 1000 * lineage_100, "lineage_depth": depth}))
"""


def _lifelong(folder: Path, count: int) -> dict[str, float]:
    from lifelong.registry import Iteration, Lineage, Registry, TrainingMode

    model = folder / "model"
    (model / "learner").mkdir(parents=True)
    # A LightGBM bundle across data iterations: the spec and learner manifest stay, the trees change.
    (model / "spec.json").write_text(
        json.dumps({"features": {"numeric": ["x1", "x2", "x3"]}, "model_hash": "m" * 64})
    )
    (model / "learner" / "learner.json").write_text(
        json.dumps({"format": 1, "kind": "lightgbm", "params": {}})
    )
    times: list[float] = []
    parent: str | None = None
    chain: list[str] = []
    with Registry.open(folder / "home") as registry:
        for n in range(count):
            (model / "learner" / "model.txt").write_text(f"tree {n}\n" + "split 0.5\n" * 50)
            lineage = Lineage(
                parent=parent,
                mode=TrainingMode.STATEFUL if parent else TrainingMode.STATELESS,
                iteration=Iteration.DATA if parent else Iteration.MODEL,
                snapshot=None,
                config_hash="c" * 64,
                code_version="0.1.0",
                git_commit=None,
                library_versions={"lightgbm": "4.7.0"},
                trigger={"kind": "interval", "at": f"t{n}"},
            )
            started = time.perf_counter()
            version = registry.register("churn", model, lineage=lineage, learner_kind="lightgbm")
            times.append(time.perf_counter() - started)
            parent = version.version
            chain.append(parent)

        def query(version: str) -> float:
            started = time.perf_counter()
            found = registry.lineage("churn", version)
            elapsed = time.perf_counter() - started
            if found[-1].version != "1.0":
                raise RuntimeError(f"lineage of {version} does not reach the root")
            return elapsed

        full = statistics.median(query(chain[-1]) for _ in range(5))
        hundred = statistics.median(query(chain[min(99, count - 1)]) for _ in range(20))
    return {
        "register_p50_ms": 1000 * statistics.median(times),
        "register_p95_ms": 1000 * sorted(times)[int(0.95 * (len(times) - 1))],
        "register_last_1000_p50_ms": 1000 * statistics.median(times[-1000:]),
        "lineage_ms": 1000 * full,
        "lineage_100_ms": 1000 * hundred,
    }


def _mlflow(folder: Path, count: int) -> dict[str, float]:
    python = peer_python("mlflow", MLFLOW)
    env = {**os.environ, "MLFLOW_ENABLE_ASYNC_LOGGING": "false", "GIT_PYTHON_REFRESH": "quiet"}
    done = subprocess.run(
        [str(python), "-c", MLFLOW_WORKER, str(folder), str(count)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=7200,
    )
    if done.returncode != 0:
        raise RuntimeError(f"MLflow worker failed: {done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run(quick: bool) -> dict[str, Any]:
    count = 500 if quick else 10_000
    with tempfile.TemporaryDirectory(prefix="bench-registry-") as tmp:
        for name in ("lifelong", "mlflow"):
            (Path(tmp) / name).mkdir()
        ours = _lifelong(Path(tmp) / "lifelong", count)
        theirs = _mlflow(Path(tmp) / "mlflow", count)
    return {
        "versions": count,
        **ours,
        "mlflow_register_p50_ms": theirs["register_p50_ms"],
        "mlflow_register_p95_ms": theirs["register_p95_ms"],
        "mlflow_lineage_100_ms": theirs["lineage_100_ms"],
        "speedup": theirs["register_p50_ms"] / ours["register_p50_ms"],
        "lineage_100_speedup": theirs["lineage_100_ms"] / ours["lineage_100_ms"],
        "mlflow": MLFLOW[0],
    }


def describe(result: dict[str, Any]) -> str:
    missed = [
        f"{key} {result[key]:.2f} (goal {'>=' if key == 'speedup' else '<='} {goal})"
        for key, goal in GOALS.items()
        if (result[key] < goal if key == "speedup" else result[key] > goal)
    ]
    verdict = "All goals met." if not missed else "Missed: " + "; ".join(missed) + "."
    return f"""## registry

{result["versions"]:,} versions of one model in a linear chain, SQLite files, one run ({result["mlflow"]} in
its own venv). lifelong's register stores the artifact folder too (hashed, fsynced, content-addressed);
MLflow's only records a pointer, with the parent as a tag.

| | lifelong | MLflow |
|---|---|---|
| register p50 | {result["register_p50_ms"]:.2f} ms | {result["mlflow_register_p50_ms"]:.2f} ms |
| register p95 | {result["register_p95_ms"]:.2f} ms | {result["mlflow_register_p95_ms"]:.2f} ms |
| lineage, 100 deep | {result["lineage_100_ms"]:.2f} ms (one query) | {result["mlflow_lineage_100_ms"]:.2f} ms (one lookup per hop) |
| lineage, full chain ({result["versions"]:,} deep) | {result["lineage_ms"]:.2f} ms | not measured (no lineage query) |

Register speedup {result["speedup"]:.1f}x; lineage (100 deep) speedup {result["lineage_100_speedup"]:.1f}x.
Goals: register p50 <= 5 ms, lineage <= 50 ms, speedup >= 10x. {verdict}
{WHY if missed else ""}"""


WHY = """
Why, from profiles of lifelong on this machine (cProfile, 300 registrations; a 10,000-deep
lineage): a registration makes four fsyncs (the new tree file and the manifest, each file and its
shard folder: about 2 ms of the p50 at 0.5 ms each on this shared disk), and SQLAlchemy builds its
statements each time (about 2 ms); files whose content is already stored (spec, learner manifest)
are now hashed and skipped instead of rewritten and fsynced again. MLflow on SQLite is only 2-3x
slower because its register stores no artifact at all. The full-chain lineage is one recursive
query (the chain now carries whole rows instead of joining back onto the table, which was
quadratic on SQLite: 2.6 s before); what remains is building 10,000 ModelVersion records in Python
(JSON columns, now decoded with orjson, and dataclasses), about 60 us per version. A version 100
deep answers in about 10 ms. Measured while other test suites ran (load average 5-14).
"""
