"""Admin API of the prediction server: promote and roll back, behind a bearer token.

The move runs inside :meth:`ModelCatalog.swap`: the new version is loaded first and published
as the move commits, so a prediction that starts after the move is answered by the new
champion (the response says which version serves, and any load error).

Examples
--------
>>> from fastapi import FastAPI
>>> from lifelong.serving.catalog import ModelCatalog
>>> from lifelong.testing.fakes import InMemoryModelLoader
>>> loader = InMemoryModelLoader()
>>> app = FastAPI()
>>> add_admin_routes(app, loader, token=b"s3cret", catalog=ModelCatalog(loader), max_json_depth=8)
>>> sorted(route.path for route in app.routes if route.path.startswith("/admin"))
['/admin/models/{name}/promote', '/admin/models/{name}/rollback']
"""

from __future__ import annotations

import logging

import pydantic
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from lifelong.errors import AuthError, ConfigError, NotFoundError, RegistryError, ValidationError
from lifelong.serving.catalog import ModelCatalog
from lifelong.serving.http import check_bearer, error_response, json_response
from lifelong.serving.limits import load_json
from lifelong.serving.model import AdminActions
from lifelong.serving.schemas import PromoteRequest, RollbackRequest, validation_message

log = logging.getLogger(__name__)

_MAX_ACTOR = 200
DEFAULT_ACTOR = "admin-api"


def add_admin_routes(
    app: FastAPI, admin: AdminActions, *, token: bytes, catalog: ModelCatalog, max_json_depth: int
) -> None:
    """Add ``POST /admin/models/{name}/promote`` and ``/rollback`` to ``app``.

    Parameters
    ----------
    app
        The server app.
    admin
        The actions (the registry's promote and rollback).
    token
        Bearer token every call must carry (compared in constant time).
    catalog
        Refreshed after each action so the server follows at once.
    max_json_depth
        Deepest JSON nesting accepted in the body.
    """

    async def call(
        request: Request, name: str, schema: type[pydantic.BaseModel], action: str
    ) -> Response:
        if denied := check_bearer(request, token, what="admin actions"):
            return denied
        actor = request.headers.get("x-actor", DEFAULT_ACTOR).strip() or DEFAULT_ACTOR
        if len(actor) > _MAX_ACTOR or not actor.isprintable():
            return error_response(
                400,
                f"X-Actor: expected a printable name of at most {_MAX_ACTOR} characters",
                "X-Actor",
            )
        try:
            raw = await request.body()
            body = schema.model_validate(
                load_json(raw, max_depth=max_json_depth) if raw.strip() else {}
            )
            if isinstance(body, PromoteRequest):
                version, reason = body.version, body.reason
                await run_in_threadpool(
                    lambda: catalog.swap(
                        name,
                        lambda: admin.promote(name, version, actor=actor, reason=reason),
                        version=version,
                    )
                )
                champion = version
            else:
                reason = body.reason if isinstance(body, RollbackRequest) else ""
                champion = await run_in_threadpool(
                    lambda: catalog.swap(
                        name, lambda: admin.rollback(name, actor=actor, reason=reason)
                    )
                )
        except pydantic.ValidationError as exc:
            return error_response(422, *validation_message(exc.errors()))
        except NotFoundError as exc:
            return error_response(404, str(exc), "name")
        except AuthError as exc:
            return error_response(403, str(exc))
        except RegistryError as exc:
            return error_response(409, str(exc))
        except (ValidationError, ConfigError) as exc:
            return error_response(400, str(exc), getattr(exc, "field", None))
        log.info("prediction server: %s of %r to %s by %s", action, name, champion, actor)
        serving_error = None
        try:
            served = await run_in_threadpool(catalog.refresh, name)
        except Exception as exc:
            log.exception("prediction server: following the %s of %r failed", action, name)
            served, serving_error = catalog.snapshot().get(name), f"{type(exc).__name__}: {exc}"
        return json_response(
            {
                "model": name,
                "action": action,
                "champion": champion,
                "serving": served.version if served is not None else None,
                "serving_error": serving_error,
            }
        )

    @app.post("/admin/models/{name}/promote")
    async def promote(request: Request, name: str) -> Response:
        return await call(request, name, PromoteRequest, "promote")

    @app.post("/admin/models/{name}/rollback")
    async def rollback(request: Request, name: str) -> Response:
        return await call(request, name, RollbackRequest, "rollback")


__all__ = ["DEFAULT_ACTOR", "add_admin_routes"]
