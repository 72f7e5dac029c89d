"""A corpus of bad requests against the registry-backed server: each gets a clear 4xx, nothing else.

Each case names what must appear in the error (the field or the limit). After the whole corpus
the same server still answers a good request with the same champion, and the prediction log
holds exactly the good requests (a refused request logs nothing).
"""

from __future__ import annotations

import gzip
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from pipeline_support import write_spec, write_stream
from reliability_support import PassedCases, Record

from lifelong.config import load_config
from lifelong.ingest import run_replay
from lifelong.runtime import Pipeline
from lifelong.serving.registry_loader import build_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from starlette.testclient import TestClient

TOKEN = "corpus-admin"
GOOD = {"x1": 0.1, "x2": -1.0, "x3": 2.0, "segment": "a"}


def oip(*inputs: dict[str, Any]) -> dict[str, Any]:
    return {"inputs": list(inputs)}


def fp64(
    name: str, data: list[Any], shape: list[int] | None = None, datatype: str = "FP64"
) -> dict[str, Any]:
    return {
        "name": name,
        "shape": shape if shape is not None else [len(data)],
        "datatype": datatype,
        "data": data,
    }


GOOD_OIP = [
    fp64("x1", [0.1]),
    fp64("x2", [0.2]),
    fp64("x3", [0.3]),
    fp64("segment", ["a"], datatype="BYTES"),
]


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    status: int
    says: str
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


CASES = [
    Case(
        "deeply nested JSON",
        "/predict",
        400,
        "depth",
        content=b'{"model": "churn", "rows": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    ),
    Case(
        "nesting past the depth limit",
        "/predict",
        400,
        "nested",
        json={"model": "churn", "rows": [{"x1": nested(40)}]},
    ),
    Case(
        "oversized body",
        "/predict",
        413,
        "at most",
        content=b'{"model": "churn", "rows": [' + b'{"x1": 1.0},' * 200_000 + b"]}",
    ),
    Case(
        "gzip bomb",
        "/predict",
        413,
        "decompressed",
        content=gzip.compress(b" " * 200_000_000, compresslevel=9),
        headers={"content-encoding": "gzip", "content-type": "application/json"},
    ),
    Case(
        "corrupt gzip",
        "/predict",
        400,
        "gzip",
        content=b"\x1f\x8bnot really gzip",
        headers={"content-encoding": "gzip"},
    ),
    Case(
        "unsupported encoding",
        "/predict",
        415,
        "Content-Encoding",
        content=b"{}",
        headers={"content-encoding": "br"},
    ),
    Case(
        "NaN literal",
        "/predict",
        400,
        "JSON",
        content=b'{"model": "churn", "rows": [{"x1": NaN, "x2": 1, "x3": 1, "segment": "a"}]}',
    ),
    Case(
        "Infinity literal",
        "/predict",
        400,
        "JSON",
        content=b'{"model": "churn", "rows": [{"x1": Infinity}]}',
    ),
    Case(
        "number beyond float range",
        "/predict",
        400,
        "infinity",
        content=b'{"model": "churn", "rows": [{"x1": 1e400, "x2": 1, "x3": 1, "segment": "a"}]}',
    ),
    Case(
        "NaN as a string",
        "/predict",
        422,
        "x1",
        json={"model": "churn", "rows": [{**GOOD, "x1": "NaN"}]},
    ),
    Case(
        "Infinity as a string (OIP)",
        "/v2/models/churn/infer",
        400,
        "x1",
        json=oip(fp64("x1", ["inf"]), *GOOD_OIP[1:]),
    ),
    Case(
        "negative tensor shape",
        "/v2/models/churn/infer",
        400,
        "shape",
        json=oip(fp64("x1", [0.1], shape=[-1]), *GOOD_OIP[1:]),
    ),
    Case(
        "huge tensor shape",
        "/v2/models/churn/infer",
        400,
        "shape",
        json=oip(fp64("x1", [0.1], shape=[10**12]), *GOOD_OIP[1:]),
    ),
    Case(
        "shape and data disagree",
        "/v2/models/churn/infer",
        400,
        "shape",
        json=oip(fp64("x1", [0.1, 0.2, 0.3], shape=[2]), *GOOD_OIP[1:]),
    ),
    Case(
        "strings in an FP64 tensor",
        "/v2/models/churn/infer",
        400,
        "x1",
        json=oip(fp64("x1", ["abc"]), *GOOD_OIP[1:]),
    ),
    Case(
        "unknown datatype",
        "/v2/models/churn/infer",
        400,
        "datatype",
        json=oip(fp64("x1", [0.1], datatype="FP1024"), *GOOD_OIP[1:]),
    ),
    Case(
        "wrong dtype in plain JSON",
        "/predict",
        422,
        "x3",
        json={"model": "churn", "rows": [{**GOOD, "x3": [1, 2]}]},
    ),
    Case(
        "missing column",
        "/predict",
        422,
        "x2",
        json={"model": "churn", "rows": [{k: v for k, v in GOOD.items() if k != "x2"}]},
    ),
    Case(
        "missing OIP input",
        "/v2/models/churn/infer",
        400,
        "x3",
        json=oip(*GOOD_OIP[:2], GOOD_OIP[3]),
    ),
    Case(
        "extra column",
        "/predict",
        422,
        "zzz",
        json={"model": "churn", "rows": [{**GOOD, "zzz": 1}]},
    ),
    Case(
        "extra OIP input",
        "/v2/models/churn/infer",
        400,
        "zzz",
        json=oip(*GOOD_OIP, fp64("zzz", [1.0])),
    ),
    Case("unknown model", "/predict", 404, "nosuch", json={"model": "nosuch", "rows": [GOOD]}),
    Case("unknown model (OIP)", "/v2/models/nosuch/infer", 404, "nosuch", json=oip(*GOOD_OIP)),
    Case(
        "version not serving",
        "/v2/models/churn/versions/9.9/infer",
        404,
        "9.9",
        json=oip(*GOOD_OIP),
    ),
    Case("empty rows", "/predict", 422, "rows", json={"model": "churn", "rows": []}),
    Case("rows not a list", "/predict", 422, "rows", json={"model": "churn", "rows": "abc"}),
    Case("body is an array", "/predict", 422, "", json=[GOOD]),
    Case("not JSON", "/predict", 400, "JSON", content=b"model=churn&rows=1"),
    Case("invalid UTF-8", "/predict", 400, "JSON", content=b'{"model": "\xff\xfe"}'),
    Case("empty body", "/predict", 400, "empty", content=b""),
    Case(
        "request id too long",
        "/predict",
        422,
        "request_id",
        json={"model": "churn", "rows": [GOOD], "request_id": "r" * 500},
    ),
    Case("OIP inputs missing", "/v2/models/churn/infer", 400, "inputs", json={"id": "x"}),
    Case(
        "Host not allowed",
        "/predict",
        400,
        "Host",
        json={"model": "churn", "rows": [GOOD]},
        headers={"host": "evil.example"},
    ),
    Case(
        "bad Content-Length",
        "/predict",
        400,
        "Content-Length",
        content=b"{}",
        headers={"content-length": "12abc"},
    ),
    Case(
        "admin without a token",
        "/admin/models/churn/promote",
        401,
        "Authorization",
        json={"version": "1.0"},
    ),
    Case(
        "admin with a wrong token",
        "/admin/models/churn/promote",
        403,
        "not valid",
        json={"version": "1.0"},
        headers={"authorization": "Bearer wrong"},
    ),
    Case(
        "admin: unknown version",
        "/admin/models/churn/promote",
        404,
        "9.9",
        json={"version": "9.9"},
        headers={"authorization": f"Bearer {TOKEN}"},
    ),
    Case(
        "admin: malformed version",
        "/admin/models/churn/promote",
        400,
        "version",
        json={"version": "../1.0"},
        headers={"authorization": f"Bearer {TOKEN}"},
    ),
]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Pipeline]]:
    project = tmp_path_factory.mktemp("requests")
    write_stream(project / "events.csv", days=3, seed=4)
    pipeline = Pipeline.open(load_config(write_spec(project)))
    run_replay(pipeline, step=timedelta(hours=12))
    app = build_app(pipeline.registry, pipeline.store, admin_token=TOKEN)
    try:
        with TestClient(app) as client:
            yield client, pipeline
    finally:
        pipeline.close()


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_request_gets_a_clear_4xx(case: Case, served: tuple[TestClient, Pipeline]) -> None:
    client, _ = served
    if case.json is not None:
        response = client.post(case.path, json=case.json, headers=case.headers)
    else:
        response = client.post(case.path, content=case.content, headers=case.headers)
    assert response.status_code == case.status, response.text
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"]
    assert case.says in body["error"], body["error"]
    assert len(body["error"]) < 2000  # a message, not an echo of the request


def test_after_the_corpus_the_server_answers_and_logged_only_good_requests(
    served: tuple[TestClient, Pipeline], reliability: Record, passed_cases: PassedCases
) -> None:
    client, pipeline = served
    champion = pipeline.registry.alias_version("churn", "champion")
    for n in range(3):
        response = client.post(
            "/predict", json={"model": "churn", "rows": [GOOD], "request_id": f"good-{n}"}
        )
        assert response.status_code == 200 and response.headers["x-model-version"] == champion
    expected = {"good-0", "good-1", "good-2"}
    deadline = time.monotonic() + 10
    while True:  # the prediction log flushes in the background (every second)
        logged = set(pipeline.store.window("predictions", columns=["request_id"])["request_id"])
        if logged >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert logged == expected  # refused requests logged nothing, good ones all
    cases = passed_cases("test_bad_request_gets_a_clear_4xx")
    reliability("bad input: requests", cases_passed=cases, of=len(CASES), server_errors=0, alive=True)
