"""The prediction endpoints as raw ASGI apps: OIP v2 ``infer`` and plain JSON ``/predict``.

These two endpoints carry the traffic, so they skip FastAPI's request machinery (dependency
resolution, ``Request`` and ``Response`` objects, its middleware stack): each is a small ASGI
callable on a Starlette route, which :class:`DirectRoutes` matches right after
:class:`~lifelong.serving.limits.RequestGuard` (the body is already capped, decompressed and
Host-checked). The endpoint parses the body with orjson, checks the optional bearer token,
answers through the routing table and sends one JSON reply. Errors keep the
shapes of the other routes: the Open Inference Protocol's ``{"error"}`` under ``/v2``,
``{"error", "field"}`` for ``/predict``; every answer carries ``X-Model-Version``.

Examples
--------
>>> from lifelong.serving.catalog import ModelCatalog
>>> from lifelong.serving.metrics import ServingMetrics
>>> from lifelong.serving.routing import RoutingTable
>>> from lifelong.serving.service import PredictionService
>>> from lifelong.testing.fakes import InMemoryModelLoader, logistic_served_model
>>> loader = InMemoryModelLoader()
>>> loader.add(logistic_served_model("churn", "1.0", features=("x1",)), champion=True)
>>> service = PredictionService(ModelCatalog(loader), None)
>>> table = RoutingTable(service, loader=loader)
>>> endpoints = PredictionEndpoints(service, table, ServingMetrics(), api_token=None, max_json_depth=8)
>>> body = b'{"inputs": [{"name": "x1", "shape": [1], "datatype": "FP64", "data": [0.5]}]}'
>>> reply = endpoints.infer_reply({"name": "churn"}, {}, body)
>>> reply.status, dict(reply.headers)[b"x-model-version"]
(200, b'1.0')
>>> endpoints.infer_reply({"name": "churn"}, {}, b'{"inputs": []}').body
b'{"error":"inputs: expected a non-empty array of tensors, got []"}'
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pydantic

from starlette.routing import Match, Route

from lifelong.errors import NotFoundError, ValidationError
from lifelong.serving.http import Reply, bearer_refusal, error_reply, json_reply, send_reply
from lifelong.serving.limits import ASGIApp, Receive, Scope, Send, load_json
from lifelong.serving.metrics import ServingMetrics
from lifelong.serving.model import PredictionResult, ServedModel
from lifelong.serving.oip import check_compatible, infer_response, json_labels, parse_infer_request
from lifelong.serving.routing import RoutingTable
from lifelong.serving.routing_api import unit_id
from lifelong.serving.schemas import PredictRequest, validation_message
from lifelong.serving.service import PredictionService

log = logging.getLogger(__name__)

Headers = Mapping[bytes, str]
Handler = Callable[[Mapping[str, str], Headers, bytes], Reply]
_WANTED = (b"authorization", b"x-unit-id")


def request_headers(raw: list[tuple[bytes, bytes]]) -> dict[bytes, str]:
    """The headers the prediction endpoints read (``authorization``, ``x-unit-id``), decoded."""
    found: dict[bytes, str] = {}
    for key, value in raw:
        if key in _WANTED:
            found[key] = value.decode("latin-1")
    return found


async def read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None when the client disconnected first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class Endpoint:
    """An ASGI app answering with ``handler(path_params, headers, body) -> Reply``.

    Starlette mounts an object that is not a function as a plain ASGI app, so this skips the
    framework's request/response wrapping.
    """

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(receive)
        if body is None:
            return
        reply = self.handler(scope.get("path_params", {}), request_headers(scope["headers"]), body)
        await send_reply(send, reply)


class DirectRoutes:
    """ASGI middleware: requests that fully match one of ``routes`` are handled at once.

    The routes stay registered on the app as well (listed in ``app.routes``; a wrong method
    gets the app's 405), so this only answers them without the layers in between. Anything
    else goes to ``app``.

    Examples
    --------
    >>> async def missed(scope, receive, send):
    ...     print("passed on")
    >>> routes = [Route("/predict", Endpoint(lambda params, headers, body: None), methods=["POST"])]
    >>> direct = DirectRoutes(missed, routes)
    >>> import asyncio, threading  # a thread of its own: the caller may already run an event loop
    >>> call = direct({"type": "http", "method": "GET", "path": "/predict"}, None, None)
    >>> worker = threading.Thread(target=asyncio.run, args=(call,))
    >>> worker.start(); worker.join()
    passed on
    """

    def __init__(self, app: ASGIApp, routes: Sequence[Route]) -> None:
        self.app = app
        self.routes = tuple(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route in self.routes:
                match, child = route.matches(scope)
                if match is Match.FULL:
                    scope.update(child)
                    await route.handle(scope, receive, send)
                    return
        await self.app(scope, receive, send)


class PredictionEndpoints:
    """The ``infer`` and ``/predict`` handlers of one server app.

    Parameters
    ----------
    service
        Validates, predicts and logs.
    table
        Routes each request to the version that answers (the champion outside experiments).
    metrics
        Counts every request with its status and the version that answered.
    api_token
        Bearer token the endpoints require, or None.
    max_json_depth
        Deepest JSON nesting accepted.
    """

    def __init__(
        self,
        service: PredictionService,
        table: RoutingTable,
        metrics: ServingMetrics,
        *,
        api_token: bytes | None,
        max_json_depth: int,
    ) -> None:
        self._table = table
        self._service = service
        self._catalog = service.catalog
        self._metrics = metrics
        self._api_token = api_token
        self._max_depth = max_json_depth
        self.infer = Endpoint(self.infer_reply)
        self.predict = Endpoint(self.predict_reply)

    def routes(self) -> list[Route]:
        """The Starlette routes of the prediction endpoints."""
        return [
            Route("/v2/models/{name}/infer", self.infer, methods=["POST"]),
            Route("/v2/models/{name}/versions/{version}/infer", self.infer, methods=["POST"]),
            Route("/predict", self.predict, methods=["POST"]),
        ]

    def _model_label(self, name: str) -> str:
        return name if name in self._catalog.snapshot() else ""

    def _refused(self, headers: Headers, what: str, *, oip: bool) -> Reply | None:
        if self._api_token is None:
            return None
        refused = bearer_refusal(headers.get(b"authorization"), self._api_token, what=what)
        return None if refused is None else error_reply(*refused, oip=oip)

    def infer_reply(self, params: Mapping[str, str], headers: Headers, body: bytes) -> Reply:
        """``POST /v2/models/{name}[/versions/{version}]/infer``."""
        started = time.perf_counter()
        name, version = params["name"], params.get("version")
        served_version, rows = "", 0
        reply = self._refused(headers, "inference", oip=True)
        if reply is None:
            try:
                payload = load_json(body, max_depth=self._max_depth)
                parsed = parse_infer_request(payload)

                def run(served: ServedModel) -> PredictionResult:
                    check_compatible(parsed, served)
                    return self._service.predict_columns(served, parsed.columns, parsed.id)

                unit = unit_id(headers.get(b"x-unit-id"), payload)
                result = self._table.answer(name, version, unit, run)
                served_version, rows = result.version, len(result.labels)
                reply = _answered(result, infer_response(result, parsed.outputs))
            except NotFoundError as exc:
                reply = error_reply(404, str(exc), oip=True)
            except ValidationError as exc:
                reply = error_reply(400, str(exc), oip=True)
            except Exception:
                log.exception("prediction server: inference with model %r failed", name)
                reply = error_reply(
                    500, f"model {name!r}: prediction failed on the server; see its log", oip=True
                )
        self._metrics.observe(
            "infer",
            self._model_label(name),
            served_version,
            reply.status,
            time.perf_counter() - started,
            rows=rows,
        )
        return reply

    def predict_reply(self, params: Mapping[str, str], headers: Headers, body: bytes) -> Reply:
        """``POST /predict``: ``{"model", "rows": [{column: value}], "request_id"?}``."""
        started = time.perf_counter()
        model, served_version, rows = "", "", 0
        reply = self._refused(headers, "predictions", oip=False)
        if reply is None:
            try:
                request = PredictRequest.model_validate(load_json(body, max_depth=self._max_depth))
                model = request.model
                result = self._table.answer(
                    model,
                    None,
                    unit_id(headers.get(b"x-unit-id"), None),
                    lambda served: self._service.predict_rows(
                        served, request.rows, request.request_id
                    ),
                )
                served_version, rows = result.version, len(result.labels)
                reply = _answered(
                    result,
                    {
                        "model": result.model,
                        "model_version": result.version,
                        "request_id": result.request_id,
                        "predictions": json_labels(result.labels),
                        "probabilities": result.probabilities,
                        "classes": list(result.classes),
                    },
                )
            except pydantic.ValidationError as exc:
                reply = error_reply(422, *validation_message(exc.errors()))
            except NotFoundError as exc:
                reply = error_reply(404, str(exc), "model")
            except ValidationError as exc:
                reply = error_reply(400 if exc.field is None else 422, str(exc), exc.field)
            except Exception:
                log.exception("prediction server: prediction with model %r failed", model)
                reply = error_reply(
                    500, f"model {model!r}: prediction failed on the server; see its log"
                )
        self._metrics.observe(
            "predict",
            self._model_label(model),
            served_version,
            reply.status,
            time.perf_counter() - started,
            rows=rows,
        )
        return reply


def _answered(result: PredictionResult, content: dict[str, Any]) -> Reply:
    return json_reply(content, 200, ((b"x-model-version", result.version.encode("latin-1")),))


__all__ = ["DirectRoutes", "Endpoint", "PredictionEndpoints", "read_body", "request_headers"]
