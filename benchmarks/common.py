"""Shared benchmark plumbing: results files, peer virtual environments, timing helpers.

Each benchmark is a module ``benchmarks/<name>.py`` with ``run(quick: bool) -> dict`` (it measures
lifelong and its peers side by side, in the same run, on the same data) and
``describe(result: dict) -> str`` (a Markdown section for BENCHMARKS.md). ``python -m benchmarks.run``
runs them all, writes ``benchmarks/results/<name>.json`` and regenerates ``BENCHMARKS.md``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PEER_VENVS = ROOT / ".bench-venvs"
DATASETS = Path(os.environ.get("LIFELONG_DATASETS", ROOT.parent / "shared" / "datasets"))


def machine() -> dict[str, Any]:
    """Where the numbers were measured."""
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "system": platform.system(),
    }


def write_result(name: str, data: dict[str, Any]) -> Path:
    """Write ``benchmarks/results/<name>.json`` (with the machine it ran on)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {**data, "machine": machine(), "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    path.write_text(json.dumps(payload, indent=2, default=float) + "\n")
    return path


def read_result(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def peer_python(name: str, requirements: Sequence[str]) -> Path:
    """A separate virtual environment for a peer whose pins clash with lifelong's; returns its python.

    The environment is created once under ``.bench-venvs/<name>`` and reused while its
    requirements are unchanged.
    """
    venv = PEER_VENVS / name
    python = venv / "bin" / "python"
    stamp = venv / ".requirements"
    wanted = "\n".join(requirements)
    if not python.exists() or not stamp.exists() or stamp.read_text() != wanted:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *requirements], check=True)
        stamp.write_text(wanted)
    return python


def median_time(function: Callable[[], Any], *, repeat: int = 5) -> float:
    """Median wall seconds of ``function`` over ``repeat`` runs."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


__all__ = ["DATASETS", "PEER_VENVS", "RESULTS", "ROOT", "machine", "median_time", "peer_python", "read_result", "write_result"]
