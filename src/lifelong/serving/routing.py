"""The routing table of a prediction server: live tests of challengers beside the champion.

For each model with an experiment, a :class:`~lifelong.deployment.Router` chooses which
version answers a request (canary, A/B, bandit), or which versions get a shadow copy. The
table loads the challengers, answers through the service, feeds the router outcomes (errors,
latency) and rewards from feedback, and — on its background thread — applies the router's
decision: promotion through the admin actions (the catalog then follows the new champion),
or rollback (the challenger stops getting traffic). A challenger that fails a request is
counted and the champion answers instead, so clients never see the challenger's failure.

Examples
--------
>>> from lifelong.config import CanaryDeploymentConfig
>>> from lifelong.serving.catalog import ModelCatalog
>>> from lifelong.serving.service import PredictionService
>>> from lifelong.testing.fakes import InMemoryModelLoader, logistic_served_model
>>> loader = InMemoryModelLoader()
>>> loader.add(logistic_served_model("m", "1.0", features=("x",)), champion=True)
>>> loader.add(logistic_served_model("m", "1.1", seed=1, features=("x",)))
>>> service = PredictionService(ModelCatalog(loader), None)
>>> table = RoutingTable(service, loader=loader, actions=loader)
>>> table.start_experiment("m", CanaryDeploymentConfig(kind="canary", weight=1.0), ["1.1"])["challengers"]
['1.1']
>>> table.answer("m", None, "u1", lambda served: service.predict_rows(served, [{"x": 1.0}])).version
'1.1'
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from lifelong.clock import Clock, SystemClock
from lifelong.config import TestInProductionConfig
from lifelong.deployment import Decision, InterleavingRouter, Router, ShadowRouter, build_router
from lifelong.errors import ConfigError, NotFoundError, ValidationError
from lifelong.serving.model import AdminActions, ModelLoader, PredictionResult, ServedModel
from lifelong.serving.service import PredictionService
from lifelong.serving.shadow import ShadowExecutor, ShadowTask

log = logging.getLogger(__name__)

ACTOR = "lifelong-router"
_REMEMBERED = 100_000


class ChallengerSource(Protocol):
    """Which versions the deployment's challenger aliases point at (only ones that passed their gates)."""

    def challengers(self, model: str, aliases: Sequence[str]) -> list[str]: ...


Recorder = Callable[[str, Decision, Mapping[str, Any]], None]


@dataclass
class Experiment:
    """One live test: its config, router, loaded challengers and, once over, its outcome."""

    model: str
    config: TestInProductionConfig
    router: Router
    champion: str
    challengers: dict[str, ServedModel]
    started: datetime
    origin: str
    outcome: Decision | None = None
    ended: datetime | None = None
    final: dict[str, Any] = field(default_factory=dict)
    copied: tuple[ServedModel, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        self.copied = tuple(self.challengers.values())  # one tuple shared by every shadow copy

    def status(self) -> dict[str, Any]:
        status = self.final or self.router.status()
        return {
            "model": self.model,
            "origin": self.origin,
            "config": self.config.model_dump(mode="json"),
            "started": self.started.isoformat(),
            "running": self.outcome is None,
            "outcome": self.outcome.to_dict() if self.outcome is not None else None,
            "ended": self.ended.isoformat() if self.ended is not None else None,
            **status,
        }


def _aliases(config: TestInProductionConfig) -> tuple[str, ...]:
    many = getattr(config, "challengers", None)
    return tuple(many) if many is not None else (str(getattr(config, "challenger")),)


class RoutingTable:
    """Experiments per model, their routers, and the thread that applies their decisions.

    Parameters
    ----------
    service
        The server's prediction service (its catalog holds the champions).
    loader
        Loads challenger versions.
    actions
        Promotes a winning challenger (the registry's admin actions); None: decisions are
        recorded but nothing is promoted.
    recorder
        Called with ``(model, decision, live numbers)`` when an experiment ends (to record
        them on the version).
    shadow
        Answers shadow copies off the request path.
    follow, source
        With both, every model whose deployment challengers (aliases) point at versions that
        passed their gates gets an experiment of kind ``follow`` automatically.
    clock
        Time of experiments (bake times).
    interval
        Seconds between two rounds of the decision thread.
    """

    def __init__(
        self,
        service: PredictionService,
        *,
        loader: ModelLoader,
        actions: AdminActions | None = None,
        recorder: Recorder | None = None,
        shadow: ShadowExecutor | None = None,
        follow: TestInProductionConfig | None = None,
        source: ChallengerSource | None = None,
        clock: Clock | None = None,
        interval: float = 0.25,
    ) -> None:
        if not interval > 0:
            raise ConfigError(f"interval: expected a number of seconds > 0, got {interval!r}")
        self.service = service
        self._loader = loader
        self._actions = actions
        self._recorder = recorder
        self._shadow = shadow
        self._follow = follow
        self._source = source
        self._clock = clock or SystemClock()
        self._interval = float(interval)
        self._lock = threading.Lock()
        self._experiments: dict[str, Experiment] = {}
        self._finished: dict[str, list[Experiment]] = {}
        self._answered: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.decisions = 0
        self.fallbacks = 0
        service.add_observer(self._on_predicted)

    # -- experiments ---------------------------------------------------------------------------

    def start_experiment(
        self, model: str, config: TestInProductionConfig, versions: Sequence[str] | None = None, *, origin: str = "admin"
    ) -> dict[str, Any]:
        """Start (or replace) the experiment of ``model`` with challenger ``versions`` (default: the config's aliases)."""
        champion = self.service.catalog.get(model)
        if versions is None:
            if self._source is None:
                raise ValidationError("versions: expected challenger versions (this server follows no aliases)", field="versions")
            versions = self._source.challengers(model, _aliases(config))
        chosen = [version for version in dict.fromkeys(versions) if version != champion.version]
        if not chosen:
            raise ValidationError(
                f"versions: expected at least one challenger version other than the champion {champion.version!r}, got {list(versions)!r}",
                field="versions",
            )
        loaded = {version: self._loader.load(model, version) for version in chosen}
        for version, served in loaded.items():
            if served.model != model or served.version != version:
                raise NotFoundError(f"loader.load({model!r}, {version!r}): got {served.model!r} {served.version!r}")
        now = self._clock.now()
        try:
            router = build_router(config, champion.version, chosen, now=now)
        except ConfigError as exc:
            raise ValidationError(str(exc), field="versions") from exc
        experiment = Experiment(model, config, router, champion.version, loaded, now, origin)
        with self._lock:
            previous = self._experiments.get(model)
            self._experiments[model] = experiment
        if previous is not None and previous.outcome is None:
            self._end(previous, None, "replaced by a new experiment")
        if self._shadow is not None and isinstance(router, ShadowRouter):
            self._shadow.start()
        log.info("routing: %s of %r: champion %s, challengers %s", config.kind, model, champion.version, chosen)
        return experiment.status()

    def stop_experiment(self, model: str, reason: str = "stopped by an admin") -> dict[str, Any]:
        """End the running experiment of ``model`` without a decision; the champion keeps serving."""
        with self._lock:
            experiment = self._experiments.get(model)
        if experiment is None or experiment.outcome is not None:
            raise NotFoundError(f"model {model!r}: expected a running experiment, got none")
        self._end(experiment, None, reason)
        return experiment.status()

    def experiment(self, model: str) -> Experiment | None:
        """The running experiment of ``model``."""
        with self._lock:
            found = self._experiments.get(model)
        return found if found is not None and found.outcome is None else None

    def status(self, model: str | None = None) -> dict[str, Any]:
        """Live numbers of the running experiments, and the outcome of the finished ones."""
        with self._lock:
            running = dict(self._experiments)
            finished = {name: list(items) for name, items in self._finished.items()}
        names = [model] if model is not None else sorted(set(running) | set(finished))
        if model is not None and model not in running and model not in finished:
            raise NotFoundError(f"model {model!r}: no experiment has run on this server")
        return {
            name: {
                "running": running[name].status() if name in running else None,
                "finished": [item.status() for item in finished.get(name, [])[-10:]],
            }
            for name in names
        }

    # -- the request path ----------------------------------------------------------------------

    def resolve(self, model: str, version: str | None, unit: str | None) -> tuple[ServedModel, bool]:
        """The version that answers, and whether it is a challenger."""
        experiment = self.experiment(model)
        if experiment is None:
            return self.service.resolve(model, version), False
        if version is not None:
            if version in experiment.challengers:
                return experiment.challengers[version], True
            return self.service.resolve(model, version), False
        assignment = experiment.router.route(unit)
        if assignment.answer == experiment.champion:
            return self.service.resolve(model), False
        return experiment.challengers[assignment.answer], True

    def answer(
        self,
        model: str,
        version: str | None,
        unit: str | None,
        predict: Callable[[ServedModel], PredictionResult],
    ) -> PredictionResult:
        """Answer with the routed version; a failing challenger is counted and the champion answers."""
        served, challenger = self.resolve(model, version, unit)
        experiment = self.experiment(model)
        started = time.perf_counter()
        try:
            result = predict(served)
        except (ValidationError, NotFoundError):
            raise
        except Exception:
            if experiment is not None:
                experiment.router.observe(served.version, error=True, seconds=time.perf_counter() - started)
            if not challenger or version is not None:
                raise
            log.exception("routing: challenger %s of %r failed; the champion answers", served.version, model)
            self.fallbacks += 1
            served = self.service.resolve(model)
            started = time.perf_counter()
            result = predict(served)
        if experiment is not None:
            experiment.router.observe(served.version, error=False, seconds=time.perf_counter() - started)
            self._remember(result.request_id, model, served.version)
        return result

    def feedback(self, model: str, request_id: str, *, reward: float | None = None, clicks: Sequence[int] | None = None) -> dict[str, Any]:
        """Credit a reward (or, for interleaving, clicks) to the version that answered ``request_id``."""
        experiment = self.experiment(model)
        if experiment is None:
            raise NotFoundError(f"model {model!r}: expected a running experiment to credit, got none")
        if isinstance(experiment.router, InterleavingRouter):
            if clicks is None:
                raise ValidationError("clicks: expected the clicked positions of an interleaved list", field="clicks")
            try:
                winner = experiment.router.clicks(request_id, clicks)
            except KeyError:
                raise NotFoundError(f"request_id: expected an interleaved list of {model!r}, got {request_id!r}") from None
            return {"request_id": request_id, "winner": {"A": "champion", "B": "challenger", None: "tie"}[winner]}
        if reward is None:
            raise ValidationError("reward: expected a number", field="reward")
        with self._lock:
            answered = self._answered.get(request_id)
        if answered is None or answered[0] != model:
            raise NotFoundError(f"request_id: expected a request answered by {model!r} during the experiment, got {request_id!r}")
        try:
            experiment.router.reward(answered[1], reward)
        except ConfigError as exc:
            raise ValidationError(str(exc), field="reward") from exc
        return {"request_id": request_id, "version": answered[1]}

    def rank(self, model: str, columns: Mapping[str, Any], request_id: str, length: int | None) -> dict[str, Any]:
        """Rank items (rows): by the champion, or team-draft interleaved with the challenger."""
        champion = self.service.predict_columns(model, columns, request_id)
        order_a = [int(i) for i in np.argsort(-champion.scores, kind="stable")]
        experiment = self.experiment(model)
        if experiment is None or not isinstance(experiment.router, InterleavingRouter):
            ranking = order_a[:length] if length else order_a
            return {"request_id": request_id, "ranking": ranking, "interleaved": False, "model_version": champion.version}
        challenger = next(iter(experiment.challengers.values()))
        other = self.service.predict_columns(challenger, columns, f"{request_id}#b")
        order_b = [int(i) for i in np.argsort(-other.scores, kind="stable")]
        merged, _ = experiment.router.interleave(request_id, order_a, order_b, length)
        return {"request_id": request_id, "ranking": [int(str(i)) for i in merged], "interleaved": True, "model_version": champion.version}

    def _remember(self, request_id: str, model: str, version: str) -> None:
        with self._lock:
            self._answered[request_id] = (model, version)
            if len(self._answered) > _REMEMBERED:
                self._answered.popitem(last=False)

    def _on_predicted(self, served: ServedModel, inputs: Mapping[str, NDArray[Any]], result: PredictionResult) -> None:
        if self._shadow is None or not self._experiments:
            return
        experiment = self._experiments.get(served.model)
        if experiment is None or experiment.outcome is not None or served.version != experiment.champion:
            return
        router = experiment.router
        if not isinstance(router, ShadowRouter):
            return
        self._shadow.submit(ShadowTask(router, experiment.copied, inputs, result))

    # -- decisions -----------------------------------------------------------------------------

    def check(self) -> list[Decision]:
        """One round: start followed experiments, end stale ones, apply decisions; returns them."""
        applied: list[Decision] = []
        if self._follow is not None and self._source is not None:
            self._follow_aliases()
        with self._lock:
            running = [e for e in self._experiments.values() if e.outcome is None]
        now = self._clock.now()
        for experiment in running:
            current = self.service.catalog.snapshot().get(experiment.model)
            if current is None or current.version != experiment.champion:
                self._end(experiment, None, "the champion changed outside the experiment")
                continue
            decision = experiment.router.decide(now)
            if decision is None:
                continue
            self._apply(experiment, decision)
            applied.append(decision)
        return applied

    def _follow_aliases(self) -> None:
        source, follow = self._source, self._follow
        if source is None or follow is None:
            return
        for model in self.service.catalog.models():
            if self.experiment(model) is not None:
                continue
            try:
                versions = source.challengers(model, _aliases(follow))
                champion = self.service.catalog.get(model).version
            except Exception:  # noqa: BLE001 - one model's registry problem never stops the others
                log.exception("routing: reading the challengers of %r failed", model)
                continue
            done = {v for e in self._finished.get(model, []) for v in e.challengers}
            fresh = [v for v in versions if v != champion and v not in done]
            if fresh:
                try:
                    self.start_experiment(model, follow, fresh, origin="config")
                except Exception:  # noqa: BLE001
                    log.exception("routing: starting the %s of %r failed", follow.kind, model)

    def _apply(self, experiment: Experiment, decision: Decision) -> None:
        self.decisions += 1
        if decision.action == "promote" and self._actions is not None:
            try:
                self._actions.promote(experiment.model, decision.version, actor=ACTOR, reason=decision.reason)
                self.service.catalog.refresh(experiment.model)
            except Exception as exc:  # noqa: BLE001 - the experiment ends; the reason is kept
                log.exception("routing: promoting %s of %r failed", decision.version, experiment.model)
                decision = Decision("rollback", decision.version, f"{decision.reason}; promotion failed: {exc}")
        self._end(experiment, decision, decision.reason)

    def _end(self, experiment: Experiment, decision: Decision | None, reason: str) -> None:
        with self._lock:
            if experiment.outcome is not None:
                return
            experiment.final = experiment.router.status()
            experiment.outcome = decision or Decision("rollback", ",".join(experiment.challengers), reason)
            experiment.ended = self._clock.now()
            if self._experiments.get(experiment.model) is experiment:
                del self._experiments[experiment.model]
        log.info("routing: %s of %r ended: %s", experiment.config.kind, experiment.model, reason)
        if self._recorder is not None and decision is not None:
            try:
                self._recorder(experiment.model, decision, experiment.final)
            except Exception:  # noqa: BLE001
                log.exception("routing: recording the outcome of %r failed", experiment.model)
        with self._lock:
            self._finished.setdefault(experiment.model, []).append(experiment)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the decision thread."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="lifelong-routing", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
        if self._shadow is not None:
            self._shadow.stop()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.check()
            except Exception:  # noqa: BLE001
                log.exception("routing: a decision round failed")


__all__ = ["ACTOR", "ChallengerSource", "Experiment", "Recorder", "RoutingTable"]
