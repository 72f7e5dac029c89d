"""The loop: trigger → snapshot → train → evaluate → register → promote.

One :class:`Orchestrator` drives one model. :meth:`Orchestrator.step` asks the trigger;
when it fires, :meth:`Orchestrator.update` builds the challenger (a replica of the champion
updated on new labeled rows, or a fresh model), scores it against the champion on the most
recent held-out rows, records everything on the new version and promotes it when the gates
pass. Every piece of state the loop needs is read back from the registry, so a restarted
process carries on where the last one stopped.
"""

from __future__ import annotations

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
from lifelong.evaluation import EvaluationReport
from lifelong.provenance import git_commit, library_versions
from lifelong.registry.types import Iteration, Lineage, ModelVersion, TrainingMode
from lifelong.runtime import Pipeline
from lifelong.training import ModelBundle, Trainer, write_snapshot
from lifelong.triggers import Decision, TriggerState

CHAMPION = "champion"
CHALLENGER = "challenger"
ACTOR = "lifelong-orchestrator"


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
    train_cpu_s: float
    at: datetime


@dataclass(frozen=True)
class SkippedUpdate:
    """A trigger fired but no version was trained, and why."""

    reason: str
    trigger: dict[str, Any]
    at: datetime


class _FramePredictor:
    """A bundle seen by the evaluator: probabilities from raw rows through its own features."""

    def __init__(self, bundle: ModelBundle) -> None:
        self.bundle = bundle

    @property
    def classes_(self) -> np.ndarray[Any, Any]:
        return self.bundle.classes_

    def predict_proba(self, X: Any) -> np.ndarray[Any, Any]:
        return self.bundle.predict_proba_frame(X)


@dataclass
class Orchestrator:
    """Runs the continual-learning loop of one pipeline."""

    pipeline: Pipeline
    on_update: Callable[[UpdateResult | SkippedUpdate], None] | None = None
    trainer: Trainer = field(default_factory=Trainer)
    _bundles: dict[str, ModelBundle] = field(default_factory=dict)
    _last_fired_at: datetime | None = None

    # ------------------------------------------------------------------ state
    def champion(self) -> ModelVersion | None:
        return self.pipeline.registry.get_alias(self.pipeline.name, CHAMPION)

    def bundle(self, version: ModelVersion) -> ModelBundle:
        """The loaded bundle of ``version`` (verified artifact), cached read-only."""
        cached = self._bundles.get(version.version)
        if cached is None:
            with tempfile.TemporaryDirectory(prefix="lifelong-load-") as tmp:
                path = self.pipeline.registry.load_artifact(self.pipeline.name, version.version, Path(tmp) / "bundle")
                cached = ModelBundle.load(path)
            self._bundles[version.version] = cached
        return cached

    def fresh_bundle(self, version: ModelVersion) -> ModelBundle:
        """A private copy of ``version``'s bundle, safe to update in place."""
        with tempfile.TemporaryDirectory(prefix="lifelong-load-") as tmp:
            path = self.pipeline.registry.load_artifact(self.pipeline.name, version.version, Path(tmp) / "bundle")
            return ModelBundle.load(path)

    def _last_training(self) -> tuple[datetime | None, int]:
        versions = self.pipeline.registry.versions(self.pipeline.name)
        if not versions:
            return None, 0
        latest = max(versions, key=lambda v: str(v.lineage.trigger.get("at", "")))
        at = latest.lineage.trigger.get("at")
        when = datetime.fromisoformat(at) if isinstance(at, str) else None
        return when, int(latest.lineage.trigger.get("labeled_rows", 0))

    def labeled_rows(self, now: datetime) -> int:
        """How many labeled rows exist at ``now`` (cheap count, no join)."""
        labels = self.pipeline.config.labels
        store = self.pipeline.store
        if isinstance(labels, NaturalLabelsConfig):
            return store.count(labels.predictions, None, now - labels.window)
        return store.count("events", None, now)

    def trigger_state(self, now: datetime) -> TriggerState:
        last_at, last_rows = self._last_training()
        counted = self.pipeline.trigger.needs_labeled_rows
        return TriggerState(
            now=now,
            last_trained_at=last_at,
            labeled_rows=self.labeled_rows(now) if counted else last_rows,
            labeled_rows_at_last_training=last_rows,
            last_fired_at=self._last_fired_at or last_at,
        )

    # ------------------------------------------------------------------ loop
    def step(self, now: datetime | None = None) -> UpdateResult | SkippedUpdate | None:
        """Check the trigger at ``now`` and update when it fires."""
        now = now or self.pipeline.clock.now()
        state = self.trigger_state(now)
        decision = self.pipeline.trigger.check(state)
        if not decision.fire:
            return None
        self._last_fired_at = now
        counted = state.labeled_rows if self.pipeline.trigger.needs_labeled_rows else None
        return self.update(now, decision, labeled_rows=counted)

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
        champion = self.champion()
        wanted = mode or TrainingMode(config.training.mode)
        window_start = now - config.training.window
        holdout_start = now - config.training.holdout
        seen_until = None
        if champion is not None and wanted is TrainingMode.STATEFUL and champion.lineage.snapshot is not None:
            seen_until = champion.lineage.snapshot.end
        span_start = window_start if seen_until is None else max(min(window_start, seen_until), now - timedelta(days=365))
        labeled = self.pipeline.labeler.label(self.pipeline.store, span_start, now, now=now).frame
        times = labeled["event_time"] if len(labeled) else pd.Series([], dtype="datetime64[ns, UTC]")
        holdout = labeled[times >= holdout_start]
        history = labeled[times < holdout_start]
        if seen_until is None:
            train = history[history["event_time"] >= window_start]
        else:
            # Stateful: the rows the champion has not seen, plus a replayed share of older ones.
            fresh = history[history["event_time"] >= seen_until]
            older = history[(history["event_time"] < seen_until) & (history["event_time"] >= window_start)]
            replay_n = min(int(round(config.training.replay_fraction * len(fresh))), len(older))
            replay = older.sample(n=replay_n, random_state=0) if replay_n else older.iloc[:0]
            train = pd.concat([replay, fresh]).sort_values(["event_time", "event_id"], kind="stable")
        problem = None
        if len(train) < config.training.min_rows:
            problem = f"training rows: expected at least {config.training.min_rows}, got {len(train)}"
        elif len(holdout) == 0:
            problem = "holdout rows: expected labeled rows in the most recent holdout window, got none"
        if problem is not None:
            skipped = SkippedUpdate(problem, trigger, now)
            if self.on_update:
                self.on_update(skipped)
            return skipped
        parent_bundle = None
        if champion is not None:
            parent_bundle = self.fresh_bundle(champion)
        spec = self.pipeline.training_spec()
        effective_mode = wanted
        if parent_bundle is not None and parent_bundle.model_hash != spec.model_hash:
            effective_mode = TrainingMode.STATELESS  # model iteration: a new major, from scratch
        trained = self.trainer.train(
            spec,
            train,
            mode=effective_mode,
            parent=parent_bundle if effective_mode is TrainingMode.STATEFUL else None,
            parent_version=champion.version if champion else None,
        )
        iteration = trained.iteration
        if parent_bundle is not None and parent_bundle.model_hash == spec.model_hash:
            iteration = Iteration.DATA  # same model on new data, stateless or not: a minor version
        snapshot_end = train["event_time"].max() + pd.Timedelta(microseconds=1)
        snapshot = write_snapshot(
            registry.artifacts,
            train.reset_index(drop=True),
            start=train["event_time"].min().to_pydatetime(),
            end=snapshot_end.to_pydatetime(),
            source=f"{config.name}:{type(self.pipeline.labeler).__name__}",
            label=spec.label,
        )
        report = self._evaluate(trained.bundle, champion, holdout)
        lineage = Lineage(
            parent=champion.version if champion else None,
            mode=trained.mode,
            iteration=iteration,
            snapshot=snapshot,
            config_hash=config.config_hash(),
            code_version=__version__,
            git_commit=git_commit(self.pipeline.project_dir),
            library_versions=library_versions(),
            trigger=trigger,
        )
        with tempfile.TemporaryDirectory(prefix="lifelong-bundle-") as tmp:
            trained.bundle.save(Path(tmp))
            version = registry.register(
                config.name,
                Path(tmp),
                lineage=lineage,
                learner_kind=trained.bundle.learner.kind,
                metrics={**trained.metrics(), f"holdout_{report.metric}": report.challenger},
            )
        registry.set_alias(config.name, CHALLENGER, version.version, actor=ACTOR, reason=f"trained on {trigger['kind']}")
        promote = report.passed and config.deployment.kind == "direct"
        status = "promoted" if promote else ("passed" if report.passed else "rejected")
        registry.record_evaluation(config.name, version.version, report.to_dict(), status=status)
        if promote:
            registry.set_alias(
                config.name,
                CHAMPION,
                version.version,
                actor=ACTOR,
                reason=f"gates passed: {report.reason}",
                expected=champion.version if champion else None,
            )
        result = UpdateResult(
            version=version.version,
            parent=champion.version if champion else None,
            mode=trained.mode.value,
            iteration=iteration.value,
            trigger=trigger,
            promoted=promote,
            report=report.to_dict(),
            train_rows=trained.rows,
            train_cpu_s=trained.cpu_seconds,
            at=now,
        )
        if self.on_update:
            self.on_update(result)
        return result

    def _evaluate(self, challenger: ModelBundle, champion: ModelVersion | None, holdout: pd.DataFrame) -> EvaluationReport:
        evaluator = self.pipeline.evaluator
        label = self.pipeline.label_column
        y = holdout[label].to_numpy()
        champion_predictor = _FramePredictor(self.bundle(champion)) if champion is not None else None
        return evaluator.evaluate(
            _FramePredictor(challenger),
            champion_predictor,
            holdout,  # type: ignore[arg-type]  # frame predictors take rows, not matrices
            y,
            champion_version=champion.version if champion else None,
        )


__all__ = ["CHALLENGER", "CHAMPION", "Orchestrator", "SkippedUpdate", "UpdateResult"]
