"""Hypothesis fuzzing of the prediction API and of event validation.

The prediction endpoints (plain JSON ``/predict`` and the Open Inference Protocol infer) get
arbitrary JSON shaped like their requests: the answer is never a 5xx, always JSON, and an error
is always ``{"error": <non-empty text>, ...}``. Event validation gets arbitrary frames: it never
raises anything but the documented errors, and every row ends up either valid or dead-lettered
with a reason.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pipeline_support import write_spec, write_stream
from reliability_support import Record

from lifelong.config import load_config
from lifelong.events import EventSchema, FieldSpec
from lifelong.ingest import run_replay
from lifelong.runtime import Pipeline
from lifelong.serving.registry_loader import build_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from starlette.testclient import TestClient

EXAMPLES: Counter[str] = Counter()
"""Examples each fuzz target ran in this session, for the summary rows."""

# Timing health checks are left out: the suite shares a loaded machine, and how fast examples
# are drawn says nothing about what is checked.
SLOW = [HealthCheck.too_slow]
FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, *SLOW],
    derandomize=True,
)
NAMES = st.sampled_from(["x1", "x2", "x3", "segment", "zzz", "", "x1 ", "🙂", "a" * 300])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
ROWS = st.lists(st.dictionaries(NAMES, JSON, max_size=6), max_size=4)
PREDICT = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {"model": st.sampled_from(["churn", "nosuch", ""]) | JSON, "rows": ROWS | JSON},
        optional={"request_id": JSON},
    ),
)
TENSOR = st.fixed_dictionaries(
    {
        "name": NAMES | JSON,
        "shape": st.lists(st.integers(min_value=-5, max_value=10**13), max_size=3) | JSON,
        "datatype": st.sampled_from(
            ["FP64", "FP32", "INT64", "BYTES", "BOOL", "UINT8", "FP16", "nope"]
        )
        | JSON,
        "data": st.lists(SCALARS, max_size=6) | JSON,
    },
    optional={"parameters": JSON},
)
INFER = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {"inputs": st.lists(TENSOR, max_size=5) | JSON},
        optional={"id": JSON, "outputs": JSON, "parameters": JSON},
    ),
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("fuzz")
    write_stream(folder / "events.csv", days=3, seed=12)
    pipeline = Pipeline.open(load_config(write_spec(folder)))
    run_replay(pipeline, step=timedelta(hours=12))
    try:
        with TestClient(
            build_app(pipeline.registry, pipeline.store, admin_token="fuzz-admin")
        ) as opened:
            yield opened
    finally:
        pipeline.close()


def _check(response: Any) -> None:
    assert response.status_code < 500, response.text
    body = response.json()  # always JSON
    if response.status_code >= 400:
        assert (
            isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"].strip()
        )
    else:
        assert isinstance(body, dict)


@FUZZ
@given(body=PREDICT)
def test_predict_never_answers_5xx(client: TestClient, body: Any) -> None:
    _check(client.post("/predict", json=body))
    EXAMPLES["predict"] += 1


@FUZZ
@given(body=INFER)
def test_oip_infer_never_answers_5xx(client: TestClient, body: Any) -> None:
    _check(client.post("/v2/models/churn/infer", json=body))
    EXAMPLES["oip"] += 1


@FUZZ
@given(raw=st.binary(max_size=300))
def test_raw_bytes_never_answer_5xx(client: TestClient, raw: bytes) -> None:
    _check(client.post("/predict", content=raw, headers={"content-type": "application/json"}))
    _check(client.post("/v2/models/churn/infer", content=raw))
    EXAMPLES["raw"] += 1


SCHEMA = EventSchema(
    {
        "x": FieldSpec("float", min=-10.0, max=10.0),
        "n": FieldSpec("int", required=False),
        "flag": FieldSpec("bool", required=False),
        "kind": FieldSpec("category", categories=("a", "b")),
        "when": FieldSpec("timestamp", required=False),
        "note": FieldSpec("str", required=False),
    },
    max_future=timedelta(hours=1),
    max_payload_bytes=2000,
)
CELLS = st.one_of(
    SCALARS,
    st.datetimes(timezones=st.just(UTC)),
    st.sampled_from(["a", "b", "NaN", "inf", "1e999", "2024-01-01"]),
)
COLUMNS = st.sampled_from(
    ["event_id", "event_time", "x", "n", "flag", "kind", "when", "note", "extra"]
)


EVENT_ROWS = st.lists(st.dictionaries(COLUMNS, CELLS, max_size=9), min_size=0, max_size=8)


def _validate(rows: list[dict[str, Any]]) -> None:
    frame = pd.DataFrame(rows)
    valid, letters = SCHEMA.validate(frame, stream="fuzz", now=datetime(2024, 6, 1, tzinfo=UTC))
    assert len(valid) + len(letters) == len(frame)  # every row accounted for
    assert all(letter.reason and letter.payload for letter in letters)


@settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=SLOW)
@given(rows=EVENT_ROWS)
def test_event_validation_never_raises_unexpectedly(rows: list[dict[str, Any]]) -> None:
    _validate(rows)
    EXAMPLES["events"] += 1


@pytest.mark.soak
@settings(max_examples=1000, deadline=None, suppress_health_check=SLOW)
@given(rows=EVENT_ROWS)
def test_event_validation_soak(rows: list[dict[str, Any]]) -> None:
    _validate(rows)
    EXAMPLES["events_soak"] += 1


@pytest.mark.soak
@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, *SLOW],
)
@given(body=PREDICT, infer=INFER)
def test_prediction_api_soak(client: TestClient, body: Any, infer: Any) -> None:
    _check(client.post("/predict", json=body))
    _check(client.post("/v2/models/churn/infer", json=infer))
    EXAMPLES["api_soak"] += 1


def _summary(reliability: Record, case: str, keys: dict[str, str]) -> None:
    counts = {name: EXAMPLES[key] for name, key in keys.items()}
    if not any(counts.values()):
        pytest.skip("no fuzz target ran in this session: nothing to summarize")
    # every counted example passed its checks: no 5xx, JSON errors, every event accounted for
    reliability(case, **counts, server_errors=0, unexpected_exceptions=0)


def test_fuzz_summary(reliability: Record) -> None:
    _summary(
        reliability,
        "fuzz: prediction API and events",
        {"predict_examples": "predict", "oip_examples": "oip", "raw_examples": "raw", "event_examples": "events"},
    )


@pytest.mark.soak
def test_fuzz_soak_summary(reliability: Record) -> None:
    _summary(
        reliability,
        "fuzz: prediction API and events",
        {"api_examples": "api_soak", "event_examples": "events_soak"},
    )
