"""Forgetting: how much an update lost on the data its ancestors were trained on.

The "older windows" are the training snapshots of the parent and its ancestors (content-
addressed, read back exactly). Both the parent (before the update) and the challenger (after)
are scored on them; ``forgetting`` is how much worse the challenger is, in the metric's own
direction (positive: it forgot; negative: it improved on the past). Replay of older rows
(``training.replay_fraction``) is the usual remedy; this is how its effect is measured.

Examples
--------
>>> report = ForgettingReport("accuracy", True, before=0.90, after=0.85, rows=400, windows=())
>>> round(report.forgetting, 2)
0.05
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lifelong.errors import DataError, ValidationError
from lifelong.evaluation.metrics import Metric
from lifelong.registry import Registry
from lifelong.registry.types import ModelVersion
from lifelong.training.bundle import ModelBundle
from lifelong.training.snapshot import read_snapshot

if TYPE_CHECKING:
    from lifelong.runtime import Pipeline


@dataclass(frozen=True)
class ForgettingReport:
    """The metric on the older windows before and after an update."""

    metric: str
    higher_is_better: bool
    before: float
    after: float
    rows: int
    windows: tuple[dict[str, Any], ...]

    @property
    def forgetting(self) -> float:
        """How much worse after than before (positive: forgot), whatever the metric's direction."""
        return (self.before - self.after) if self.higher_is_better else (self.after - self.before)

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "before": self.before,
            "after": self.after,
            "forgetting": self.forgetting,
            "rows": self.rows,
            "windows": [dict(window) for window in self.windows],
        }


def _score(metric: Metric, bundle: ModelBundle, rows: pd.DataFrame, label: str) -> float:
    return metric.compute(rows[label].to_numpy(), bundle.predict_proba_frame(rows), bundle.classes_)


def older_windows(
    registry: Registry,
    model: str,
    champion: ModelVersion,
    *,
    windows: int,
    max_rows: int,
    label: str,
    seed: int = 0,
) -> list[tuple[str, pd.DataFrame]]:
    """Labeled rows of the training snapshots of ``champion`` and its ancestors (``windows`` of them)."""
    found: list[tuple[str, pd.DataFrame]] = []
    for version in registry.lineage(model, champion.version)[:windows]:
        snapshot = version.lineage.snapshot
        if snapshot is None:
            continue
        rows = read_snapshot(registry.artifacts, snapshot)
        rows = rows[rows[label].notna()] if label in rows.columns else rows.iloc[:0]
        if len(rows) > max_rows:
            rows = rows.sample(n=max_rows, random_state=seed)
        if len(rows):
            found.append((version.version, rows))
    return found


def measure_forgetting(
    windows: list[tuple[str, pd.DataFrame]],
    parent: ModelBundle,
    challenger: ModelBundle,
    metric: Metric,
    *,
    label: str = "label",
) -> ForgettingReport | None:
    """Score ``parent`` and ``challenger`` on each older window and on all of them pooled.

    A window whose rows the challenger's features cannot read (a model iteration added a
    column) is reported as skipped. ``None`` when no window could be scored.
    """
    scored: list[dict[str, Any]] = []
    pooled: list[pd.DataFrame] = []
    for version, rows in windows:
        try:
            before, after = (
                _score(metric, parent, rows, label),
                _score(metric, challenger, rows, label),
            )
        except (ValidationError, DataError) as exc:
            scored.append({"version": version, "rows": len(rows), "skipped": str(exc)})
            continue
        scored.append({"version": version, "rows": len(rows), "before": before, "after": after})
        pooled.append(rows)
    if not pooled:
        return None
    everything = pd.concat(pooled, ignore_index=True)
    before, after = (
        _score(metric, parent, everything, label),
        _score(metric, challenger, everything, label),
    )
    if not (np.isfinite(before) and np.isfinite(after)):
        return None
    return ForgettingReport(
        metric.name, metric.higher_is_better, before, after, len(everything), tuple(scored)
    )


def forgetting_metrics(
    pipeline: Pipeline, champion: ModelVersion, parent: ModelBundle, challenger: ModelBundle
) -> dict[str, Any]:
    """The version metrics of an update's forgetting (empty when off or nothing to score)."""
    config = pipeline.config.training.forgetting
    if config.windows == 0:
        return {}
    label = pipeline.label_column
    windows = older_windows(
        pipeline.registry,
        pipeline.name,
        champion,
        windows=config.windows,
        max_rows=config.max_rows,
        label=label,
        seed=pipeline.config.training.seed,
    )
    report = measure_forgetting(windows, parent, challenger, pipeline.evaluator.metric, label=label)
    if report is None:
        return {}
    return {"forgetting": report.to_dict(), f"forgetting_{report.metric}": report.forgetting}


__all__ = ["ForgettingReport", "forgetting_metrics", "measure_forgetting", "older_windows"]
