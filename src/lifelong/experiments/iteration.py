"""Model iteration or data iteration: what each unit of compute buys.

At several evaluation times ("nows") a champion is serving that was trained ``staleness``
earlier on a window of length ``window``. Each option spends training compute (CPU seconds,
``time.process_time``) to replace it, and is scored on the rows of ``[now, now + horizon)``:

model iteration, on the champion's own (old) window — a new model, the data unchanged:

- ``architecture``: another family (a scikit-learn random forest of 100 trees);
- ``more-features``: the same LightGBM with the point-in-time context features added
  (:mod:`lifelong.experiments.context`);
- ``hyperparameter-search``: six LightGBM configurations, the best on the window's last fifth;

data iteration — the same model, fresh data:

- ``stateful-update``: the champion continued (10 more boosting rounds) on the rows since it
  was trained;
- ``stateless-retrain``: the champion's configuration trained from scratch on the latest window.

The gain of an option is its accuracy minus the champion's on the same rows, averaged over the
nows; ``gain_per_cpu_s`` divides it by the compute spent.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from lifelong.experiments.dataset import StreamData
>>> from lifelong.features import FeaturePipeline
>>> rng = np.random.default_rng(0)
>>> times = pd.date_range("2024-01-01", periods=3000, freq="h", tz="UTC")
>>> x = rng.normal(size=(3000, 2))
>>> y = (x[:, 0] > np.linspace(-1.5, 1.5, 3000)).astype(int)
>>> data = StreamData(times, x, y, FeaturePipeline(numeric=("a", "b")))
>>> day = pd.Timedelta(days=1).to_pytimedelta()
>>> result = compare_iterations(data, data, window=20 * day, staleness=20 * day, horizon=2 * day, nows=2)
>>> sorted(row["option"] for row in result.table())[:2]
['architecture', 'hyperparameter-search']
>>> best = max(result.table(), key=lambda row: row["gain"])
>>> best["kind"]
'data'
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd

from lifelong.durations import format_duration
from lifelong.errors import ConfigError, DataError
from lifelong.experiments.dataset import StreamData
from lifelong.learners import LightGBMLearner, build_learner
from lifelong.learners.base import Learner

BASE = {"n_estimators": 50, "num_leaves": 15, "learning_rate": 0.1, "min_data_in_leaf": 20, "update_estimators": 10}
GRID = tuple({"num_leaves": leaves, "learning_rate": rate, "n_estimators": 100} for leaves in (7, 31, 63) for rate in (0.05, 0.1))
OPTIONS: dict[str, Literal["model", "data"]] = {
    "architecture": "model",
    "more-features": "model",
    "hyperparameter-search": "model",
    "stateful-update": "data",
    "stateless-retrain": "data",
}


@dataclass
class IterationResult:
    """Per option and now: CPU seconds spent and accuracy gained over the champion."""

    nows: tuple[pd.Timestamp, ...]
    window: timedelta
    staleness: timedelta
    horizon: timedelta
    champion: list[float] = field(default_factory=list)
    cpu: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in OPTIONS})
    gain: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in OPTIONS})

    def table(self) -> list[dict[str, Any]]:
        rows = []
        for name, kind in OPTIONS.items():
            cpu, gain = float(np.mean(self.cpu[name])), float(np.mean(self.gain[name]))
            rows.append({
                "option": name,
                "kind": kind,
                "cpu_s": round(cpu, 4),
                "accuracy": round(float(np.mean(self.champion)) + gain, 4),
                "gain": round(gain, 4),
                "gain_per_cpu_s": round(gain / cpu, 4) if cpu > 0 else None,
            })
        return rows

    def to_dict(self) -> dict[str, Any]:
        table = self.table()
        best_model = max((r for r in table if r["kind"] == "model"), key=lambda r: r["gain"])
        best_data = max((r for r in table if r["kind"] == "data"), key=lambda r: r["gain"])
        return {
            "window": format_duration(self.window),
            "staleness": format_duration(self.staleness),
            "horizon": format_duration(self.horizon),
            "nows": [now.isoformat() for now in self.nows],
            "champion_accuracy": round(float(np.mean(self.champion)), 4),
            "options": table,
            "best_model_iteration": best_model["option"],
            "best_data_iteration": best_data["option"],
            "verdict": (
                f"data iteration ({best_data['option']}: {best_data['gain']:+.4f} for {best_data['cpu_s']:.3f} CPU s) "
                f"{'beats' if best_data['gain'] >= best_model['gain'] else 'loses to'} model iteration "
                f"({best_model['option']}: {best_model['gain']:+.4f} for {best_model['cpu_s']:.3f} CPU s)"
            ),
        }


def _objective(y: np.ndarray[Any, Any]) -> Literal["binary", "multiclass"]:
    return "binary" if len(pd.unique(y)) <= 2 else "multiclass"


def _timed(train: Callable[[], Learner]) -> tuple[Learner, float]:
    start = time.process_time()
    model = train()
    return model, time.process_time() - start


def _score(model: Learner, X: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> float:
    return float(np.mean(model.predict(X).astype(str) == y.astype(str)))


def _search(X: np.ndarray[Any, Any], y: np.ndarray[Any, Any], objective: Literal["binary", "multiclass"]) -> Learner:
    cut = int(len(y) * 0.8)
    scored = []
    for params in GRID:
        model = LightGBMLearner(objective=objective, min_data_in_leaf=20, **params).fit(X[:cut], y[:cut])
        scored.append((_score(model, X[cut:], y[cut:]), params))
    best = max(scored, key=lambda item: item[0])[1]
    return LightGBMLearner(objective=objective, min_data_in_leaf=20, **best).fit(X, y)


def compare_iterations(
    data: StreamData,
    enriched: StreamData,
    *,
    window: timedelta,
    staleness: timedelta,
    horizon: timedelta,
    nows: int = 5,
    min_rows: int = 100,
) -> IterationResult:
    """Run every option at ``nows`` evaluation times (``enriched``: the same rows with context features)."""
    if len(data.times) != len(enriched.times):
        raise DataError(f"enriched: expected the same {len(data.times)} rows as data, got {len(enriched.times)}")
    if nows < 1:
        raise ConfigError(f"--nows: expected at least 1, got {nows}")
    first, last = data.times[0], data.times[-1]
    earliest, latest = first + staleness + window, last - horizon
    if earliest >= latest:
        raise DataError(
            f"--window/--staleness: expected window + staleness + horizon within the stream's "
            f"{format_duration((last - first).to_pytimedelta())}, got {format_duration(window + staleness + horizon)}"
        )
    points = pd.date_range(earliest, latest, periods=nows) if nows > 1 else pd.DatetimeIndex([latest])
    result = IterationResult(tuple(points), window, staleness, horizon)
    objective = _objective(data.y)
    for now in points:
        old = data.rows_between(now - staleness - window, now - staleness)
        fresh = data.rows_between(now - staleness, now)
        latest_window = data.rows_between(now - window, now)
        test = data.rows_between(now, now + horizon)
        if old.stop - old.start < min_rows or test.stop == test.start or len(pd.unique(data.y[old])) < 2:
            continue
        X, y, Xe = data.X, data.y, enriched.X
        champion = LightGBMLearner(objective=objective, **BASE).fit(X[old], y[old])
        base = _score(champion, X[test], y[test])
        trained: dict[str, tuple[Learner, float]] = {
            "architecture": _timed(lambda: build_learner(
                "sklearn",
                {"estimator": "sklearn.ensemble.RandomForestClassifier", "params": {"n_estimators": 100, "min_samples_leaf": 5, "random_state": 0, "n_jobs": 1}},
            ).fit(X[old], y[old])),
            "more-features": _timed(lambda: LightGBMLearner(objective=objective, **BASE).fit(Xe[old], y[old])),
            "hyperparameter-search": _timed(lambda: _search(X[old], y[old], objective)),
            "stateless-retrain": _timed(lambda: LightGBMLearner(objective=objective, **BASE).fit(X[latest_window], y[latest_window])),
        }
        if fresh.stop - fresh.start >= 2 and len(pd.unique(y[fresh])) >= 2:
            trained["stateful-update"] = _timed(lambda: champion.update(X[fresh], y[fresh]))
        else:
            trained["stateful-update"] = (champion, 0.0)
        result.champion.append(base)
        for name, (model, cpu) in trained.items():
            rows = Xe[test] if name == "more-features" else X[test]
            result.cpu[name].append(cpu)
            result.gain[name].append(_score(model, rows, y[test]) - base)
    if not result.champion:
        raise DataError(f"--window: no evaluation time had {min_rows} labeled rows of two classes to train on; pass a longer --window")
    return result


__all__ = ["GRID", "OPTIONS", "IterationResult", "compare_iterations"]
