"""Helpers of the routing tests: a challenger that breaks, registry versions, a real uvicorn server."""

from __future__ import annotations

import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import uvicorn
from fastapi import FastAPI
from numpy.typing import NDArray

from lifelong.features import FeaturePipeline
from lifelong.learners import build_learner
from lifelong.registry import Registry
from lifelong.registry.types import Iteration, Lineage, TrainingMode
from lifelong.serving import ServedModel
from lifelong.training import ModelBundle

AUTH = {"Authorization": "Bearer admin-s3cret"}


def broken(served: ServedModel, version: str) -> ServedModel:
    """A copy of ``served`` named ``version`` whose every prediction raises."""

    def fail(X: NDArray[np.float64]) -> tuple[NDArray[Any], NDArray[np.float64]]:
        raise RuntimeError(f"version {version} is broken on purpose")

    return replace(served, version=version, predict_array=fail, predict=lambda frame: fail(np.zeros((1, 1))))


def register_bundle(registry: Registry, seed: int, *, parent: str | None = None, model: str = "churn") -> str:
    """Fit a small logistic regression on seeded data and register it as a version of ``model``."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(300, 3))
    y = (X @ rng.normal(size=3) > 0).astype(int)
    learner = build_learner("sklearn", {"estimator": "sklearn.linear_model.LogisticRegression", "params": {}})
    learner.fit(X, y)
    bundle = ModelBundle(learner=learner, features=FeaturePipeline(numeric=("x1", "x2", "x3")), model_hash="routing-test")
    lineage = Lineage(
        parent=parent,
        mode=TrainingMode.STATELESS,
        iteration=Iteration.DATA if parent else Iteration.MODEL,
        snapshot=None,
        config_hash="c0ffee",
        code_version="test",
        git_commit=None,
        library_versions={},
    )
    with tempfile.TemporaryDirectory(prefix="routing-bundle-") as tmp:
        bundle.save(Path(tmp))
        return registry.register(model, Path(tmp), lineage=lineage, learner_kind="sklearn").version


def run_server(app: FastAPI) -> tuple[uvicorn.Server, threading.Thread, str]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", ws="none", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-routing-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start within 10 s")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}"


def oip(rows: list[list[float]], request_id: str | None = None, unit: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "inputs": [
            {"name": name, "shape": [len(rows)], "datatype": "FP64", "data": [row[i] for row in rows]}
            for i, name in enumerate(("x1", "x2", "x3"))
        ]
    }
    if request_id is not None:
        body["id"] = request_id
    if unit is not None:
        body["parameters"] = {"unit_id": unit}
    return body


__all__ = ["AUTH", "broken", "oip", "register_bundle", "run_server"]
