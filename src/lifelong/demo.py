"""``lifelong demo``: thirty simulated days of a click-through model kept fresh by the real loop.

Impressions arrive every hour and are answered by the champion through the prediction
service, which logs every prediction to the event store. Clicks arrive minutes later as
feedback events; the natural-label join turns them into labels once the 30-minute window
closes. Every day the trigger fires, the champion is updated statefully on the new labeled
rows, the challenger is gated against the champion on the most recent held-out hours and is
promoted when it is not worse. Beside it, the first version (1.0) stays frozen: the static
model most teams ship. On ``shift_day`` the world changes abruptly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from lifelong.clock import ManualClock
from lifelong.config import PipelineConfig, parse_config
from lifelong.evaluation import get_metric
from lifelong.orchestrator import Orchestrator, SkippedUpdate, UpdateResult
from lifelong.runtime import Pipeline
from lifelong.serving import ModelCatalog, PredictionLogger, PredictionService
from lifelong.serving.registry_loader import RegistryModelLoader
from lifelong.sources.simulator import DEVICES, KEY, NUMERIC, ClickSimulator

START = datetime(2024, 3, 1, tzinfo=timezone.utc)


def demo_config(home: Path, *, days: int = 30, impressions_per_day: int = 1200, shift_day: int = 18, seed: int = 7) -> dict[str, Any]:
    """The demo's ``lifelong.yaml`` as a mapping."""
    return {
        "name": "ctr",
        "home": str(home),
        "source": {"kind": "simulator", "days": days, "impressions_per_day": impressions_per_day, "shift_day": shift_day, "seed": seed},
        "labels": {"kind": "natural", "key": KEY, "window": "30m", "feedback": "feedback", "predictions": "predictions"},
        "features": {"kind": "tabular", "numeric": list(NUMERIC), "categorical": {"device": list(DEVICES)}},
        "model": {"kind": "lightgbm", "num_leaves": 15, "learning_rate": 0.1, "n_estimators": 60, "update_estimators": 15, "min_data_in_leaf": 20},
        "training": {"mode": "stateful", "window": "3d", "holdout": "6h", "min_rows": 300},
        "evaluation": {"metric": "roc_auc", "gates": [{"kind": "min_rows", "rows": 100}, {"kind": "not_worse", "tolerance": 0.005}]},
        "deployment": {"kind": "direct"},
        "triggers": {"combine": "any", "cooldown": "12h", "triggers": [{"kind": "cron", "expression": "0 0 * * *"}]},
    }


@dataclass
class DemoSummary:
    """What the demo shows: metric per day, versions, promotions and rejections."""

    metric: str
    higher_is_better: bool
    shift_day: int
    daily: list[dict[str, Any]] = field(default_factory=list)
    versions: list[dict[str, Any]] = field(default_factory=list)
    promotions: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    home: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "shift_day": self.shift_day,
            "home": self.home,
            "daily": self.daily,
            "versions": self.versions,
            "promotions": self.promotions,
            "rejections": self.rejections,
            "skipped": self.skipped,
        }


def run_demo(
    workdir: Path,
    *,
    days: int = 30,
    impressions_per_day: int = 1200,
    shift_day: int = 18,
    seed: int = 7,
    progress: Callable[[int, int, str], None] | None = None,
) -> DemoSummary:
    """Run the scenario in ``workdir`` (its ``.lifelong`` home is created afresh) and summarize it."""
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    home = workdir / "home"
    if home.exists():
        import shutil

        shutil.rmtree(home)
    raw = demo_config(home, days=days, impressions_per_day=impressions_per_day, shift_day=shift_day, seed=seed)
    # The written spec names its home relative to itself (as load_config resolves it), so the
    # commands run after the demo find the demo's registry from any working directory.
    written = {**raw, "home": home.name}
    (workdir / "lifelong.yaml").write_text(yaml.safe_dump(written, sort_keys=False))
    config: PipelineConfig = parse_config(raw, origin="demo")
    clock = ManualClock(START)
    pipeline = Pipeline.open(config, clock=clock, project_dir=workdir)
    metric = get_metric(config.evaluation.metric)
    summary = DemoSummary(metric=metric.name, higher_is_better=metric.higher_is_better, shift_day=shift_day, home=str(home))

    def record(outcome: UpdateResult | SkippedUpdate) -> None:
        if isinstance(outcome, SkippedUpdate):
            summary.skipped.append({"at": outcome.at.isoformat(), "reason": outcome.reason})
            return
        day = (outcome.at - START) / timedelta(days=1)
        row = {"version": outcome.version, "parent": outcome.parent, "day": round(day, 2), "reason": outcome.report["reason"]}
        (summary.promotions if outcome.promoted else summary.rejections).append(row)

    orchestrator = Orchestrator(pipeline, on_update=record)
    loader = RegistryModelLoader(pipeline.registry, loaded=orchestrator.loaded_bundle)
    catalog = ModelCatalog(loader)
    logger = PredictionLogger(pipeline.store, stream="predictions", flush_rows=10_000, flush_seconds=3600.0)
    service = PredictionService(catalog, logger, clock=clock)
    simulator = ClickSimulator(start=START, impressions_per_day=impressions_per_day, shift_day=shift_day, seed=seed)
    static_version: str | None = None
    pending_clicks: list[pd.DataFrame] = []
    scored: list[pd.DataFrame] = []
    inputs = [*NUMERIC, "device", KEY]
    try:
        for index in range(days * 24):
            hour = simulator.hour(index)
            clock.set(hour.start)
            frame = hour.impressions
            clicked = frame[KEY].isin(set(hour.clicks[KEY])).to_numpy()
            served = np.full(len(frame), np.nan)
            static = np.full(len(frame), np.nan)
            if len(frame):
                champion = loader.champion_version(config.name)
                if champion is None:
                    logger.log_unserved(config.name, frame[inputs], request_id=f"hour-{index}", event_times=frame["event_time"])
                else:
                    result = service.predict(config.name, frame[inputs], request_id=f"hour-{index}", event_times=frame["event_time"])
                    served = result.probabilities[:, list(result.classes).index(1)] if 1 in result.classes else served
                    if static_version is not None:
                        bundle = orchestrator.bundle(pipeline.registry.get(config.name, static_version))
                        proba = bundle.predict_proba_frame(frame[inputs])
                        static = proba[:, list(bundle.classes_).index(1)]
            scored.append(pd.DataFrame({"day": index // 24, "clicked": clicked.astype(int), "served": served, "static": static}))
            pending_clicks.append(hour.clicks.drop(columns=["impression_time"]))
            end = hour.start + timedelta(hours=1)
            clock.set(end)
            arrived = pd.concat(pending_clicks)
            due = arrived["event_time"] <= end
            if due.any():
                pipeline.store.append(config.labels.feedback, arrived[due])  # type: ignore[union-attr]
            pending_clicks = [arrived[~due]]
            logger.flush()
            outcome = orchestrator.step(end)
            if isinstance(outcome, UpdateResult):
                catalog.refresh(config.name)
                if static_version is None and outcome.promoted:
                    static_version = outcome.version
            if progress is not None:
                progress(index + 1, days * 24, f"day {index // 24 + 1}/{days}")
    finally:
        logger.close()
        catalog.stop()
    _summarize(summary, pd.concat(scored, ignore_index=True), metric.name, pipeline)
    pipeline.close()
    return summary


def _day_metric(metric_name: str, y: np.ndarray, p: np.ndarray) -> float | None:
    keep = ~np.isnan(p)
    if keep.sum() < 20 or len(np.unique(y[keep])) < 2:
        return None
    proba = np.column_stack([1 - p[keep], p[keep]])
    return round(get_metric(metric_name).compute(y[keep], proba, np.array([0, 1])), 4)


def _summarize(summary: DemoSummary, scored: pd.DataFrame, metric_name: str, pipeline: Pipeline) -> None:
    for day, rows in scored.groupby("day"):
        y = rows["clicked"].to_numpy()
        summary.daily.append(
            {
                "day": int(day) + 1,
                "static_metric": _day_metric(metric_name, y, rows["static"].to_numpy()),
                "lifelong_metric": _day_metric(metric_name, y, rows["served"].to_numpy()),
                "higher_is_better": summary.higher_is_better,
            }
        )
    promoted = {row["version"] for row in summary.promotions}
    for version in pipeline.registry.versions(pipeline.name):
        summary.versions.append(
            {
                "version": version.version,
                "parent": version.parent,
                "mode": version.lineage.mode.value,
                "iteration": version.lineage.iteration.value,
                "trigger": version.lineage.trigger.get("kind"),
                "trigger_reason": version.lineage.trigger.get("reason"),
                "rows": version.lineage.snapshot.rows if version.lineage.snapshot else 0,
                "promoted": version.version in promoted,
            }
        )


__all__ = ["DemoSummary", "demo_config", "run_demo"]
