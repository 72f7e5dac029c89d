"""Helpers shared by the prediction server tests."""

from __future__ import annotations

import warnings

from starlette.exceptions import StarletteDeprecationWarning

from lifelong.serving import InputSpec
from lifelong.testing.fakes import InMemoryModelLoader, logistic_served_model

with warnings.catch_warnings():
    # Starlette 1.x asks for httpx2 and warns once at import when only httpx is installed.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

FEATURES = ("x1", "x2", "x3")
IMPRESSION = InputSpec("impression_id", "BYTES", required=False)
ADMIN_TOKEN = "admin-s3cret"


def build_loader(
    versions: tuple[str, ...] = ("1.0", "1.1", "2.0"), *, load_delay: float = 0.0
) -> InMemoryModelLoader:
    loader = InMemoryModelLoader(load_delay=load_delay)
    for seed, version in enumerate(versions):
        served = logistic_served_model(
            "churn", version, seed=seed, features=FEATURES, extra_inputs=(IMPRESSION,)
        )
        loader.add(served, champion=seed == 0)
    return loader


def oip_body(rows: list[list[float]], *, request_id: str | None = None) -> dict[str, object]:
    body: dict[str, object] = {
        "inputs": [
            {
                "name": name,
                "shape": [len(rows)],
                "datatype": "FP64",
                "data": [row[i] for row in rows],
            }
            for i, name in enumerate(FEATURES)
        ]
    }
    if request_id is not None:
        body["id"] = request_id
    return body


__all__ = ["ADMIN_TOKEN", "FEATURES", "IMPRESSION", "TestClient", "build_loader", "oip_body"]
