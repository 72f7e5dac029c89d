"""A registry-backed prediction server that also tests challengers in production.

:func:`build_routed_app` is :func:`~lifelong.serving.registry_loader.build_app` plus a routing
table that follows the spec's deployment section: when a test-in-production kind is set
(shadow, canary, ab, bandit, interleaving), every version its challenger aliases point at
that passed its offline gates gets a live test; the outcome (promotion, or rollback with the
live numbers) is recorded on the version.

Examples
--------
>>> import pathlib, tempfile
>>> from lifelong.registry import Registry
>>> registry = Registry.open(pathlib.Path(tempfile.mkdtemp()))
>>> RegistryChallengers(registry).challengers("ctr", ["challenger"])
[]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI

from lifelong.clock import Clock
from lifelong.config import DeploymentConfig, ShadowDeploymentConfig, TestInProductionConfig
from lifelong.deployment import Decision
from lifelong.errors import LifelongError
from lifelong.events import ParquetEventStore
from lifelong.registry import Registry
from lifelong.serving.app import create_app
from lifelong.serving.catalog import ModelCatalog
from lifelong.serving.logger import PredictionLogger
from lifelong.serving.model import PredictionSink
from lifelong.serving.registry_loader import RegistryAdmin, RegistryModelLoader
from lifelong.serving.routing import RoutingTable
from lifelong.serving.service import PredictionService
from lifelong.serving.shadow import ShadowExecutor, shadow_logger

PASSED = "passed"
ROLLED_BACK = "rolled_back"


class RegistryChallengers:
    """The versions the challenger aliases point at, when they passed their offline gates."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def challengers(self, model: str, aliases: Sequence[str]) -> list[str]:
        found: list[str] = []
        if model not in self.registry.models():
            return found
        for alias in aliases:
            version = self.registry.alias_version(model, alias)
            if version is not None and version not in found and self.registry.get(model, version).status == PASSED:
                found.append(version)
        return found


class RegistryRecorder:
    """Records an experiment's outcome and live numbers on the challenger version(s)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def __call__(self, model: str, decision: Decision, live: Mapping[str, Any]) -> None:
        for version in decision.version.split(","):
            try:
                self.registry.update_metrics(model, version, {"live_test": {**decision.to_dict(), "live": dict(live)}})
                if decision.action == "rollback":
                    self.registry.set_status(model, version, ROLLED_BACK)
            except LifelongError:
                continue


def wal_folder(sink: PredictionSink, wal_dir: Path | Literal[False] | None) -> Path | None:
    """Where the prediction logs keep their write-ahead segments.

    None picks ``<home>/wal`` beside a :class:`~lifelong.events.ParquetEventStore` (the folder
    holding its ``root``), and no write-ahead log for any other sink; False turns it off.
    """
    if wal_dir is False:
        return None
    if wal_dir is not None:
        return Path(wal_dir)
    if isinstance(sink, ParquetEventStore):
        return sink.root.parent / "wal"
    return None


def build_routed_app(
    registry: Registry,
    sink: PredictionSink,
    *,
    deployment: DeploymentConfig,
    admin_token: str | None,
    api_token: str | None = None,
    clock: Clock | None = None,
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "testserver"),
    poll_interval: float = 0.2,
    shadow_stream: str = "predictions_shadow",
    wal_dir: Path | Literal[False] | None = None,
) -> FastAPI:
    """The prediction server of a registry, with live tests as the ``deployment`` section says.

    Served and shadow rows are written ahead to ``<wal>/predictions`` and ``<wal>/<shadow_stream>``
    (see :func:`wal_folder`), so a killed server loses no answered row.
    """
    loader = RegistryModelLoader(registry)
    catalog = ModelCatalog(loader, poll_interval=poll_interval, clock=clock)
    wal = wal_folder(sink, wal_dir)
    served_log = PredictionLogger(
        sink, stream="predictions", clock=clock, wal_dir=wal / "predictions" if wal else None
    )
    service = PredictionService(catalog, served_log, clock=clock)
    follow: TestInProductionConfig | None = None
    if not isinstance(deployment, str) and deployment.kind not in ("direct", "manual"):
        follow = deployment  # type: ignore[assignment]  # the union's test-in-production members
    queue = follow.queue if isinstance(follow, ShadowDeploymentConfig) else 1000
    shadow = ShadowExecutor(
        PredictionService(catalog, None, clock=clock, extra="ignore"),
        shadow_logger(sink, stream=shadow_stream, clock=clock, wal_dir=wal / shadow_stream if wal else None),
        queue_size=queue,
        clock=clock,
    )
    actions = RegistryAdmin(registry)
    table = RoutingTable(
        service,
        loader=loader,
        actions=actions,
        recorder=RegistryRecorder(registry),
        shadow=shadow,
        follow=follow,
        source=RegistryChallengers(registry),
        clock=clock,
    )
    return create_app(
        service,
        admin=actions if admin_token else None,
        admin_token=admin_token,
        api_token=api_token,
        allowed_hosts=allowed_hosts,
        routing=table,
    )


__all__ = ["RegistryChallengers", "RegistryRecorder", "build_routed_app", "wal_folder"]
