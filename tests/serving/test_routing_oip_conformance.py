"""Open Inference Protocol v2 (REST) conformance: every endpoint's status codes and JSON shapes.

The response objects of the spec (KServe / Open Inference Protocol, "REST API") are written
below as strict Pydantic models: a missing required field or an unknown one fails the test.
"""

from __future__ import annotations

from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict
from serving_support import TestClient, oip_body

Datatype = Literal["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ServerLive(Strict):
    live: bool


class ServerReady(Strict):
    ready: bool


class ServerMetadata(Strict):
    name: str
    version: str
    extensions: list[str]


class MetadataTensor(Strict):
    name: str
    datatype: Datatype
    shape: list[int]


class ModelMetadata(Strict):
    name: str
    versions: list[str] | None = None
    platform: str
    inputs: list[MetadataTensor]
    outputs: list[MetadataTensor]


class ModelReady(BaseModel):  # the spec fixes only the status code; lifelong adds name, version, ready
    model_config = ConfigDict(extra="allow")
    ready: bool


class ResponseTensor(Strict):
    name: str
    shape: list[int]
    datatype: Datatype
    parameters: dict[str, Any] | None = None
    data: list[Any]


class InferenceResponse(Strict):
    model_name: str
    model_version: str | None = None
    id: str | None = None
    parameters: dict[str, Any] | None = None
    outputs: list[ResponseTensor]


class ErrorResponse(Strict):
    error: str


def test_health_and_server_metadata(client: TestClient) -> None:
    live = client.get("/v2/health/live")
    assert live.status_code == 200 and ServerLive.model_validate(live.json()).live
    ready = client.get("/v2/health/ready")
    assert ready.status_code == 200 and ServerReady.model_validate(ready.json()).ready
    meta = client.get("/v2")
    assert meta.status_code == 200 and ServerMetadata.model_validate(meta.json()).name == "lifelong"
    assert meta.headers["content-type"] == "application/json"


def test_model_metadata_and_readiness(client: TestClient) -> None:
    meta = ModelMetadata.model_validate(client.get("/v2/models/churn").json())
    assert meta.name == "churn" and meta.versions == ["1.0"]
    assert [t.name for t in meta.inputs][:3] == ["x1", "x2", "x3"] and all(t.shape == [-1] for t in meta.inputs)
    assert [t.name for t in meta.outputs] == ["predict", "predict_proba"]
    versioned = client.get("/v2/models/churn/versions/1.0")
    assert versioned.status_code == 200 and ModelMetadata.model_validate(versioned.json()) == meta
    assert ModelReady.model_validate(client.get("/v2/models/churn/ready").json()).ready
    assert client.get("/v2/models/churn/versions/1.0/ready").status_code == 200
    # Not ready / unknown: a 4xx status code with the error object.
    for path in ("/v2/models/nope", "/v2/models/nope/ready", "/v2/models/churn/versions/9.9", "/v2/models/churn/versions/9.9/ready"):
        response = client.get(path)
        assert 400 <= response.status_code < 500
        ErrorResponse.model_validate(response.json())


def test_inference_request_and_response(client: TestClient) -> None:
    rows = [[0.1, 0.2, 0.3], [1.0, -1.0, 0.5]]
    response = client.post("/v2/models/churn/infer", json=oip_body(rows, request_id="req-7"))
    assert response.status_code == 200
    body = InferenceResponse.model_validate(response.json())
    assert body.model_name == "churn" and body.model_version == "1.0" and body.id == "req-7"
    labels, proba = body.outputs
    assert labels.shape == [2] and len(labels.data) == 2
    assert proba.datatype == "FP64" and proba.shape == [2, 2] and len(proba.data) == 4  # row-major, flat
    # Optional request fields of the spec: parameters (request and tensor), outputs with parameters.
    full = oip_body(rows)
    full["parameters"] = {"content_type": "np"}
    full["inputs"][0]["parameters"] = {"content_type": "np"}  # type: ignore[index]
    full["outputs"] = [{"name": "predict_proba", "parameters": {"binary_data": False}}]
    chosen = InferenceResponse.model_validate(client.post("/v2/models/churn/infer", json=full).json())
    assert [t.name for t in chosen.outputs] == ["predict_proba"]
    versioned = client.post("/v2/models/churn/versions/1.0/infer", json=oip_body(rows))
    assert versioned.status_code == 200 and InferenceResponse.model_validate(versioned.json()).model_version == "1.0"
    # Other tensor datatypes of the spec are accepted when they can feed the model.
    fp32 = oip_body(rows)
    for tensor in fp32["inputs"]:  # type: ignore[union-attr]
        tensor["datatype"] = "FP32"
    assert client.post("/v2/models/churn/infer", json=fp32).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("post", "/v2/models/nope/infer", "rows", 404),
        ("post", "/v2/models/churn/versions/9.9/infer", "rows", 404),
        ("post", "/v2/models/churn/infer", {"inputs": []}, 400),
        ("post", "/v2/models/churn/infer", {"inputs": [{"name": "x1", "shape": [1], "datatype": "FP64"}]}, 400),
        ("post", "/v2/models/churn/infer", {"inputs": [{"name": "x1", "shape": [2], "datatype": "FP64", "data": [1.0]}]}, 400),
        ("post", "/v2/models/churn/infer", {"inputs": [{"name": "x1", "shape": [1], "datatype": "COMPLEX", "data": [1]}]}, 400),
        ("post", "/v2/models/churn/infer", b"{not json", 400),
        ("get", "/v2/models/churn/infer", None, 405),
        ("post", "/v2/health/live", None, 405),
        ("get", "/v2/nothing/here", None, 404),
    ],
)
def test_errors_are_the_protocol_error_object(client: TestClient, method: str, path: str, body: Any, status: int) -> None:
    if body == "rows":
        body = oip_body([[0.1, 0.2, 0.3]])
    if isinstance(body, bytes):
        response = client.request(method, path, content=body, headers={"content-type": "application/json"})
    else:
        response = client.request(method, path, json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert ErrorResponse.model_validate(response.json()).error
