"""The HTTP API: Open Inference Protocol v2, plain /predict, errors, limits, admin, metrics, log."""

from __future__ import annotations

import gzip
import time
import zlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson
import pytest
from serving_support import ADMIN_TOKEN, FEATURES, TestClient, build_loader, oip_body

from lifelong.errors import ConfigError
from lifelong.serving import ModelCatalog, PredictionLogger, PredictionService, create_app
from lifelong.testing.fakes import InMemoryModelLoader, ListPredictionSink

ROWS = [[0.5, -1.0, 2.0], [-0.3, 0.8, 0.1], [1.5, 1.5, -2.0]]


def expected(loader: InMemoryModelLoader, version: str, rows: list[list[float]]) -> tuple[Any, Any]:
    served = loader.load("churn", version)
    assert served.predict_array is not None
    return served.predict_array(np.array(rows, dtype=np.float64))


# -- health and metadata -------------------------------------------------------------------------


def test_health_and_server_metadata(client: TestClient) -> None:
    assert client.get("/v2/health/live").json() == {"live": True}
    ready = client.get("/v2/health/ready")
    assert (ready.status_code, ready.json()) == (200, {"ready": True})
    meta = client.get("/v2").json()
    assert meta["name"] == "lifelong" and meta["version"] and meta["extensions"] == []


def test_model_metadata_describes_inputs_and_outputs(client: TestClient) -> None:
    meta = client.get("/v2/models/churn").json()
    assert meta["name"] == "churn" and meta["versions"] == ["1.0"] and meta["platform"] == "sklearn"
    assert meta["inputs"] == [{"name": n, "datatype": "FP64", "shape": [-1]} for n in FEATURES] + [
        {"name": "impression_id", "datatype": "BYTES", "shape": [-1]}
    ]
    assert meta["outputs"] == [
        {"name": "predict", "datatype": "INT64", "shape": [-1]},
        {"name": "predict_proba", "datatype": "FP64", "shape": [-1, 2]},
    ]
    assert client.get("/v2/models/churn/versions/1.0").json() == meta
    stale = client.get("/v2/models/churn/versions/1.1")
    assert (
        stale.status_code == 404
        and "'1.0'" in stale.json()["error"]
        and "'1.1'" in stale.json()["error"]
    )
    unknown = client.get("/v2/models/nope")
    assert unknown.status_code == 404 and "['churn']" in unknown.json()["error"]


def test_model_ready(client: TestClient) -> None:
    assert client.get("/v2/models/churn/ready").json() == {
        "name": "churn",
        "version": "1.0",
        "ready": True,
    }
    assert client.get("/v2/models/churn/versions/1.0/ready").status_code == 200
    assert client.get("/v2/models/churn/versions/2.0/ready").status_code == 404
    assert client.get("/v2/models/nope/ready").status_code == 404


def test_server_not_ready_without_champion() -> None:
    loader = build_loader()
    loader.set_champion("churn", None)
    app = create_app(PredictionService(ModelCatalog(loader), None))
    with TestClient(app) as client:
        ready = client.get("/v2/health/ready")
        assert (ready.status_code, ready.json()) == (400, {"ready": False})


# -- inference -----------------------------------------------------------------------------------


def test_infer_answers_with_the_champion(client: TestClient, loader: InMemoryModelLoader) -> None:
    response = client.post("/v2/models/churn/infer", json=oip_body(ROWS, request_id="req-1"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["model_name"], body["model_version"], body["id"]) == ("churn", "1.0", "req-1")
    assert response.headers["x-model-version"] == "1.0"
    labels, proba = expected(loader, "1.0", ROWS)
    predict, predict_proba = body["outputs"]
    assert predict == {
        "name": "predict",
        "datatype": "INT64",
        "shape": [3],
        "data": labels.tolist(),
    }
    assert predict_proba["name"] == "predict_proba" and predict_proba["datatype"] == "FP64"
    assert predict_proba["shape"] == [3, 2]
    np.testing.assert_allclose(predict_proba["data"], proba.ravel())


def test_infer_accepts_n_by_1_nested_data_and_selects_outputs(
    client: TestClient, loader: InMemoryModelLoader
) -> None:
    body = oip_body(ROWS)
    for tensor in body["inputs"]:  # type: ignore[attr-defined]
        tensor["shape"] = [3, 1]
        tensor["data"] = [[value] for value in tensor["data"]]
    body["outputs"] = [{"name": "predict_proba"}]
    response = client.post("/v2/models/churn/versions/1.0/infer", json=body)
    assert response.status_code == 200, response.text
    outputs = response.json()["outputs"]
    assert [output["name"] for output in outputs] == ["predict_proba"]
    np.testing.assert_allclose(outputs[0]["data"], expected(loader, "1.0", ROWS)[1].ravel())
    assert response.json()["id"]  # a request id is generated when the client gives none


def test_infer_integer_tensor_feeds_fp64_input(client: TestClient) -> None:
    body = oip_body([[1.0, 2.0, 3.0]])
    body["inputs"][0] |= {"datatype": "INT32", "data": [1]}  # type: ignore[index]
    assert client.post("/v2/models/churn/infer", json=body).status_code == 200


def _tensor(name: str, shape: list[int], datatype: str, data: list[Any]) -> dict[str, Any]:
    return {"name": name, "shape": shape, "datatype": datatype, "data": data}


def _with(first: dict[str, Any]) -> dict[str, Any]:
    return {"inputs": [first, _tensor("x2", [1], "FP64", [0.0]), _tensor("x3", [1], "FP64", [0.0])]}


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (_with(_tensor("x1", [2], "FP64", [1.0])), "data has 1 elements, shape [2] needs 2"),
        (_with(_tensor("x1", [-1], "FP64", [1.0])), "expected non-negative dimensions"),
        (_with(_tensor("x1", [1, 3], "FP64", [1.0, 2.0, 3.0])), "expected [n] or [n, 1]"),
        (_with(_tensor("x1", [1], "FP64", ["abc"])), "datatype FP64 does not match the data"),
        (_with(_tensor("x1", [1], "BOOL", [1.5])), "datatype BOOL does not match the data"),
        (_with(_tensor("x1", [1], "INT64", [1.5])), "datatype INT64 does not match the data"),
        (_with(_tensor("x1", [1], "FP128", [1.0])), "x1'.datatype: expected one of"),
        (
            _with(_tensor("x1", [1], "BYTES", ["1.0"])),
            "x1: model 'churn' expects datatype FP64, got BYTES",
        ),
        (
            _with(_tensor("x1", [2], "FP64", [1.0, 2.0])),
            "expected 2 rows like the inputs before it, got 1",
        ),
        (
            {"inputs": [_tensor("x2", [1], "FP64", [0.0]), _tensor("x3", [1], "FP64", [0.0])]},
            "x1: required input",
        ),
        (
            {
                "inputs": _with(_tensor("x1", [1], "FP64", [1.0]))["inputs"]
                + [_tensor("zz", [1], "FP64", [1.0])]
            },
            "unexpected ['zz']",
        ),
        ({"inputs": []}, "inputs: expected a non-empty array"),
        (
            {
                "inputs": _with(_tensor("x1", [1], "FP64", [1.0]))["inputs"],
                "outputs": [{"name": "logits"}],
            },
            "outputs[0].name: expected one of ['predict', 'predict_proba'], got 'logits'",
        ),
        ([1, 2], "request body: expected a JSON object"),
    ],
)
def test_infer_bad_requests_are_400_naming_the_problem(
    client: TestClient, body: Any, needle: str
) -> None:
    response = client.post("/v2/models/churn/infer", json=body)
    assert response.status_code == 400
    assert set(response.json()) == {"error"}
    assert needle in response.json()["error"]


def test_infer_unknown_model_or_version_is_404(client: TestClient) -> None:
    response = client.post("/v2/models/nope/infer", json=oip_body(ROWS))
    assert (
        response.status_code == 404
        and "expected one of ['churn'], got 'nope'" in response.json()["error"]
    )
    assert (
        client.post("/v2/models/churn/versions/1.1/infer", json=oip_body(ROWS)).status_code == 404
    )


# -- plain JSON ----------------------------------------------------------------------------------


def _rows(values: list[list[float]]) -> list[dict[str, Any]]:
    return [dict(zip(FEATURES, row, strict=True)) for row in values]


def test_predict_plain_json(client: TestClient, loader: InMemoryModelLoader) -> None:
    response = client.post(
        "/predict", json={"model": "churn", "rows": _rows(ROWS), "request_id": "r-9"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    labels, proba = expected(loader, "1.0", ROWS)
    assert (body["model"], body["model_version"], body["request_id"]) == ("churn", "1.0", "r-9")
    assert body["predictions"] == labels.tolist() and body["classes"] == [0, 1]
    np.testing.assert_allclose(body["probabilities"], proba)
    assert response.headers["x-model-version"] == "1.0"


@pytest.mark.parametrize(
    ("payload", "status", "field", "needles"),
    [
        (
            {"model": "churn", "rows": [{"x1": 1.0, "x3": 0.0}]},
            422,
            "x2",
            ["x2", "required", "missing"],
        ),
        (
            {"model": "churn", "rows": [{"x1": "abc", "x2": 1.0, "x3": 0.0}]},
            422,
            "x1",
            ["x1", "FP64", "'abc'"],
        ),
        (
            {"model": "churn", "rows": [{"x1": True, "x2": 1.0, "x3": 0.0}]},
            422,
            "x1",
            ["x1", "FP64", "True"],
        ),
        (
            {"model": "churn", "rows": [{"x1": None, "x2": 1.0, "x3": 0.0}]},
            422,
            "x1",
            ["x1", "None", "required"],
        ),
        (
            {"model": "churn", "rows": [{"x1": 1, "x2": 1.0, "x3": 0.0, "x9": 1}]},
            422,
            "x9",
            ["unexpected ['x9']"],
        ),
        (
            {"model": "churn", "rows": [{"x1": 1, "x2": 1, "x3": 0, "impression_id": 7}]},
            422,
            "impression_id",
            ["impression_id", "BYTES", "7"],
        ),
        ({"model": "churn", "rows": "abc"}, 422, "rows", ["rows", "list", "'abc'"]),
        ({"model": "churn", "rows": []}, 422, "rows", ["rows"]),
        ({"rows": [{"x1": 1.0}]}, 422, "model", ["model: required field is missing"]),
        (
            {"model": "churn", "rows": [{"x1": 1.0}], "extra": 1},
            422,
            "extra",
            ["extra: unexpected field"],
        ),
        (
            {"model": "nope", "rows": [{"x1": 1.0}]},
            404,
            "model",
            ["expected one of ['churn'], got 'nope'"],
        ),
    ],
)
def test_predict_errors_name_the_field(
    client: TestClient, payload: dict[str, Any], status: int, field: str, needles: list[str]
) -> None:
    response = client.post("/predict", json=payload)
    assert response.status_code == status, response.text
    assert response.json()["field"] == field
    for needle in needles:
        assert needle in response.json()["error"]


def test_prediction_log_rows(
    service: PredictionService, loader: InMemoryModelLoader, sink: ListPredictionSink
) -> None:
    rows = _rows(ROWS[:2])
    rows[0]["impression_id"] = "imp-1"
    with TestClient(create_app(service)) as client:
        response = client.post(
            "/predict", json={"model": "churn", "rows": rows, "request_id": "req-7"}
        )
        assert response.status_code == 200
        client.post("/v2/models/churn/infer", json=oip_body(ROWS[:1], request_id="req-8"))
    logged = sink.rows()  # closing the app drained the log
    assert logged["event_id"].tolist() == ["req-7:0", "req-7:1", "req-8:0"]
    assert logged["request_id"].tolist() == ["req-7", "req-7", "req-8"]
    assert set(logged["model"]) == {"churn"} and set(logged["model_version"]) == {"1.0"}
    np.testing.assert_allclose(logged[list(FEATURES)].to_numpy(), np.array(ROWS[:2] + ROWS[:1]))
    assert (
        logged["impression_id"].iloc[0] == "imp-1" and logged["impression_id"].iloc[1:].isna().all()
    )
    labels, proba = expected(loader, "1.0", ROWS[:2] + ROWS[:1])
    assert logged["prediction"].tolist() == labels.tolist()
    np.testing.assert_allclose(logged["score"], proba[:, 1])
    assert (
        str(logged["event_time"].dtype).startswith("datetime64")
        and logged["event_time"].dt.tz is not None
    )


# -- limits --------------------------------------------------------------------------------------


@pytest.fixture
def small_client(service: PredictionService) -> Iterator[TestClient]:
    with TestClient(create_app(service, max_body_bytes=4096, max_json_depth=8)) as client:
        yield client


def test_oversized_body_is_413(small_client: TestClient) -> None:
    big = {"model": "churn", "rows": [{"x1": 1.0, "x2": 2.0, "x3": 3.0}] * 200}
    response = small_client.post("/predict", json=big)
    assert response.status_code == 413 and "at most 4096 bytes" in response.json()["error"]


def test_oversized_chunked_body_without_length_is_413(small_client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"model": "churn", "rows": ['
        for _ in range(400):
            yield b'{"x1": 1.0, "x2": 2.0, "x3": 3.0},'
        yield b"]}"

    response = small_client.post(
        "/predict", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_deep_json_is_400(small_client: TestClient) -> None:
    deep = b'{"model": "churn", "rows": [{"x1": ' + b"[" * 20 + b"]" * 20 + b"}]}"
    response = small_client.post(
        "/predict", content=deep, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and "nested at most 8 levels" in response.json()["error"]


def test_malformed_json_is_400(client: TestClient) -> None:
    response = client.post(
        "/predict", content=b'{"model": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and "expected valid JSON" in response.json()["error"]


def test_gzip_body_is_decompressed(client: TestClient) -> None:
    raw = orjson.dumps({"model": "churn", "rows": _rows(ROWS)})
    response = client.post(
        "/predict",
        content=gzip.compress(raw),
        headers={"content-encoding": "gzip", "content-type": "application/json"},
    )
    assert response.status_code == 200, response.text


def gzip_zeros(mebibytes: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1 << 20)
    return b"".join(packer.compress(block) for _ in range(mebibytes)) + packer.flush()


def test_gzip_bomb_is_rejected_fast(client: TestClient) -> None:
    bomb = gzip_zeros(64)  # 64 MiB of zeros in about 64 kB: under the 1 MiB body cap
    assert len(bomb) < 1_048_576
    started = time.perf_counter()
    response = client.post("/predict", content=bomb, headers={"content-encoding": "gzip"})
    assert response.status_code == 413 and "once decompressed" in response.json()["error"]
    assert time.perf_counter() - started < 2.0


def test_truncated_gzip_is_400(small_client: TestClient) -> None:
    raw = gzip.compress(orjson.dumps({"model": "churn", "rows": _rows(ROWS)}))
    response = small_client.post("/predict", content=raw[:-8], headers={"content-encoding": "gzip"})
    assert response.status_code == 400 and "gzip" in response.json()["error"]


def test_other_content_encoding_is_415(client: TestClient) -> None:
    response = client.post("/predict", content=b"{}", headers={"content-encoding": "br"})
    assert response.status_code == 415 and "'br'" in response.json()["error"]


def test_unknown_host_is_400(client: TestClient) -> None:
    response = client.get("/v2/health/live", headers={"host": "evil.example.com"})
    assert response.status_code == 400 and "'evil.example.com'" in response.json()["error"]
    assert client.get("/v2/health/live", headers={"host": "localhost:8000"}).status_code == 200


def test_unknown_route_is_json_404(client: TestClient) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404 and "error" in response.json()


# -- admin and auth ------------------------------------------------------------------------------


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_admin_requires_the_token(client: TestClient, loader: InMemoryModelLoader) -> None:
    url = "/admin/models/churn/promote"
    assert client.post(url, json={"version": "1.1"}).status_code == 401
    assert (
        client.post(
            url, json={"version": "1.1"}, headers={"Authorization": "Basic abc"}
        ).status_code
        == 401
    )
    assert client.post(url, json={"version": "1.1"}, headers=_auth("wrong")).status_code == 403
    assert loader.champion_version("churn") == "1.0"


def test_admin_promote_and_rollback_move_the_served_version(
    client: TestClient, loader: InMemoryModelLoader
) -> None:
    headers = _auth(ADMIN_TOKEN) | {"X-Actor": "alice"}
    promoted = client.post(
        "/admin/models/churn/promote", json={"version": "1.1", "reason": "fresher"}, headers=headers
    )
    assert promoted.status_code == 200, promoted.text
    assert promoted.json() | {} == {
        "model": "churn",
        "action": "promote",
        "champion": "1.1",
        "serving": "1.1",
        "serving_error": None,
    }
    answer = client.post("/v2/models/churn/infer", json=oip_body(ROWS))
    assert answer.json()["model_version"] == "1.1" and answer.headers["x-model-version"] == "1.1"
    np.testing.assert_allclose(
        answer.json()["outputs"][1]["data"], expected(loader, "1.1", ROWS)[1].ravel()
    )
    rolled = client.post("/admin/models/churn/rollback", headers=_auth(ADMIN_TOKEN))
    assert (
        rolled.status_code == 200
        and rolled.json()["champion"] == "1.0"
        and rolled.json()["serving"] == "1.0"
    )
    assert (
        client.post("/predict", json={"model": "churn", "rows": _rows(ROWS)}).json()[
            "model_version"
        ]
        == "1.0"
    )
    assert [(c.to_version, c.actor, c.reason) for c in loader.history[-2:]] == [
        ("1.1", "alice", "fresher"),
        ("1.0", "admin-api", ""),
    ]


def test_admin_errors(client: TestClient) -> None:
    headers = _auth(ADMIN_TOKEN)
    missing = client.post("/admin/models/churn/promote", json={"version": "9.9"}, headers=headers)
    assert missing.status_code == 404 and "'9.9'" in missing.json()["error"]
    no_version = client.post("/admin/models/churn/promote", json={}, headers=headers)
    assert no_version.status_code == 422 and no_version.json()["field"] == "version"
    assert client.post("/admin/models/churn/rollback", json={}, headers=headers).status_code == 409


def test_admin_not_configured_is_404(service: PredictionService) -> None:
    with TestClient(create_app(service)) as client:
        response = client.post(
            "/admin/models/churn/promote", json={"version": "1.1"}, headers=_auth("x")
        )
        assert response.status_code == 404


def test_admin_without_token_is_refused(
    service: PredictionService, loader: InMemoryModelLoader
) -> None:
    with pytest.raises(ConfigError, match="admin_token"):
        create_app(service, admin=loader)


def test_api_token_protects_models(service: PredictionService) -> None:
    with TestClient(create_app(service, api_token="api-key")) as client:
        assert client.post("/v2/models/churn/infer", json=oip_body(ROWS)).status_code == 401
        assert (
            client.post("/predict", json={"model": "churn", "rows": _rows(ROWS)}).status_code == 401
        )
        assert client.get("/v2/models/churn").status_code == 401
        assert (
            client.post(
                "/predict", json={"model": "churn", "rows": _rows(ROWS)}, headers=_auth("no")
            ).status_code
            == 403
        )
        assert (
            client.post(
                "/v2/models/churn/infer", json=oip_body(ROWS), headers=_auth("api-key")
            ).status_code
            == 200
        )
        assert client.get("/v2/health/ready").status_code == 200


# -- metrics -------------------------------------------------------------------------------------


def test_metrics_count_requests_per_model_and_version(client: TestClient) -> None:
    client.post("/v2/models/churn/infer", json=oip_body(ROWS))
    client.post("/predict", json={"model": "churn", "rows": _rows(ROWS)})
    client.post("/predict", json={"model": "nope", "rows": _rows(ROWS)})
    text = client.get("/metrics").text
    assert (
        'lifelong_serving_requests_total{endpoint="infer",model="churn",status="200",version="1.0"} 1.0'
        in text
    )
    assert (
        'lifelong_serving_requests_total{endpoint="predict",model="",status="404",version=""} 1.0'
        in text
    )
    assert 'lifelong_serving_predicted_rows_total{model="churn",version="1.0"} 6.0' in text
    assert 'lifelong_serving_model_info{model="churn",version="1.0"} 1.0' in text
    assert (
        'lifelong_serving_request_seconds_count{endpoint="infer",model="churn",version="1.0"} 1.0'
        in text
    )
    assert "lifelong_prediction_log_dropped_rows_total 0.0" in text


def test_each_app_has_its_own_metrics_registry(loader: InMemoryModelLoader) -> None:
    apps = [create_app(PredictionService(ModelCatalog(loader), None)) for _ in range(2)]
    with TestClient(apps[0]) as first:
        first.post("/predict", json={"model": "churn", "rows": _rows(ROWS)})
    assert apps[0].state.metrics.registry is not apps[1].state.metrics.registry
    assert b'endpoint="predict"' not in apps[1].state.metrics.render()


def test_logger_started_and_drained_with_the_app(loader: InMemoryModelLoader) -> None:
    sink = ListPredictionSink()
    logger = PredictionLogger(sink, flush_seconds=30.0)
    with TestClient(create_app(PredictionService(ModelCatalog(loader), logger))) as client:
        assert logger.running
        client.post("/predict", json={"model": "churn", "rows": _rows(ROWS)})
        assert len(sink.rows()) == 0  # waiting for the next flush
    assert not logger.running and len(sink.rows()) == 3
