"""The fresh process of the infra gate: load a bundle, answer sample requests, report as JSON.

Run as ``python -m lifelong.evaluation.infra_worker BUNDLE_DIR SAMPLES.parquet REQUESTS``. It
loads the bundle the way the prediction server does (:func:`served_from_bundle` behind a
:class:`~lifelong.serving.PredictionService`), answers one batch request with every sample row
(the probabilities are returned, to compare with the in-process ones) and then ``REQUESTS``
single-row requests, timing each. It prints one JSON object on stdout.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lifelong.serving.model import ServedModel


class _OneModelLoader:
    """The smallest model loader: one already-loaded version."""

    def __init__(self, served: ServedModel) -> None:
        self.served = served

    def models(self) -> list[str]:
        return [self.served.model]

    def champion_version(self, model: str) -> str | None:
        return self.served.version

    def load(self, model: str, version: str) -> ServedModel:
        return self.served


def measure(bundle_dir: Path, samples: Path, requests: int) -> dict[str, Any]:
    """Load, answer and time; the report the infra gate reads."""
    from lifelong.serving.catalog import ModelCatalog
    from lifelong.serving.registry_loader import served_from_bundle
    from lifelong.serving.service import PredictionService
    from lifelong.training.bundle import ModelBundle

    started = time.perf_counter()
    bundle = ModelBundle.load(bundle_dir)
    served = served_from_bundle("infra-check", "0.0", bundle)
    service = PredictionService(ModelCatalog(_OneModelLoader(served)), None, extra="ignore")
    load_seconds = time.perf_counter() - started
    frame = pd.read_parquet(samples)
    names = [spec.name for spec in served.inputs if spec.name in frame.columns]
    columns = {name: frame[name].to_numpy() for name in names}
    batch = service.predict_columns("infra-check", columns, "batch")
    latencies: list[float] = []
    errors = 0
    first_error: str | None = None
    for index in range(requests):
        row = index % len(frame)
        single = {name: values[row : row + 1] for name, values in columns.items()}
        tick = time.perf_counter()
        try:
            service.predict_columns("infra-check", single, f"r{index}")
        except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
            errors += 1
            first_error = first_error or f"{type(exc).__name__}: {exc}"
        latencies.append((time.perf_counter() - tick) * 1000.0)
    ms = np.asarray(latencies)
    return {
        "load_seconds": load_seconds,
        "requests": requests,
        "errors": errors,
        "first_error": first_error,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
        "proba": np.asarray(batch.probabilities, dtype=np.float64).tolist(),
        "classes": [c.item() if hasattr(c, "item") else c for c in batch.classes],
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print(json.dumps({"error": f"usage: BUNDLE_DIR SAMPLES REQUESTS, got {args!r}"}))
        return 2
    report = measure(Path(args[0]), Path(args[1]), int(args[2]))
    print(json.dumps(report, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
