"""HTTP side of the routing table: experiments (admin), live status, feedback and ranking.

- ``PUT /admin/models/{name}/routing`` starts an experiment: a deployment section
  (``{"kind": "canary", "weight": 0.1, ...}``) plus optional ``"versions"`` (default: the
  versions its challenger aliases point at). Bad values are a 422 naming the field
  (a canary ``weight`` outside ``[0, 1]``, say).
- ``DELETE /admin/models/{name}/routing`` stops it; the champion keeps serving.
- ``GET /routing`` and ``GET /routing/{name}``: live numbers as JSON (also in ``/metrics``).
- ``POST /routing/{name}/feedback``: ``{"request_id", "reward"}`` (or ``"clicks"`` for an
  interleaved list) credits the version that answered.
- ``POST /rank/{name}``: ``{"items": [{column: value}, ...], "length"?}`` ranks items by score;
  during an interleaving experiment the list is team-draft interleaved.

Examples
--------
>>> from fastapi import FastAPI
>>> from lifelong.serving.catalog import ModelCatalog
>>> from lifelong.serving.service import PredictionService
>>> from lifelong.testing.fakes import InMemoryModelLoader
>>> from lifelong.serving.routing import RoutingTable
>>> loader = InMemoryModelLoader()
>>> service = PredictionService(ModelCatalog(loader), None)
>>> app = FastAPI()
>>> add_routing_routes(app, RoutingTable(service, loader=loader), admin_token=b"t", api_token=None, max_json_depth=8)
>>> sorted({route.path for route in app.routes if "rout" in route.path or "rank" in route.path})
['/admin/models/{name}/routing', '/rank/{name}', '/routing', '/routing/{name}', '/routing/{name}/feedback']
"""

from __future__ import annotations

import uuid
from typing import Any

import pydantic
from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from starlette.concurrency import run_in_threadpool

from lifelong.config import RoutingConfig
from lifelong.errors import ConfigError, NotFoundError, ValidationError
from lifelong.serving.http import check_bearer, error_response, json_response
from lifelong.serving.limits import load_json
from lifelong.serving.routing import RoutingTable
from lifelong.serving.schemas import validation_message

_ROUTING: TypeAdapter[Any] = TypeAdapter(RoutingConfig)
_KINDS = {"shadow", "canary", "ab", "bandit", "interleaving"}


class FeedbackRequest(BaseModel):
    """``POST /routing/{name}/feedback``: a reward, or the clicked positions of an interleaved list."""

    model_config = ConfigDict(extra="forbid", strict=True)

    request_id: str = Field(min_length=1, max_length=200)
    reward: float | None = None
    clicks: list[int] | None = Field(default=None, max_length=1000)


class RankRequest(BaseModel):
    """``POST /rank/{name}``: the candidate items, one object of inputs each."""

    model_config = ConfigDict(extra="forbid", strict=True)

    items: list[dict[str, Any]] = Field(min_length=1, max_length=10_000)
    request_id: str | None = Field(default=None, min_length=1, max_length=200)
    length: int | None = Field(default=None, gt=0)


_MAX_UNIT = 200


def unit_id(header: str | None, payload: Any) -> str | None:
    """The unit (user, session) a request belongs to, for sticky routing.

    From the ``X-Unit-Id`` header (``header``), or an inference request's
    ``parameters.unit_id``; None when absent (the router then draws at random).
    """
    unit = header
    if unit is None and isinstance(payload, dict):
        parameters = payload.get("parameters")
        if isinstance(parameters, dict):
            value = parameters.get("unit_id")
            unit = value if isinstance(value, str) else None
    if unit is not None and (not unit or len(unit) > _MAX_UNIT):
        raise ValidationError(f"unit_id: expected 1-{_MAX_UNIT} characters, got {len(unit)}", field="unit_id")
    return unit


def _routing_error(exc: pydantic.ValidationError) -> Response:
    errors = [
        {**error, "loc": tuple(part for part in error.get("loc", ()) if part not in _KINDS)} for error in exc.errors()
    ]
    message, field = validation_message(errors)
    return error_response(422, message, field)


def add_routing_routes(
    app: FastAPI, table: RoutingTable, *, admin_token: bytes | None, api_token: bytes | None, max_json_depth: int
) -> None:
    """Add the routing endpoints to ``app`` (the admin ones only with ``admin_token``)."""

    async def body_of(request: Request) -> Any:
        raw = await request.body()
        return load_json(raw, max_depth=max_json_depth) if raw.strip() else {}

    def denied(request: Request, what: str) -> Response | None:
        return check_bearer(request, api_token, what=what) if api_token is not None else None

    if admin_token is not None:
        token = admin_token

        @app.put("/admin/models/{name}/routing")
        async def start(request: Request, name: str) -> Response:
            if refused := check_bearer(request, token, what="admin actions"):
                return refused
            try:
                payload = await body_of(request)
                if not isinstance(payload, dict):
                    raise ValidationError(f"request body: expected a JSON object, got {type(payload).__name__}")
                versions = payload.pop("versions", None)
                if versions is not None and (
                    not isinstance(versions, list) or not all(isinstance(v, str) for v in versions)
                ):
                    raise ValidationError(f"versions: expected a list of version strings, got {versions!r:.80}", field="versions")
                config = _ROUTING.validate_python(payload)
                status = await run_in_threadpool(table.start_experiment, name, config, versions)
            except pydantic.ValidationError as exc:
                return _routing_error(exc)
            except NotFoundError as exc:
                return error_response(404, str(exc), "name")
            except (ValidationError, ConfigError) as exc:
                return error_response(422, str(exc), getattr(exc, "field", None))
            return json_response(status, 201)

        @app.delete("/admin/models/{name}/routing")
        async def stop(request: Request, name: str) -> Response:
            if refused := check_bearer(request, token, what="admin actions"):
                return refused
            try:
                return json_response(table.stop_experiment(name))
            except NotFoundError as exc:
                return error_response(404, str(exc), "name")

    @app.get("/routing")
    async def status_all(request: Request) -> Response:
        if refused := denied(request, "routing status"):
            return refused
        return json_response(table.status())

    @app.get("/routing/{name}")
    async def status_one(request: Request, name: str) -> Response:
        if refused := denied(request, "routing status"):
            return refused
        try:
            return json_response(table.status(name))
        except NotFoundError as exc:
            return error_response(404, str(exc), "name")

    @app.post("/routing/{name}/feedback")
    async def feedback(request: Request, name: str) -> Response:
        if refused := denied(request, "feedback"):
            return refused
        try:
            body = FeedbackRequest.model_validate(await body_of(request))
            return json_response(table.feedback(name, body.request_id, reward=body.reward, clicks=body.clicks))
        except pydantic.ValidationError as exc:
            return error_response(422, *validation_message(exc.errors()))
        except NotFoundError as exc:
            return error_response(404, str(exc), "request_id")
        except ValidationError as exc:
            return error_response(422, str(exc), exc.field)

    @app.post("/rank/{name}")
    async def rank(request: Request, name: str) -> Response:
        if refused := denied(request, "ranking"):
            return refused
        try:
            body = RankRequest.model_validate(await body_of(request))
            names = {key for item in body.items for key in item}
            columns = {key: [item.get(key) for item in body.items] for key in sorted(names)}
            request_id = body.request_id or uuid.uuid4().hex
            return json_response(table.rank(name, columns, request_id, body.length))
        except pydantic.ValidationError as exc:
            return error_response(422, *validation_message(exc.errors()))
        except NotFoundError as exc:
            return error_response(404, str(exc), "name")
        except ValidationError as exc:
            return error_response(422, str(exc), exc.field)


__all__ = ["FeedbackRequest", "RankRequest", "add_routing_routes", "unit_id"]
