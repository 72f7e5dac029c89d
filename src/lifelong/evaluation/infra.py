"""Infra gate: the artifact must load in a fresh process, answer requests fast, and stay small.

The gate writes a sample of held-out rows, starts ``python -m lifelong.evaluation.infra_worker``
(a new interpreter: nothing cached from training), and checks its report: no failed request,
p99 single-row latency within ``max_p99_ms``, probabilities equal to the in-process ones, and
the artifact directory within ``max_artifact_mb``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lifelong.errors import ConfigError
from lifelong.evaluation.data import aligned_proba
from lifelong.evaluation.gates import Comparison, Gate, GateResult, needs_data

_SAMPLE_ROWS = 200


def directory_bytes(path: Path) -> int:
    """Total size of the files under ``path``."""
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def _portable(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns Parquet stores as they are: numbers, booleans and strings."""
    keep = [
        column
        for column in frame.columns
        if pd.api.types.is_numeric_dtype(frame[column])
        or pd.api.types.is_bool_dtype(frame[column])
        or pd.api.types.is_string_dtype(frame[column])
    ]
    return frame[keep].reset_index(drop=True)


class InfraGate(Gate):
    """Load the challenger's artifact in a fresh process and answer ``requests`` single-row requests.

    Examples
    --------
    >>> gate = InfraGate(requests=50, max_p99_ms=20.0)
    >>> gate.check(Comparison("roc_auc", True, 0.7, None, 10)).reason
    'infra: needs the scored held-out rows, got only the two metric values'
    """

    kind = "infra"

    def __init__(
        self,
        *,
        requests: int = 200,
        max_p99_ms: float = 50.0,
        max_artifact_mb: float = 200.0,
        timeout_seconds: float = 120.0,
    ) -> None:
        if requests < 1:
            raise ConfigError(f"requests: expected an integer >= 1, got {requests!r}")
        if not max_p99_ms > 0 or not max_artifact_mb > 0 or not timeout_seconds > 0:
            raise ConfigError(
                "max_p99_ms, max_artifact_mb, timeout: expected numbers > 0, got "
                f"{max_p99_ms!r}, {max_artifact_mb!r}, {timeout_seconds!r}"
            )
        self.requests = requests
        self.max_p99_ms = float(max_p99_ms)
        self.max_artifact_mb = float(max_artifact_mb)
        self.timeout_seconds = float(timeout_seconds)

    def check(self, comparison: Comparison) -> GateResult:
        data = comparison.data
        if data is None:
            return needs_data(self.kind)
        values: dict[str, Any] = {
            "max_p99_ms": self.max_p99_ms,
            "max_artifact_mb": self.max_artifact_mb,
            "requests": self.requests,
        }
        if data.artifact_dir is None:
            return GateResult(self.kind, False, "infra: expected the challenger's artifact directory, got none", values)
        frame = data.holdout.frame
        if frame is None or len(frame) == 0:
            return GateResult(self.kind, False, "infra: expected held-out rows with named columns to send", values)
        size_mb = directory_bytes(data.artifact_dir) / 1_000_000
        values["artifact_mb"] = size_mb
        sample = _portable(frame.iloc[:_SAMPLE_ROWS])
        report = self._run_worker(data.artifact_dir, sample)
        if "error" in report:
            values["worker"] = report
            return GateResult(self.kind, False, f"infra: the fresh process failed: {report['error']}", values)
        values.update({key: report[key] for key in ("load_seconds", "p50_ms", "p99_ms", "max_ms", "errors", "first_error")})
        expected = aligned_proba(data.challenger, frame.iloc[:_SAMPLE_ROWS], data.holdout.classes)
        answered = np.asarray(report["proba"], dtype=np.float64)
        mismatch = float(np.abs(answered - expected).max()) if answered.shape == expected.shape else float("inf")
        values["max_proba_difference"] = mismatch
        problems = []
        if report["errors"]:
            problems.append(f"{report['errors']} of {self.requests} requests failed ({report['first_error']})")
        if report["p99_ms"] > self.max_p99_ms:
            problems.append(f"p99 latency {report['p99_ms']:.2f} ms > {self.max_p99_ms} ms")
        if size_mb > self.max_artifact_mb:
            problems.append(f"artifact {size_mb:.1f} MB > {self.max_artifact_mb} MB")
        if not mismatch <= 1e-6:
            problems.append(f"answers differ from the in-process model by up to {mismatch:.3g}")
        if problems:
            return GateResult(self.kind, False, "infra: " + "; ".join(problems), values)
        reason = (
            f"loaded in a fresh process in {report['load_seconds']:.2f} s; {self.requests} requests, p99 "
            f"{report['p99_ms']:.2f} ms (<= {self.max_p99_ms}); artifact {size_mb:.2f} MB (<= {self.max_artifact_mb})"
        )
        return GateResult(self.kind, True, reason, values)

    def _run_worker(self, artifact_dir: Path, sample: pd.DataFrame) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="lifelong-infra-") as tmp:
            samples = Path(tmp) / "samples.parquet"
            sample.to_parquet(samples, index=False)
            command = [
                sys.executable,
                "-m",
                "lifelong.evaluation.infra_worker",
                str(artifact_dir),
                str(samples),
                str(self.requests),
            ]
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=self.timeout_seconds, check=False)
            except subprocess.TimeoutExpired:
                return {"error": f"no answer within {self.timeout_seconds:.0f} s"}
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            return {"error": f"exit code {done.returncode}: {tail[0]}"}
        try:
            report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError) as exc:
            return {"error": f"expected one JSON report on stdout, got {done.stdout[-200:]!r} ({exc})"}
        return report


__all__ = ["InfraGate", "directory_bytes"]
