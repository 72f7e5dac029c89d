"""The loop: trigger → snapshot → train → evaluate → register → promote.

One :class:`Orchestrator` drives one model. :meth:`Orchestrator.step` asks the trigger;
when it fires, :meth:`Orchestrator.update` builds the challenger (a replica of the champion
updated on new labeled rows, or a fresh model), scores it against the champion on the most
recent held-out rows, records everything on the new version and promotes it when the gates
pass. Every piece of state the loop needs is read back from the registry, so a restarted
process carries on where the last one stopped.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lifelong import __version__
from lifelong.config import NaturalLabelsConfig
from lifelong.evaluation import EvaluationReport, best_passing
from lifelong.provenance import git_commit, library_versions
from lifelong.evaluation.poisoning import screen_for
from lifelong.learners.recommender_learner import ranking_metrics
from lifelong.recovery import PENDING, Recovered, finish_interrupted
from lifelong.registry.types import Iteration, Lineage, ModelVersion, TrainingMode
from lifelong.runtime import Pipeline
from lifelong.training import ModelBundle, Trainer
from lifelong.training.trainer import TrainedModel
from lifelong.training.challengers import FailedChallenger, Plan, PreparedChallenger, train_challengers
from lifelong.training.recalibration import decide_recalibration
from lifelong.training.reproduce import write_recorded_spec
from lifelong.training.sampling import prepare_training_frame
from lifelong.monitoring.context import MonitorContext
from lifelong.triggers import Decision, FiringJournal, TriggerState, versions_for, with_firing_id

CHAMPION = "champion"
CHALLENGER = "challenger"
ACTOR = "lifelong-orchestrator"
RECOUNT_EVERY = 32  # labeled-row counts and the last training: read in full after this many cheap checks
BUNDLES_KEPT = 4  # loaded bundles kept in memory (the champion and the latest ones)
_LOG = logging.getLogger("lifelong.orchestrator")


@dataclass(frozen=True)
class UpdateResult:
    """What one update produced."""

    version: str
    parent: str | None
    mode: str
    iteration: str
    trigger: dict[str, Any]
    promoted: bool
    report: dict[str, Any]
    train_rows: int
    train_cpu_s: float  # CPU seconds of fitting, all the challengers of the update together
    at: datetime
    candidates: tuple[dict[str, Any], ...] = ()
    failed: tuple[dict[str, Any], ...] = ()  # challengers whose training failed: name and error


@dataclass(frozen=True)
class SkippedUpdate:
    """A trigger fired but no version was trained, and why."""

    reason: str
    trigger: dict[str, Any]
    at: datetime


def _link_or_copy(source: str, target: str) -> None:
    """Hard-link ``source`` as ``target`` (read-only use), copying where links are refused."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


@dataclass(frozen=True)
class _Candidate:
    """One challenger an update considers: how it trains, on what, and how often it is refit."""

    name: str | None
    mode: TrainingMode
    model: Any
    window: timedelta
    columns: tuple[str, ...] | None = None
    every: int = 1
    offset: int = 0


@dataclass(frozen=True)
class _Pooled:
    """A challenger's latest version, kept as a candidate until the challenger is refit."""

    version: ModelVersion
    trained: TrainedModel  # its bundle; no fitting cost is counted again
    iteration: Iteration


@dataclass
class _Trainings:
    """Past updates as the registered versions record them: the latest trigger, and versions by firing."""

    marker: str | None  # the challenger alias when this was read
    latest: dict[str, Any] | None = None  # the trigger of the latest update
    firings: dict[str, list[str]] = field(default_factory=dict)
    checks: int = 0

    def add(self, version: str, trigger: dict[str, Any]) -> None:
        """Take in one version, in registry order (the first of equal times is the latest)."""
        if self.latest is None or str(trigger.get("at", "")) > str(self.latest.get("at", "")):
            self.latest = trigger
        firing = trigger.get("firing_id")
        if firing is not None:
            self.firings.setdefault(str(firing), []).append(version)

    def last(self) -> tuple[datetime | None, int]:
        """When the latest update was triggered, and the labeled rows it counted."""
        if self.latest is None:
            return None, 0
        at = self.latest.get("at")
        return datetime.fromisoformat(at) if isinstance(at, str) else None, int(self.latest.get("labeled_rows", 0))


class _FramePredictor:
    """A bundle seen by the evaluator: probabilities from raw rows through its own features.

    The last frame's probabilities are kept: the champion is scored once per update on the
    held-out rows, not once per challenger.
    """

    def __init__(self, bundle: ModelBundle) -> None:
        self.bundle = bundle
        self._last: tuple[Any, np.ndarray[Any, Any]] | None = None

    @property
    def classes_(self) -> np.ndarray[Any, Any]:
        return self.bundle.classes_

    def predict_proba(self, X: Any) -> np.ndarray[Any, Any]:
        if self._last is not None and self._last[0] is X:
            return self._last[1].copy()
        proba = self.bundle.predict_proba_frame(X)
        self._last = (X, proba)
        return proba.copy()


@dataclass
class Orchestrator:
    """Runs the continual-learning loop of one pipeline."""

    pipeline: Pipeline
    on_update: Callable[[UpdateResult | SkippedUpdate], None] | None = None
    trainer: Trainer = field(default_factory=Trainer)
    _bundles: dict[str, ModelBundle] = field(default_factory=dict)
    _last_fired_at: datetime | None = None
    _resumed: bool = False
    _monitor: MonitorContext | None = None
    _counts: dict[str, tuple[datetime, int, int]] = field(default_factory=dict)
    _scored: tuple[str, _FramePredictor] | None = None
    _trained: _Trainings | None = None
    _pool: dict[str, _Pooled] = field(default_factory=dict)  # latest version of each named challenger
    _updates: int = 0  # updates made by this orchestrator (challengers refit every n-th)

    # ------------------------------------------------------------------ state
    def champion(self) -> ModelVersion | None:
        return self.pipeline.registry.get_alias(self.pipeline.name, CHAMPION)

    def bundle(self, version: ModelVersion) -> ModelBundle:
        """The loaded bundle of ``version`` (verified artifact), cached read-only."""
        cached = self._bundles.get(version.version)
        if cached is None:
            with tempfile.TemporaryDirectory(prefix="lifelong-load-") as tmp:
                path = self.pipeline.registry.load_artifact(self.pipeline.name, version.version, Path(tmp) / "bundle")
                cached = ModelBundle.load(path, signer=self.pipeline.registry.signer)
            self._remember(version.version, cached)
        return cached

    def loaded_bundle(self, model: str, version: str) -> ModelBundle | None:
        """The bundle of ``version`` this orchestrator holds (trained and registered here, or read
        verified), or None: a server in the same process serves it without reading it again."""
        return self._bundles.get(version) if model == self.pipeline.name else None

    def _remember(self, version: str, bundle: ModelBundle) -> None:
        """Keep ``bundle`` as the loaded ``version``; the oldest beyond ``BUNDLES_KEPT`` are dropped."""
        self._bundles.pop(version, None)
        self._bundles[version] = bundle
        while len(self._bundles) > BUNDLES_KEPT:
            del self._bundles[next(iter(self._bundles))]

    def fresh_bundle(self, version: ModelVersion) -> ModelBundle:
        """A private copy of ``version``'s bundle, safe to update in place."""
        with tempfile.TemporaryDirectory(prefix="lifelong-load-") as tmp:
            path = self.pipeline.registry.load_artifact(self.pipeline.name, version.version, Path(tmp) / "bundle")
            return ModelBundle.load(path, signer=self.pipeline.registry.signer)

    def _last_training(self) -> tuple[datetime | None, int]:
        """When the latest update was triggered, and the labeled rows it counted."""
        return self._trainings().last()

    def _trainings(self) -> _Trainings:
        """What the registered versions say about past updates, read in full only when needed.

        Every update moves the ``challenger`` alias, so the versions are read again only when
        that alias has moved (one indexed query a step instead of every version's record), and
        in any case after ``RECOUNT_EVERY`` checks (versions registered without an update).
        This orchestrator's own updates are added as they are made.
        """
        registry = self.pipeline.registry
        marker = registry.alias_version(self.pipeline.name, CHALLENGER)
        cached = self._trained
        if cached is not None and cached.marker == marker and cached.checks < RECOUNT_EVERY:
            cached.checks += 1
            return cached
        read = _Trainings(marker)
        for version in registry.versions(self.pipeline.name):
            read.add(version.version, version.lineage.trigger)
        self._trained = read
        return read

    def _versions_for(self, firing: str) -> list[str]:
        """Versions already trained for ``firing`` (at most one update per firing)."""
        marker = self.pipeline.registry.alias_version(self.pipeline.name, CHALLENGER)
        cached = self._trained
        if cached is not None and cached.marker == marker:
            return list(cached.firings.get(firing, ()))
        return versions_for(self.pipeline.registry, self.pipeline.name, firing)

    def labeled_rows(self, now: datetime) -> int:
        """How many labeled rows exist at ``now`` (cheap count, no join)."""
        labels = self.pipeline.config.labels
        store = self.pipeline.store
        if isinstance(labels, NaturalLabelsConfig):
            return self._count_until(labels.predictions, now - labels.window)
        delay = getattr(labels, "delay", timedelta(0))
        return self._count_until(labels.rows_stream, now - delay)

    def _count_until(self, stream: str, cutoff: datetime) -> int:
        """Rows of ``stream`` before ``cutoff``: the last count plus the rows since its cutoff.

        Only the recent partitions are read; a full recount every ``RECOUNT_EVERY`` calls (and
        when time goes backwards) picks up late events stored behind an earlier cutoff.
        """
        store = self.pipeline.store
        cached = self._counts.get(stream)
        if cached is None or cutoff < cached[0] or cached[2] >= RECOUNT_EVERY:
            total = store.count(stream, None, cutoff)
            self._counts[stream] = (cutoff, total, 0)
            return total
        since, total, calls = cached
        total += store.count(stream, since, cutoff) if cutoff > since else 0
        self._counts[stream] = (cutoff, total, calls + 1)
        return total

    def monitor_context(self) -> MonitorContext:
        """What data-driven triggers (drift, performance, cost) read; built once, shares the bundle cache."""
        if self._monitor is None:
            self._monitor = MonitorContext.from_pipeline(self.pipeline, self.bundle)
        return self._monitor

    def trigger_state(self, now: datetime) -> TriggerState:
        last_at, last_rows = self._last_training()
        counted = self.pipeline.trigger.needs_labeled_rows
        return TriggerState(
            now=now,
            last_trained_at=last_at,
            labeled_rows=self.labeled_rows(now) if counted else last_rows,
            labeled_rows_at_last_training=last_rows,
            last_fired_at=self._last_fired_at or last_at,
            extra=self.pipeline.trigger.observe(self.monitor_context(), now),
        )

    # ------------------------------------------------------------------ loop
    def step(self, now: datetime | None = None) -> UpdateResult | SkippedUpdate | None:
        """Check the trigger at ``now`` and update when it fires.

        An update a crash left undecided is finished first (see :mod:`lifelong.recovery`).
        """
        now = now or self.pipeline.clock.now()
        if not self._resumed:  # once per process, and again after an update that raised
            self.resume()
            self._resumed = True
        state = self.trigger_state(now)
        decision = with_firing_id(self.pipeline.name, self.pipeline.trigger.check(state), state)
        if not decision.fire:
            return None
        self._last_fired_at = now
        counted = state.labeled_rows if self.pipeline.trigger.needs_labeled_rows else None
        try:
            return self.update(now, decision, labeled_rows=counted)
        except BaseException:
            self._resumed = False
            raise

    def resume(self) -> Recovered | None:
        """Finish the latest update if a crash interrupted it between registering and deciding."""
        direct = self.pipeline.config.deployment.kind == "direct"
        return finish_interrupted(self.pipeline.registry, self.pipeline.name, promote_passing=direct, actor=ACTOR)

    def update(
        self,
        now: datetime,
        decision: Decision,
        *,
        labeled_rows: int | None = None,
        mode: TrainingMode | None = None,
    ) -> UpdateResult | SkippedUpdate:
        """Train, evaluate, register and (when the gates pass) promote one challenger."""
        config = self.pipeline.config
        registry = self.pipeline.registry
        trigger = {
            **decision.to_dict(),
            "at": now.isoformat(),
            "labeled_rows": labeled_rows if labeled_rows is not None else self.labeled_rows(now),
        }
        if decision.firing_id is not None:  # at most one update per firing, across crashes and restarts
            done = self._versions_for(decision.firing_id)
            if done:
                skipped = SkippedUpdate(f"firing {decision.firing_id}: already trained as version(s) {', '.join(done)}", trigger, now)
                if self.on_update:
                    self.on_update(skipped)
                return skipped
            journal = FiringJournal(config.home / "firings" / f"{config.name}.jsonl")
            journal.record(decision.firing_id, "started", at=now, kind=decision.kind, reason=decision.reason)
        champion = self.champion()
        screen = screen_for(self.pipeline.evaluator.gates, self.pipeline.store)
        candidates = self._candidates(mode)
        reused = self._reused(candidates, champion, screened=screen is not None)
        candidates = [candidate for candidate in candidates if candidate.name not in reused]
        window_start = now - max(candidate.window for candidate in candidates)
        holdout_start = now - config.training.holdout
        seen_until = None
        wants_state = any(candidate.mode is TrainingMode.STATEFUL for candidate in candidates)
        if champion is not None and wants_state and champion.lineage.snapshot is not None:
            seen_until = champion.lineage.snapshot.end
        span_start = window_start if seen_until is None else max(min(window_start, seen_until), now - timedelta(days=365))
        labeled = self.pipeline.labeler.label(self.pipeline.store, span_start, now, now=now).frame
        if screen is not None:  # quarantined sources neither train nor judge (lifelong.sources.quarantine)
            labeled = screen.exclude(labeled)
        times = labeled["event_time"] if len(labeled) else pd.Series([], dtype="datetime64[ns, UTC]")
        holdout = labeled[times >= holdout_start]
        history = labeled[times < holdout_start]
        reference = self.bundle(champion) if champion is not None else None
        plans: list[Plan] = []
        problem = None
        recalibration = None
        if champion is not None and seen_until is not None:
            recalibration = decide_recalibration(self.pipeline, champion, history[history["event_time"] >= seen_until])
        for candidate in candidates:
            spec_hash = self.pipeline.training_spec(candidate.model, candidate.columns).model_hash
            effective = candidate.mode
            if reference is not None and reference.model_hash != spec_hash:
                effective = TrainingMode.STATELESS  # model iteration: a new major, from scratch
            if recalibration is not None and recalibration.from_scratch:
                effective = TrainingMode.STATELESS  # recalibration: from scratch on the window
            stateful = effective is TrainingMode.STATEFUL and seen_until is not None
            train = self._training_rows(history, now - candidate.window, seen_until if stateful else None)
            train = prepare_training_frame(train, config.training, now=now, state_dir=config.home / "replay" / config.name)
            if len(train) < config.training.min_rows:
                problem = problem or f"training rows: expected at least {config.training.min_rows}, got {len(train)}"
                continue
            plans.append((candidate.name, effective, candidate.model, train, candidate.columns))
        if not plans:
            problem = problem or "training rows: expected at least one challenger to train, got none"
        elif len(holdout) == 0:
            problem = "holdout rows: expected labeled rows in the most recent holdout window, got none"
        if problem is not None and (not plans or len(holdout) == 0):
            skipped = SkippedUpdate(problem, trigger, now)
            if self.on_update:
                self.on_update(skipped)
            return skipped
        older = self._older_window(now)
        prepared = train_challengers(self.pipeline, plans, champion, reference, recalibration)
        failed = tuple(ready.to_dict() for ready in prepared if isinstance(ready, FailedChallenger))
        for failure in failed:
            _LOG.warning("challenger %s failed to train and is left out of this update: %s", failure["name"], failure["error"])
        outcomes = [
            self._train_and_register(now, plan, champion, holdout, older, trigger, ready)
            for plan, ready in zip(plans, prepared, strict=True)
            if isinstance(ready, PreparedChallenger)
        ]
        fresh = len(outcomes)
        outcomes += [self._rescore(pooled, champion, holdout, older) for pooled in reused.values() if pooled is not None]
        reports = [outcome[2] for outcome in outcomes]
        best = best_passing(reports)
        chosen = best if best is not None else 0
        version, trained, report, iteration, name = outcomes[chosen]
        promote = report.passed and config.deployment.kind == "direct"
        for index, (other, _, other_report, _, other_name) in enumerate(outcomes):
            selected = index == chosen
            if index >= fresh and not selected:
                continue  # a kept version not chosen keeps the record of the update that trained it
            if selected:
                status = "promoted" if promote else ("passed" if report.passed else "rejected")
            else:
                status = "passed" if other_report.passed else "rejected"
            record = {**other_report.to_dict(), "challenger_name": other_name, "selected": selected}
            registry.record_evaluation(config.name, other.version, record, status=status)
        known = self._trained is not None and self._trained.marker == registry.alias_version(config.name, CHALLENGER)
        registry.set_alias(config.name, CHALLENGER, version.version, actor=ACTOR, reason=f"trained on {trigger['kind']}")
        if known and self._trained is not None:  # what was read stays true: this update's versions added
            for other, *_ in outcomes[:fresh]:
                self._trained.add(other.version, other.lineage.trigger)
            self._trained.marker = version.version
        if promote:
            registry.set_alias(
                config.name,
                CHAMPION,
                version.version,
                actor=ACTOR,
                reason=f"gates passed: {report.reason}",
                expected=champion.version if champion else None,
            )
            # the bundle just saved as this version's artifact: the next update's reference
            self._remember(version.version, trained.bundle)
        result = UpdateResult(
            version=version.version,
            parent=champion.version if champion else None,
            mode=trained.mode.value,
            iteration=iteration.value,
            trigger=trigger,
            promoted=promote,
            report=report.to_dict(),
            train_rows=trained.rows,
            train_cpu_s=sum(other.cpu_seconds for _, other, *_ in outcomes),  # every challenger fitted
            at=now,
            candidates=tuple(
                {"name": n, "version": v.version, "passed": r.passed, r.metric: r.challenger, "selected": i == chosen, "refit": i < fresh}
                for i, (v, _, r, _, n) in enumerate(outcomes)
            ),
            failed=failed,
        )
        self._updates += 1
        for other, other_trained, _, other_iteration, other_name in outcomes[:fresh]:
            if other_name is not None:
                kept = dataclasses.replace(other_trained, cpu_seconds=0.0, wall_seconds=0.0)
                self._pool[other_name] = _Pooled(other, kept, other_iteration)
        if self.on_update:
            self.on_update(result)
        return result

    def _candidates(self, mode: TrainingMode | None) -> list[_Candidate]:
        """The challengers of an update: the configured ones, or the spec's model in ``mode``."""
        config = self.pipeline.config
        default = mode or TrainingMode(config.training.mode)
        window = config.training.window
        if mode is not None or not config.evaluation.challengers:
            return [_Candidate(None, default, None, window)]
        return [
            _Candidate(
                c.name,
                TrainingMode(c.mode) if c.mode is not None else default,
                c.model,
                c.window if c.window is not None else window,
                c.features,
                c.every,
                c.offset,
            )
            for c in config.evaluation.challengers
        ]

    def _reused(
        self, candidates: list[_Candidate], champion: ModelVersion | None, *, screened: bool
    ) -> dict[str, _Pooled | None]:
        """Challengers not due for a refit at this update, by name, with the latest version to score again.

        A challenger with ``every: n`` is refit at the updates ``k`` of this orchestrator with
        ``k % n == offset`` (and at its first); a label-quality screen judges training rows, so
        with one every challenger is refit. A kept version that is the champion is not scored against itself (``None``).
        """
        if screened:
            return {}
        kept: dict[str, _Pooled | None] = {}
        for candidate in candidates:
            pooled = self._pool.get(candidate.name) if candidate.name is not None else None
            if pooled is None or candidate.every == 1 or self._updates % candidate.every == candidate.offset:
                continue
            is_champion = champion is not None and pooled.version.version == champion.version
            kept[str(candidate.name)] = None if is_champion else pooled
        return kept

    def _training_rows(self, history: pd.DataFrame, window_start: datetime, seen_until: datetime | None) -> pd.DataFrame:
        """The window (stateless), or the rows the champion has not seen plus a replayed share (stateful)."""
        if seen_until is None:
            return history[history["event_time"] >= window_start]
        fresh = history[history["event_time"] >= seen_until]
        older = history[(history["event_time"] < seen_until) & (history["event_time"] >= window_start)]
        replay_n = min(int(round(self.pipeline.config.training.replay_fraction * len(fresh))), len(older))
        replay = older.sample(n=replay_n, random_state=0) if replay_n else older.iloc[:0]
        return pd.concat([replay, fresh]).sort_values(["event_time", "event_id"], kind="stable")

    def _older_window(self, now: datetime) -> pd.DataFrame | None:
        """Labeled rows of the forgetting gate's older window, when one is configured."""
        window = self.pipeline.evaluator.older_window
        if window is None:
            return None
        start, end = window
        return self.pipeline.labeler.label(self.pipeline.store, now - start, now - end, now=now).frame

    def _rescore(
        self, pooled: _Pooled, champion: ModelVersion | None, holdout: pd.DataFrame, older: pd.DataFrame | None
    ) -> tuple[ModelVersion, TrainedModel, EvaluationReport, Iteration, str | None]:
        """Score a kept challenger version again, on this update's held-out rows."""
        report = self._evaluate(pooled.trained.bundle, champion, holdout, older=older)
        return pooled.version, pooled.trained, report, pooled.iteration, pooled.version.lineage.trigger.get("challenger")

    def _train_and_register(
        self,
        now: datetime,
        plan: Plan,
        champion: ModelVersion | None,
        holdout: pd.DataFrame,
        older: pd.DataFrame | None,
        trigger: dict[str, Any],
        prepared: PreparedChallenger,
    ) -> tuple[ModelVersion, Any, EvaluationReport, Iteration, str | None]:
        """Train one challenger, score it against the champion, and register it as a version."""
        config = self.pipeline.config
        registry = self.pipeline.registry
        name, _, model, train, columns = plan
        spec = self.pipeline.training_spec(model, columns)
        trained, snapshot = prepared.trained, prepared.snapshot  # trained by the pipeline's executor
        iteration = trained.iteration
        base = champion if champion is not None else registry.latest(config.name)  # nothing serves: the last one tried
        reference = self.bundle(base) if base is not None else None
        if reference is not None and reference.model_hash == spec.model_hash:
            iteration = Iteration.DATA  # same model on new data, stateless or not: a minor version
        lineage = Lineage(
            parent=champion.version if champion else None,
            mode=trained.mode,
            iteration=iteration,
            snapshot=snapshot,
            config_hash=config.config_hash(),
            code_version=__version__,
            git_commit=git_commit(self.pipeline.project_dir),
            library_versions=library_versions(),
            trigger={
                **trigger,
                **({} if name is None else {"challenger": name}),
                **({} if trained.warm_start is None else {"warm_start": trained.warm_start}),
            },
        )
        with tempfile.TemporaryDirectory(prefix="lifelong-bundle-") as tmp:
            if prepared.saved is not None:  # the files the executor stored: linked, not saved again
                shutil.copytree(prepared.saved, tmp, dirs_exist_ok=True, copy_function=_link_or_copy)
            else:
                trained.bundle.save(Path(tmp))
            write_recorded_spec(Path(tmp), config)  # the exact spec, for `lifelong reproduce`
            report = self._evaluate(trained.bundle, champion, holdout, older=older, artifact_dir=Path(tmp))
            report = self._screen_labels(report, champion, train, now)
            version = registry.register(
                config.name,
                Path(tmp),
                lineage=lineage,
                learner_kind=trained.bundle.learner.kind,
                metrics={
                    **trained.metrics(),
                    **prepared.metrics,
                    f"holdout_{report.metric}": report.challenger,
                    **ranking_metrics(trained.bundle.learner, holdout, transform=trained.bundle.transform, label=self.pipeline.label_column),
                },
                evaluation={**report.to_dict(), "challenger_name": name},
                status=PENDING,  # decided below; lifelong.recovery finishes it after a crash
            )
        if name is not None:
            registry.set_alias(config.name, f"{CHALLENGER}-{name}", version.version, actor=ACTOR, reason=f"challenger {name!r} trained on {trigger['kind']}")
        return version, trained, report, iteration, name

    def _screen_labels(
        self, report: EvaluationReport, champion: ModelVersion | None, train: pd.DataFrame, now: datetime
    ) -> EvaluationReport:
        """The ``label_quality`` gate: judge each source's training labels (lifelong.evaluation.poisoning)."""
        screen = screen_for(self.pipeline.evaluator.gates, self.pipeline.store)
        if screen is None or not len(train):
            return report
        start = train["event_time"].min().to_pydatetime()
        before = self.pipeline.labeler.label(self.pipeline.store, start - self.pipeline.config.training.window, start, now=now).frame
        bundle = self.bundle(champion) if champion is not None else None
        return screen.judge(report, champion=bundle, train=train, before=screen.exclude(before), label=self.pipeline.label_column, now=now)

    def _champion_predictor(self, champion: ModelVersion) -> _FramePredictor:
        """The champion as the evaluator sees it, shared by the challengers of an update."""
        bundle = self.bundle(champion)
        if self._scored is None or self._scored[0] != champion.version or self._scored[1].bundle is not bundle:
            self._scored = (champion.version, _FramePredictor(bundle))
        return self._scored[1]

    def _evaluate(
        self,
        challenger: ModelBundle,
        champion: ModelVersion | None,
        holdout: pd.DataFrame,
        *,
        older: pd.DataFrame | None = None,
        artifact_dir: Path | None = None,
    ) -> EvaluationReport:
        evaluator = self.pipeline.evaluator
        label = self.pipeline.label_column
        y = holdout[label].to_numpy()
        champion_predictor = self._champion_predictor(champion) if champion is not None else None
        older_rows = (older, older[label].to_numpy()) if older is not None and len(older) else None
        return evaluator.evaluate(
            _FramePredictor(challenger),
            champion_predictor,
            holdout,
            y,
            champion_version=champion.version if champion else None,
            older=older_rows,
            artifact_dir=artifact_dir,
        )


__all__ = ["CHALLENGER", "CHAMPION", "Orchestrator", "SkippedUpdate", "UpdateResult"]
