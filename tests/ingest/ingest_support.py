"""Helpers of the ingest tests: specs for broker sources, the ``lifelong ingest`` child process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lifelong.events import ParquetEventStore

LIFELONG = Path(sys.executable).parent / "lifelong"


def write_spec(folder: Path, source: dict[str, Any]) -> Path:
    """A pipeline spec whose events have ``x1`` (float) and the label ``y`` (int)."""
    data = {
        "name": "churn",
        "home": str(folder / "home"),
        "source": source,
        "labels": {"kind": "column", "column": "y"},
        "features": {"kind": "tabular", "numeric": ["x1"], "categorical": {}},
        "model": {"kind": "lightgbm", "n_estimators": 10},
        "schema": {"fields": {"x1": {"type": "float"}, "y": {"type": "int"}}, "max_future": "1h", "max_payload_bytes": 512},
    }
    path = folder / "lifelong.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def stored_ids(spec_folder: Path) -> list[str]:
    with ParquetEventStore(spec_folder / "home" / "events") as store:
        return list(store.window("events", columns=["event_id"])["event_id"])


def stored_count(spec_folder: Path) -> int:
    with ParquetEventStore(spec_folder / "home" / "events") as store:
        return store.count("events")


@dataclass
class IngestChild:
    """``lifelong ingest -c SPEC ARGS...`` as a real child process."""

    process: subprocess.Popen[str]
    log: Path

    @classmethod
    def start(cls, spec: Path, *args: str) -> IngestChild:
        log = spec.parent / f"ingest-{time.monotonic_ns()}.log"
        with open(log, "w") as handle:
            process = subprocess.Popen(
                [str(LIFELONG), "ingest", "-c", str(spec), *args], stdout=handle, stderr=subprocess.STDOUT, text=True, env=dict(os.environ)
            )
        return cls(process, log)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill9(self) -> bool:
        """SIGKILL; True when the process was still running (a real kill)."""
        alive = self.alive()
        if alive:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        return alive

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM once the process follows its source (its handler is installed), then its exit code."""
        deadline = time.monotonic() + 60
        while self.alive() and "(SIGTERM stops)" not in self.output() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def totals(self) -> dict[str, int]:
        """The JSON totals printed at exit."""
        text = self.output()
        return dict(json.loads(text[text.index("{") :]))


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str, child: IngestChild | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if child is not None and not child.alive():
            raise AssertionError(f"ingest exited with {child.process.returncode} before {what}: {child.output()[-3000:]}")
        if time.monotonic() > deadline:
            extra = child.output()[-3000:] if child is not None else ""
            raise AssertionError(f"timed out after {timeout} s waiting for {what} {extra}")
        time.sleep(0.25)
