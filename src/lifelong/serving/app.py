"""The prediction server: Open Inference Protocol v2, plain JSON ``/predict``, admin API, metrics.

Examples
--------
>>> from lifelong.serving.catalog import ModelCatalog
>>> from lifelong.serving.service import PredictionService
>>> from lifelong.testing.fakes import InMemoryModelLoader, logistic_served_model
>>> loader = InMemoryModelLoader()
>>> loader.add(logistic_served_model("churn", "1.0", features=("x1",)), champion=True)
>>> app = create_app(PredictionService(ModelCatalog(loader), None))
>>> sorted(route.path for route in app.routes if route.path.endswith("infer"))
['/v2/models/{name}/infer', '/v2/models/{name}/versions/{version}/infer']
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.telemetry import TelemetryConfig
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route
from starlette.types import ASGIApp

from lifelong import __version__
from lifelong.errors import ConfigError, NotFoundError
from lifelong.serving.admin import add_admin_routes
from lifelong.serving.http import check_bearer, error_response, json_response, token_bytes
from lifelong.serving.inference import DirectRoutes, PredictionEndpoints
from lifelong.serving.limits import RequestGuard
from lifelong.serving.metrics import CONTENT_TYPE, ServingMetrics
from lifelong.serving.model import AdminActions
from lifelong.serving.oip import model_metadata
from lifelong.serving.routing import RoutingTable
from lifelong.serving.routing_api import add_routing_routes
from lifelong.serving.routing_metrics import RoutingCollector
from lifelong.serving.schemas import validation_message
from lifelong.serving.service import PredictionService
from lifelong.serving.shadow import ShadowExecutor

log = logging.getLogger(__name__)

_NO_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
    "auto_configure": False,
}


class _ServerApp(FastAPI):
    """FastAPI whose middleware stack starts with the request guard and the prediction routes.

    Every request passes :class:`RequestGuard` first; the prediction endpoints
    (``direct_routes``) are answered right after it, everything else continues into the stack
    FastAPI builds (exception handlers, router). The direct routes stay on the router too,
    which lists them and answers a wrong method with 405.
    """

    def __init__(
        self,
        *,
        allowed_hosts: Sequence[str],
        max_body_bytes: int,
        lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]],
    ) -> None:
        super().__init__(
            title="lifelong",
            version=__version__,
            docs_url=None,
            redoc_url=None,
            lifespan=lifespan,
            # The server reports through its own Prometheus metrics (/metrics) and log; FastAPI's
            # OpenTelemetry hooks would only add per-request provider checks to the hot path.
            telemetry=_NO_TELEMETRY,
        )
        self._allowed_hosts = allowed_hosts
        self._max_body_bytes = max_body_bytes
        self.direct_routes: list[Route] = []

    def add_direct_routes(self, routes: Sequence[Route]) -> None:
        """Register ``routes`` first on the router and answer them ahead of FastAPI's stack."""
        self.direct_routes.extend(routes)
        self.router.routes[:0] = list(routes)

    def build_middleware_stack(self) -> ASGIApp:
        stack = DirectRoutes(super().build_middleware_stack(), self.direct_routes)
        return RequestGuard(
            stack, allowed_hosts=self._allowed_hosts, max_body_bytes=self._max_body_bytes
        )


def create_app(
    service: PredictionService,
    *,
    admin: AdminActions | None = None,
    admin_token: str | None = None,
    api_token: str | None = None,
    max_body_bytes: int = 1_048_576,
    max_json_depth: int = 32,
    allowed_hosts: Sequence[str] = ("127.0.0.1", "localhost", "testserver"),
    manage_lifecycle: bool = True,
    routing: RoutingTable | None = None,
) -> FastAPI:
    """Build the prediction server around ``service``.

    Parameters
    ----------
    service
        Answers predictions; its catalog and logger are started and stopped with the app.
    admin, admin_token
        Promote/rollback actions and the bearer token they require (both or neither: admin
        actions without a token are refused).
    api_token
        Optional bearer token required by the model endpoints (inference and metadata).
    max_body_bytes
        Largest request body, also after gzip decompression (413 beyond).
    max_json_depth
        Deepest JSON nesting accepted (400 beyond).
    allowed_hosts
        Host header allow-list (400 for others); ``*`` accepts any.
    manage_lifecycle
        Start the catalog's polling thread and the log's flush thread on startup, stop and
        drain them on shutdown.
    routing
        Live tests of challengers (shadow, canary, A/B, bandit, interleaving); by default a
        table over the catalog's loader whose promotions go through ``admin``.
    """
    if admin is not None and admin_token is None:
        raise ConfigError(
            "admin_token: expected a token when admin actions are configured, got None"
        )
    if (
        isinstance(max_json_depth, bool)
        or not isinstance(max_json_depth, int)
        or max_json_depth < 2
    ):
        raise ConfigError(f"max_json_depth: expected an integer >= 2, got {max_json_depth!r}")
    admin_secret = token_bytes("admin_token", admin_token)
    api_secret = token_bytes("api_token", api_token)
    catalog = service.catalog
    metrics = ServingMetrics(catalog=catalog, logger=service.logger)
    if routing is None:
        shadow = ShadowExecutor(PredictionService(catalog, None, extra="ignore"), None)
        routing = RoutingTable(service, loader=catalog.loader, actions=admin, shadow=shadow)
    table = routing
    metrics.registry.register(RoutingCollector(table))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            await run_in_threadpool(catalog.start)
            if service.logger is not None:
                service.logger.start()
            table.start()
        if getattr(app.state, "freeze_gc", False):
            # Everything loaded so far (libraries, models) lives as long as the process: moved
            # out of the collector's generations, a full collection no longer scans it.
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            if manage_lifecycle:
                table.stop()
                catalog.stop()
                if service.logger is not None:
                    try:
                        await run_in_threadpool(service.logger.close)
                    except Exception:
                        log.exception(
                            "prediction server: the prediction log could not be drained on shutdown"
                        )

    app = _ServerApp(
        allowed_hosts=allowed_hosts, max_body_bytes=max_body_bytes, lifespan=lifespan
    )
    app.state.metrics = metrics

    @app.exception_handler(RequestValidationError)
    async def _request_validation(request: Request, exc: RequestValidationError) -> Response:
        message, field = validation_message(exc.errors())
        return error_response(422, message, field)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/v2"):  # the Open Inference Protocol's error object
            return json_response({"error": str(exc.detail)}, exc.status_code, dict(exc.headers or {}))
        return json_response(
            {"error": str(exc.detail), "field": None}, exc.status_code, dict(exc.headers or {})
        )

    # -- Open Inference Protocol v2 ------------------------------------------------------------

    @app.get("/v2/health/live")
    async def live() -> Response:
        return json_response({"live": True})

    @app.get("/v2/health/ready")
    async def ready() -> Response:
        served = len(catalog.snapshot()) or len(await run_in_threadpool(catalog.models))
        return json_response({"ready": served > 0}, 200 if served else 400)

    @app.get("/v2")
    async def server_metadata() -> Response:
        return json_response({"name": "lifelong", "version": __version__, "extensions": []})

    async def metadata(request: Request, name: str, version: str | None) -> Response:
        if api_secret is not None and (
            denied := check_bearer(request, api_secret, what="models", oip=True)
        ):
            return denied
        try:
            return json_response(model_metadata(service.resolve(name, version)))
        except NotFoundError as exc:
            return error_response(404, str(exc), oip=True)

    @app.get("/v2/models/{name}")
    async def model_meta(request: Request, name: str) -> Response:
        return await metadata(request, name, None)

    @app.get("/v2/models/{name}/versions/{version}")
    async def model_version_meta(request: Request, name: str, version: str) -> Response:
        return await metadata(request, name, version)

    async def model_ready(name: str, version: str | None) -> Response:
        try:
            served = service.resolve(name, version)
        except NotFoundError as exc:
            return error_response(404, str(exc), oip=True)
        return json_response({"name": name, "version": served.version, "ready": True})

    @app.get("/v2/models/{name}/ready")
    async def ready_model(name: str) -> Response:
        return await model_ready(name, None)

    @app.get("/v2/models/{name}/versions/{version}/ready")
    async def ready_model_version(name: str, version: str) -> Response:
        return await model_ready(name, version)

    # -- predictions: raw ASGI endpoints, matched before every other route --------------------

    endpoints = PredictionEndpoints(
        service, table, metrics, api_token=api_secret, max_json_depth=max_json_depth
    )
    app.add_direct_routes(endpoints.routes())

    if admin is not None and admin_secret is not None:
        add_admin_routes(
            app, admin, token=admin_secret, catalog=catalog, max_json_depth=max_json_depth
        )
    else:

        @app.post("/admin/models/{name}/{action}")
        async def admin_disabled(name: str, action: str) -> Response:
            return error_response(404, "admin actions: not configured on this server")

    add_routing_routes(
        app, table, admin_token=admin_secret, api_token=api_secret, max_json_depth=max_json_depth
    )

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    return app


__all__ = ["create_app"]
