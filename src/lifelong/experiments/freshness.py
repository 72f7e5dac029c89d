"""The value of fresh data: how much a model loses as the data it was trained on ages.

For several evaluation times ("todays") spread over the stream, the same model is trained on
windows of equal length that end at different ages before today (1 day … 3 months by
default), and each is scored on today's rows (``[today, today + horizon)``). Averaged over the
todays, accuracy against data age says what fresher data is worth; the recommended
retraining interval is the largest age up to which the accuracy lost against the freshest
window (paired over the same todays, averaged over the ages up to it) stays within
``tolerance``: retraining at least that often keeps the served model's data no older than
that, at a cost of about ``tolerance`` at most.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from lifelong.experiments.dataset import StreamData
>>> from lifelong.features import FeaturePipeline
>>> rng = np.random.default_rng(0)
>>> times = pd.date_range("2024-01-01", periods=2000, freq="h", tz="UTC")
>>> x = rng.normal(size=(2000, 1))
>>> y = (x[:, 0] > np.linspace(-1, 1, 2000)).astype(int)  # the boundary drifts
>>> data = StreamData(times, x, y, FeaturePipeline(numeric=("x",)))
>>> day = pd.Timedelta(days=1).to_pytimedelta()
>>> result = measure_freshness(data, ages=(day, 7 * day, 21 * day), window=7 * day, horizon=day, todays=4)
>>> [row["age"] for row in result.table()]
['1d', '7d', '21d']
>>> result.table()[0]["accuracy"] > result.table()[-1]["accuracy"]
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from lifelong.durations import format_duration
from lifelong.errors import ConfigError, DataError
from lifelong.experiments.dataset import StreamData
from lifelong.learners import LightGBMLearner

DEFAULT_AGES = tuple(timedelta(days=d) for d in (1, 3, 7, 14, 30, 60, 90))
MODEL = {"n_estimators": 50, "num_leaves": 15, "learning_rate": 0.1, "min_data_in_leaf": 20}


@dataclass
class FreshnessResult:
    """Accuracy of each (today, age) pair and what follows from it."""

    ages: tuple[timedelta, ...]
    todays: tuple[pd.Timestamp, ...]
    window: timedelta
    horizon: timedelta
    tolerance: float
    accuracy: np.ndarray[Any, Any]  # todays x ages, NaN where a window had too few rows
    train_rows: np.ndarray[Any, Any]
    eval_rows: np.ndarray[Any, Any]
    notes: list[str] = field(default_factory=list)

    def mean(self) -> np.ndarray[Any, Any]:
        return np.nanmean(self.accuracy, axis=0)

    def loss_vs_freshest(self) -> np.ndarray[Any, Any]:
        """Mean paired accuracy lost against the freshest age, over the todays where both were scored."""
        freshest = self.accuracy[:, :1]
        return np.nanmean(freshest - self.accuracy, axis=0)

    def recommended(self) -> timedelta:
        """The largest age up to which the paired loss against the freshest averages within the tolerance.

        The average runs over every age up to the candidate, so one noisy age neither stops
        the search early nor lets a far age through after a real drop.
        """
        losses = self.loss_vs_freshest()
        best = self.ages[0]
        for count, age in enumerate(self.ages, start=1):
            seen = losses[:count][np.isfinite(losses[:count])]
            if len(seen) and float(seen.mean()) <= self.tolerance:
                best = age
            else:
                break
        return best

    def table(self) -> list[dict[str, Any]]:
        means, losses = self.mean(), self.loss_vs_freshest()
        stds = np.nanstd(self.accuracy, axis=0)
        oldest = means[-1]
        return [
            {
                "age": format_duration(age),
                "age_days": round(age.total_seconds() / 86400, 3),
                "accuracy": round(float(mean), 4),
                "std": round(float(std), 4),
                "loss_vs_freshest": round(float(loss), 4),
                "gain_vs_oldest": round(float(mean - oldest), 4),
                "todays": int(np.isfinite(self.accuracy[:, index]).sum()),
            }
            for index, (age, mean, std, loss) in enumerate(zip(self.ages, means, stds, losses, strict=True))
        ]

    def to_dict(self) -> dict[str, Any]:
        table = self.table()
        return {
            "window": format_duration(self.window),
            "horizon": format_duration(self.horizon),
            "tolerance": self.tolerance,
            "todays": [today.isoformat() for today in self.todays],
            "ages": table,
            "gain_freshest_vs_oldest": round(table[0]["accuracy"] - table[-1]["accuracy"], 4),
            "recommended_interval": format_duration(self.recommended()),
            "per_today": [
                {"today": today.isoformat(), "accuracy": [None if not np.isfinite(v) else round(float(v), 4) for v in row]}
                for today, row in zip(self.todays, self.accuracy, strict=True)
            ],
            "notes": self.notes,
        }


def _accuracy(data: StreamData, train: slice, test: slice, min_rows: int) -> float:
    y_train = data.y[train]
    if train.stop - train.start < min_rows or len(pd.unique(y_train)) < 2 or test.stop - test.start == 0:
        return float("nan")
    model = LightGBMLearner(objective="binary" if len(pd.unique(data.y)) == 2 else "multiclass", **MODEL)
    model.fit(data.X[train], y_train)
    predicted = model.predict(data.X[test])
    return float(np.mean(predicted.astype(str) == data.y[test].astype(str)))


def measure_freshness(
    data: StreamData,
    *,
    ages: Sequence[timedelta] = DEFAULT_AGES,
    window: timedelta,
    horizon: timedelta,
    todays: int = 8,
    tolerance: float = 0.005,
    min_rows: int = 50,
) -> FreshnessResult:
    """Train on windows ending ``ages`` before each of ``todays`` evaluation times; score on ``horizon`` after it."""
    if todays < 1:
        raise ConfigError(f"--todays: expected at least 1, got {todays}")
    if window <= timedelta(0) or horizon <= timedelta(0):
        raise ConfigError(f"--window/--horizon: expected durations > 0, got {window} and {horizon}")
    if not 0 <= tolerance < 1:
        raise ConfigError(f"--tolerance: expected an accuracy difference in [0, 1), got {tolerance}")
    first, last = data.times[0], data.times[-1]
    span = last - first
    fitting = sorted(age for age in ages if first + age + window + horizon <= last)
    notes = []
    skipped = sorted(set(ages) - set(fitting))
    if skipped:
        notes.append(f"ages {[format_duration(a) for a in skipped]} left out: the stream spans {format_duration(span.to_pytimedelta())}")
    if len(fitting) < 2:
        raise DataError(
            f"--ages: expected at least two ages that fit the stream with window {format_duration(window)} and "
            f"horizon {format_duration(horizon)}, got {[format_duration(a) for a in fitting]} "
            f"(the stream spans {format_duration(span.to_pytimedelta())}); pass shorter --ages or --window"
        )
    earliest = first + fitting[-1] + window
    latest = last - horizon
    points = pd.date_range(earliest, latest, periods=todays) if todays > 1 else pd.DatetimeIndex([latest])
    accuracy = np.full((len(points), len(fitting)), np.nan)
    train_rows = np.zeros_like(accuracy, dtype=int)
    eval_rows = np.zeros(len(points), dtype=int)
    for i, today in enumerate(points):
        test = data.rows_between(today, today + horizon)
        eval_rows[i] = test.stop - test.start
        for j, age in enumerate(fitting):
            train = data.rows_between(today - age - window, today - age)
            train_rows[i, j] = train.stop - train.start
            accuracy[i, j] = _accuracy(data, train, test, min_rows)
    if not np.isfinite(accuracy).any():
        raise DataError(f"--window: no training window held {min_rows} labeled rows of two classes; pass a longer --window")
    return FreshnessResult(tuple(fitting), tuple(points), window, horizon, tolerance, accuracy, train_rows, eval_rows, notes)


def auto_windows(data: StreamData) -> tuple[timedelta, timedelta]:
    """Default training window (the longer of 7 days and 2,000 rows) and horizon (1 day or 200 rows)."""
    spacing = (data.times[-1] - data.times[0]) / max(1, len(data.times) - 1)
    window = max(timedelta(days=7), (spacing * 2000).to_pytimedelta())
    horizon = max(timedelta(days=1), (spacing * 200).to_pytimedelta())
    return timedelta(seconds=round(window.total_seconds())), timedelta(seconds=round(horizon.total_seconds()))


__all__ = ["DEFAULT_AGES", "FreshnessResult", "auto_windows", "measure_freshness"]
