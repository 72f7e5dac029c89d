"""The dashboard web app: models, lineage, metrics, deployments, evaluations, and admin actions.

Pages are rendered on the server from the registry and the event store; charts are Plotly
figures drawn by the ``plotly.min.js`` of the installed ``plotly`` package (no CDN, works
offline). Actions (promote, roll back, start and stop an experiment) are JSON ``POST``s that
need ``Authorization: Bearer <admin token>``: 401 without it, 403 with a wrong one.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from lifelong.registry import Registry
>>> source = DashboardSource(Registry.open(Path(tempfile.mkdtemp())))
>>> app = create_dashboard(source, admin_token="s3cret")
>>> sorted(route.path for route in app.routes if route.path.startswith("/api/models/{name}/"))
['/api/models/{name}/experiment/start', '/api/models/{name}/experiment/stop', '/api/models/{name}/promote', '/api/models/{name}/rollback']
>>> source.close()
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import pydantic
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from lifelong import __version__
from lifelong.dashboard.actions import StartExperimentRequest, StopExperimentRequest
from lifelong.dashboard.render import STATIC_FILES, plotly_js_path, render, static_file
from lifelong.dashboard.server_link import ServerError
from lifelong.dashboard.source import DashboardSource
from lifelong.deployment import promote, rollback
from lifelong.errors import (
    AuthError,
    ConfigError,
    LifelongError,
    NotFoundError,
    RegistryError,
    ValidationError,
)
from lifelong.registry.types import AliasChange
from lifelong.serving.http import check_bearer, error_response, json_response, token_bytes
from lifelong.serving.limits import RequestGuard, load_json
from lifelong.serving.schemas import PromoteRequest, RollbackRequest, validation_message

log = logging.getLogger(__name__)

DEFAULT_ACTOR = "dashboard"
_MAX_ACTOR = 200
_CACHE = {"Cache-Control": "public, max-age=3600"}


def create_dashboard(
    source: DashboardSource,
    *,
    admin_token: str | None,
    allowed_hosts: Sequence[str] = ("127.0.0.1", "localhost", "testserver"),
    max_body_bytes: int = 65_536,
    max_json_depth: int = 8,
) -> FastAPI:
    """Build the dashboard app over ``source``.

    Parameters
    ----------
    source
        The registry (and event store, labeler, spec) to show.
    admin_token
        Bearer token the actions need; None disables them (every action gets 403).
    allowed_hosts
        Host header allow-list (400 for others).
    max_body_bytes, max_json_depth
        Limits on action request bodies.
    """
    secret = token_bytes("admin_token", admin_token)
    app = FastAPI(
        title="lifelong dashboard",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.add_middleware(RequestGuard, allowed_hosts=allowed_hosts, max_body_bytes=max_body_bytes)

    def common(request: Request) -> dict[str, Any]:
        return {
            "root": request.scope.get("root_path", "").rstrip("/"),
            "version": __version__,
            "inline": False,
            "registry_url": source.registry.url,
        }

    def page_error(request: Request, status: int, message: str) -> HTMLResponse:
        return HTMLResponse(
            render("error.html", status=status, message=message, **common(request)),
            status_code=status,
        )

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> Response:
        return HTMLResponse(render("index.html", models=source.models(), **common(request)))

    @app.get("/models/{name}", response_class=HTMLResponse)
    def model_page(request: Request, name: str) -> Response:
        try:
            page = source.page(name, wait=False)
        except (NotFoundError, ConfigError) as exc:
            return page_error(request, 404, str(exc))
        return HTMLResponse(
            render("model.html", page=page, figures=page.figures(), **common(request))
        )

    @app.get("/models/{name}/versions/{version}", response_class=HTMLResponse)
    def version_page(request: Request, name: str, version: str) -> Response:
        try:
            page = source.page(name, wait=False)
            row = page.version(version)
            chain = [item.version for item in source.registry.lineage(name, version)]
        except (NotFoundError, ConfigError) as exc:
            return page_error(request, 404, str(exc))
        return HTMLResponse(
            render("version.html", page=page, row=row, chain=chain, **common(request))
        )

    @app.get("/api/models")
    def api_models() -> Response:
        return json_response(source.models())

    @app.get("/api/models/{name}")
    def api_model(name: str) -> Response:
        try:
            return json_response(source.page(name, wait=False).to_dict())
        except (NotFoundError, ConfigError) as exc:
            return error_response(404, str(exc), "name")

    @app.get("/healthz")
    def health() -> Response:
        return json_response({"live": True})

    @app.get("/assets/plotly.min.js")
    def plotly_js() -> Response:
        return FileResponse(plotly_js_path(), media_type="text/javascript", headers=_CACHE)

    @app.get("/assets/{name}")
    def asset(name: str) -> Response:
        if name not in STATIC_FILES:
            return error_response(
                404,
                f"asset: expected one of {sorted(STATIC_FILES)} or 'plotly.min.js', got {name!r}",
                "name",
            )
        return Response(
            static_file(name).read_bytes(), media_type=STATIC_FILES[name], headers=_CACHE
        )

    async def act(
        request: Request,
        name: str,
        schema: type[pydantic.BaseModel],
        run: Callable[[Any, str], dict[str, Any]],
    ) -> Response:
        if secret is None:
            return error_response(
                403,
                "admin actions are disabled: start the dashboard with an admin token (LIFELONG_ADMIN_TOKEN)",
            )
        if denied := check_bearer(request, secret, what="dashboard actions"):
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
            result = await run_in_threadpool(run, body, actor)
        except pydantic.ValidationError as exc:
            return error_response(422, *validation_message(exc.errors()))
        except NotFoundError as exc:
            return error_response(404, str(exc))
        except AuthError as exc:
            return error_response(403, str(exc))
        except (ValidationError, ConfigError) as exc:
            return error_response(400, str(exc), getattr(exc, "field", None))
        except ServerError as exc:
            return error_response(502, str(exc))
        except RegistryError as exc:
            return error_response(409, str(exc))
        except LifelongError as exc:
            return error_response(500, str(exc))
        log.info(
            "dashboard: %s of %r by %s: %s",
            request.url.path.rsplit("/", 1)[-1],
            name,
            actor,
            result["message"],
        )
        return json_response({"model": name, "actor": actor, **result})

    def moved(change: AliasChange) -> dict[str, Any]:
        message = (
            f"{change.alias} {change.from_version or '–'} → {change.to_version or '(removed)'}"
        )
        return {
            "alias": change.alias,
            "from": change.from_version,
            "to": change.to_version,
            "message": message,
        }

    @app.post("/api/models/{name}/promote")
    async def promote_route(request: Request, name: str) -> Response:
        def run(body: PromoteRequest, actor: str) -> dict[str, Any]:
            return moved(
                promote(
                    source.registry,
                    name,
                    body.version,
                    actor=actor,
                    reason=body.reason or "promoted from the dashboard",
                )
            )

        return await act(request, name, PromoteRequest, run)

    @app.post("/api/models/{name}/rollback")
    async def rollback_route(request: Request, name: str) -> Response:
        def run(body: RollbackRequest, actor: str) -> dict[str, Any]:
            return moved(
                rollback(
                    source.registry,
                    name,
                    actor=actor,
                    reason=body.reason or "rolled back from the dashboard",
                )
            )

        return await act(request, name, RollbackRequest, run)

    @app.post("/api/models/{name}/experiment/start")
    async def start_route(request: Request, name: str) -> Response:
        def run(body: StartExperimentRequest, actor: str) -> dict[str, Any]:
            return source.start_experiment(
                name,
                body.version,
                actor=actor,
                reason=body.reason,
                kind=body.kind,
                weight=body.weight,
            )

        return await act(request, name, StartExperimentRequest, run)

    @app.post("/api/models/{name}/experiment/stop")
    async def stop_route(request: Request, name: str) -> Response:
        def run(body: StopExperimentRequest, actor: str) -> dict[str, Any]:
            return source.stop_experiment(name, actor=actor, reason=body.reason)

        return await act(request, name, StopExperimentRequest, run)

    return app


__all__ = ["DEFAULT_ACTOR", "create_dashboard"]
