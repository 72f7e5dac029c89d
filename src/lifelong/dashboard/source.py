"""Where the dashboard reads from and acts on: registry, event store, labeler, spec, prediction server.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from lifelong.registry import Registry
>>> source = DashboardSource(Registry.open(Path(tempfile.mkdtemp())))
>>> source.models(), source.experiment_alias
([], 'challenger')
>>> source.close()
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from lifelong.config import PipelineConfig
from lifelong.dashboard.actions import check_candidate, start_experiment, stop_experiment
from lifelong.dashboard.lineage import CHALLENGER, alias_events, model_summaries, version_rows
from lifelong.dashboard.live import live_panels
from lifelong.dashboard.monitoring_panels import monitoring_panels
from lifelong.dashboard.pages import ModelPage, configured_split
from lifelong.dashboard.panels import Panel, PanelContext, Provider, Section, collect_panels
from lifelong.dashboard.served import ServedMetrics, served_daily, traffic_shares
from lifelong.dashboard.server_link import PredictionServer
from lifelong.errors import ConfigError, NotFoundError
from lifelong.events.store import EventStore
from lifelong.labels import Labeler
from lifelong.registry import Registry
from lifelong.registry.names import check_model
from lifelong.registry.types import ModelVersion

T = TypeVar("T")
ExperimentKind = Literal["shadow", "canary", "ab"]
TEST_IN_PRODUCTION = ("shadow", "canary", "ab", "bandit", "interleaving")


@dataclass(frozen=True)
class PanelProvider:
    """An optional panel source: its title (for errors), its section, and whether it is cached."""

    title: str
    section: Section
    provider: Provider
    cached: bool


DEFAULT_PROVIDERS = (
    PanelProvider("estimated performance and drift", "metrics", monitoring_panels, True),
    PanelProvider("live numbers", "deployments", live_panels, False),
)


@dataclass
class DashboardSource:
    """The registry to show, and what measures and moves its models.

    Parameters
    ----------
    registry
        Models, versions, aliases and their history.
    store, labeler
        The pipeline's event store (with the prediction log) and labeler; without them the
        served-performance charts say why they are empty.
    config
        The pipeline spec (metric, deployment, challenger alias), when there is one.
    pipeline
        The :class:`lifelong.runtime.Pipeline` (monitoring panels need it).
    server
        A running prediction server: live numbers of its experiments; starting and stopping
        an experiment also starts and stops its routing.
    metric
        Metric of the served-performance chart (default: the spec's, else ``roc_auc``).
    cache_ttl_s
        How long served performance and monitoring are reused before they are computed again.
    providers
        The optional panels.
    """

    registry: Registry
    store: EventStore | None = None
    labeler: Labeler | None = None
    config: PipelineConfig | None = None
    pipeline: Any = None
    server: PredictionServer | None = None
    metric: str | None = None
    cache_ttl_s: float = 30.0
    providers: Sequence[PanelProvider] = DEFAULT_PROVIDERS
    _cache: dict[tuple[str, str], tuple[float, Any]] = field(
        default_factory=dict, init=False, repr=False
    )
    _bundles: dict[tuple[str, str], Any] = field(default_factory=dict, init=False, repr=False)
    _pending: set[tuple[str, str]] = field(default_factory=set, init=False, repr=False)
    _threads: list[threading.Thread] = field(default_factory=list, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.registry, Registry):
            raise ConfigError(f"registry: expected a Registry, got {type(self.registry).__name__}")
        if self.metric is None:
            self.metric = self.config.evaluation.metric if self.config is not None else "roc_auc"
        if not self.cache_ttl_s >= 0:
            raise ConfigError(f"cache_ttl_s: expected a number >= 0, got {self.cache_ttl_s!r}")

    @classmethod
    def from_pipeline(cls, pipeline: Any, **options: Any) -> DashboardSource:
        """The source of a :class:`lifelong.runtime.Pipeline`."""
        return cls(
            pipeline.registry,
            pipeline.store,
            pipeline.labeler,
            pipeline.config,
            pipeline,
            **options,
        )

    def close(self) -> None:
        """Wait for background work, then close the registry's connections and the server link."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(60)
        if self.server is not None:
            self.server.close()
        self.registry.close()

    def models(self) -> list[dict[str, Any]]:
        """One summary per registered model."""
        return model_summaries(self.registry)

    @property
    def experiment_alias(self) -> str:
        """The alias an experiment's version gets (the spec's challenger, else ``challenger``)."""
        deployment = self.config.deployment if self.config is not None else None
        alias = getattr(deployment, "challenger", None)
        if alias is None:
            aliases = getattr(deployment, "challengers", None) or (CHALLENGER,)
            alias = aliases[0]
        return str(alias)

    def _cached(self, kind: str, model: str, build: Callable[[], T]) -> T:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get((kind, model))
        if hit is not None and now - hit[0] < self.cache_ttl_s:
            value: T = hit[1]
            return value
        value = build()
        with self._lock:
            self._cache[(kind, model)] = (now, value)
        return value

    def load_bundle(self, version: ModelVersion) -> Any:
        """The verified model bundle of ``version`` (loaded once)."""
        from lifelong.training.bundle import ModelBundle

        key = (version.model, version.version)
        with self._lock:
            found = self._bundles.get(key)
        if found is None:
            with tempfile.TemporaryDirectory(prefix="lifelong-dashboard-") as tmp:
                path = self.registry.load_artifact(
                    version.model, version.version, Path(tmp) / "bundle"
                )
                found = ModelBundle.load(path, signer=self.registry.signer)
            with self._lock:
                self._bundles[key] = found
        return found

    def served(self, model: str) -> ServedMetrics:
        """Served accuracy and metric per day (cached for ``cache_ttl_s``)."""
        metric = str(self.metric)
        store, labeler = self.store, self.labeler
        if store is None or labeler is None:
            return ServedMetrics(
                metric,
                note="no event store or labeler was given: served performance is not measured",
            )
        return self._cached(
            "served", model, lambda: served_daily(store, labeler, model, metric=metric)
        )

    def _refresh(self, key: tuple[str, str], build: Callable[[], Any]) -> None:
        """Compute ``build`` in a background thread unless one is already at it."""
        with self._lock:
            if key in self._pending:
                return
            self._pending.add(key)

        def run() -> None:
            try:
                value = build()
                with self._lock:
                    self._cache[key] = (time.monotonic(), value)
            finally:
                with self._lock:
                    self._pending.discard(key)

        thread = threading.Thread(target=run, name=f"dashboard-{key[0]}", daemon=True)
        with self._lock:
            self._threads = [item for item in self._threads if item.is_alive()] + [thread]
        thread.start()

    def panels(self, model: str, *, wait: bool = True) -> list[Panel]:
        """The optional panels of ``model``.

        Slow, cached providers (monitoring) are computed in the background when ``wait`` is
        false: the page then shows the last value, or a note that it is being computed.
        """
        context = PanelContext(
            model,
            self.registry,
            self.store,
            self.labeler,
            self.config,
            self.pipeline,
            self.load_bundle,
            self.server,
        )
        found: list[Panel] = []
        for entry in self.providers:

            def build(entry: PanelProvider = entry) -> list[Panel]:
                return collect_panels(context, [(entry.title, entry.section, entry.provider)])

            if not entry.cached:
                found.extend(build())
            elif wait:
                found.extend(self._cached(f"panel:{entry.title}", model, build))
            else:
                key = (f"panel:{entry.title}", model)
                with self._lock:
                    hit = self._cache.get(key)
                if hit is None or time.monotonic() - hit[0] >= self.cache_ttl_s:
                    self._refresh(key, build)
                if hit is not None:
                    found.extend(hit[1])
                else:
                    note = "being computed in the background: reload the page in a few seconds"
                    found.append(
                        Panel(
                            f"pending_{entry.title.replace(' ', '_')}",
                            entry.title,
                            entry.section,
                            note=note,
                            available=False,
                        )
                    )
        return found

    def page(self, model: str, *, wait: bool = True) -> ModelPage:
        """Everything the page of ``model`` shows; NotFoundError for an unknown model.

        With ``wait`` false, slow panels come from the background (see :meth:`panels`).
        """
        model = check_model(model)
        versions = version_rows(self.registry, model)
        if not versions:
            raise NotFoundError(f"model: expected one of {self.registry.models()}, got {model!r}")
        aliases = self.registry.aliases(model)
        deployment = self.config.deployment if self.config is not None else None
        return ModelPage(
            model=model,
            metric=str(self.metric),
            versions=versions,
            events=alias_events(self.registry, model),
            aliases=aliases,
            experiment_alias=self.experiment_alias,
            deployment=getattr(deployment, "kind", None),
            split=configured_split(deployment, aliases),
            served=self.served(model),
            traffic=traffic_shares(self.store, model) if self.store is not None else [],
            panels=self.panels(model, wait=wait),
            server=self.server.url if self.server is not None else None,
        )

    # -------------------------------------------------------------- experiments
    def _routing(self, kind: ExperimentKind | None, weight: float | None) -> dict[str, Any]:
        deployment = self.config.deployment if self.config is not None else None
        spec_kind = getattr(deployment, "kind", None)
        chosen = kind or (spec_kind if spec_kind in TEST_IN_PRODUCTION else "shadow")
        body: dict[str, Any] = (
            deployment.model_dump(mode="json")
            if deployment is not None and chosen == spec_kind
            else {"kind": chosen}
        )
        if weight is not None and chosen in ("canary", "ab"):
            body["weight"] = weight
        return body

    def start_experiment(
        self,
        model: str,
        version: str,
        *,
        actor: str,
        reason: str,
        kind: ExperimentKind | None = None,
        weight: float | None = None,
    ) -> dict[str, Any]:
        """Point the experiment alias at ``version`` and, with a linked server, start routing to it."""
        check_candidate(self.registry, model, version)
        status = (
            self.server.start(model, self._routing(kind, weight), [version])
            if self.server is not None
            else None
        )
        change = start_experiment(
            self.registry, model, version, alias=self.experiment_alias, actor=actor, reason=reason
        )
        where = (
            f"{status.get('kind', 'test')} started on {self.server.url}"
            if status is not None and self.server is not None
            else "no prediction server linked: nothing routes traffic to it yet"
        )
        return {
            "alias": change.alias,
            "from": change.from_version,
            "to": change.to_version,
            "server": status,
            "message": f"{change.alias} → {version}; {where}",
        }

    def stop_experiment(self, model: str, *, actor: str, reason: str) -> dict[str, Any]:
        """Stop the linked server's routing of ``model`` (if running) and remove the experiment alias."""
        status = None
        if self.server is not None:
            routing = self.server.routing(model)
            if routing is not None and routing.get("running") is not None:
                status = self.server.stop(model)
        alias = self.experiment_alias
        if self.registry.alias_version(model, alias) is None:
            if status is None:
                raise NotFoundError(
                    f"model {model!r}: no experiment is running (alias {alias!r} is not set, no routing on a linked server)"
                )
            return {
                "alias": alias,
                "from": None,
                "to": None,
                "server": status,
                "message": f"routing stopped on {self.server.url if self.server else ''}",
            }
        change = stop_experiment(self.registry, model, alias=alias, actor=actor, reason=reason)
        stopped = "; routing stopped on the server" if status is not None else ""
        return {
            "alias": change.alias,
            "from": change.from_version,
            "to": None,
            "server": status,
            "message": f"{alias} {change.from_version} removed{stopped}",
        }


__all__ = [
    "DEFAULT_PROVIDERS",
    "TEST_IN_PRODUCTION",
    "DashboardSource",
    "ExperimentKind",
    "PanelProvider",
]
