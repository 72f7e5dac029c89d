"""What the learner sees of the labeled rows: rebalancing, time-decay weights, and replay.

- :func:`downsample` / :func:`upsample`: equalize the groups of a column (the label for
  class balance, or a key such as ``user_id`` so that heavy users do not dominate), seeded.
- :func:`time_decay_weights`: a row ``half_life`` old weighs half a fresh one.
- :class:`ReplayReservoir`: a bounded, uniform sample of every row trained on so far
  (Algorithm R), kept on disk, replayed into each update so that a stateful model keeps
  seeing older data even after the raw events are gone (see ``events/retention.py``).

:func:`prepare_training_frame` applies all three, as the spec's ``training.sampling`` asks.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"x": range(6), "label": [0, 0, 0, 0, 1, 1]})
>>> downsample(frame, "label", seed=0)["label"].value_counts().sort_index().tolist()
[2, 2]
>>> upsample(frame, "label", seed=0)["label"].value_counts().sort_index().tolist()
[4, 4]
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from lifelong.clock import utc
from lifelong.config.sampling import Balance, SamplingConfig
from lifelong.errors import ConfigError, DataError
from lifelong.events.batch import EVENT_ID, EVENT_TIME
from lifelong.training.reservoir import ReplayReservoir

WEIGHT = "sample_weight"


def _groups(frame: pd.DataFrame, by: str) -> dict[Any, NDArray[np.intp]]:
    if by not in frame.columns:
        raise DataError(
            f"sampling.by: expected a column of the training rows, got {by!r} (columns {list(frame.columns)})"
        )
    codes, uniques = pd.factorize(frame[by], sort=True, use_na_sentinel=False)
    return {uniques[g]: np.flatnonzero(codes == g) for g in range(len(uniques))}


def downsample(
    frame: pd.DataFrame, by: str, *, per_group: int | None = None, seed: int = 0
) -> pd.DataFrame:
    """At most ``per_group`` rows of each value of ``by`` (default: the smallest group's size).

    Rows are drawn without replacement by a generator seeded with ``seed``; row order is kept.
    """
    if frame.empty:
        return frame
    groups = _groups(frame, by)
    target = per_group if per_group is not None else min(len(rows) for rows in groups.values())
    rng = np.random.default_rng(seed)
    kept = [
        rows if len(rows) <= target else rng.choice(rows, size=target, replace=False)
        for rows in groups.values()
    ]
    return frame.iloc[np.sort(np.concatenate(kept))]


def upsample(
    frame: pd.DataFrame, by: str, *, per_group: int | None = None, seed: int = 0
) -> pd.DataFrame:
    """At least ``per_group`` rows of each value of ``by`` (default: the largest group's size).

    Every row is kept; smaller groups get extra copies drawn with replacement (seeded).
    """
    if frame.empty:
        return frame
    groups = _groups(frame, by)
    target = per_group if per_group is not None else max(len(rows) for rows in groups.values())
    rng = np.random.default_rng(seed)
    extra = [
        rng.choice(rows, size=target - len(rows), replace=True)
        for rows in groups.values()
        if len(rows) < target
    ]
    chosen = np.concatenate([np.arange(len(frame)), *extra]) if extra else np.arange(len(frame))
    return frame.iloc[np.sort(chosen, kind="stable")]


def time_decay_weights(
    times: pd.Series, *, now: datetime, half_life: timedelta
) -> NDArray[np.float64]:
    """``0.5 ** (age / half_life)`` per row (rows from the future weigh 1)."""
    if not isinstance(half_life, timedelta) or half_life <= timedelta(0):
        raise ConfigError(f"sampling.half_life: expected a duration > 0, got {half_life!r}")
    ages = (
        (pd.Timestamp(utc(now)) - pd.to_datetime(times, utc=True))
        .dt.total_seconds()
        .to_numpy(dtype=np.float64)
    )
    return np.asarray(0.5 ** (np.maximum(ages, 0.0) / half_life.total_seconds()), dtype=np.float64)


def sampling_config(training: Any) -> SamplingConfig:
    """``training.sampling`` of a TrainingConfig, or the default (no sampling) when it has none."""
    found = getattr(training, "sampling", None)
    if found is None:
        return SamplingConfig()
    if not isinstance(found, SamplingConfig):
        raise ConfigError(
            f"training.sampling: expected a SamplingConfig, got {type(found).__name__}"
        )
    return found


def prepare_training_frame(
    train: pd.DataFrame,
    training: Any,
    *,
    now: datetime,
    state_dir: Path,
) -> pd.DataFrame:
    """The rows to train on: ``train`` plus replayed older rows, rebalanced, weighted.

    Parameters
    ----------
    train
        The labeled rows the orchestrator selected.
    training
        The spec's ``training`` section (its ``sampling`` field; defaults when absent) or a
        :class:`SamplingConfig`.
    now
        The update's time (age of rows for the weights).
    state_dir
        Where the replay reservoir lives between updates.
    """
    config = training if isinstance(training, SamplingConfig) else sampling_config(training)
    frame = train
    if config.reservoir_size > 0:
        reservoir = ReplayReservoir.open(state_dir, size=config.reservoir_size, seed=config.seed)
        replay = reservoir.rows()
        if len(replay) and EVENT_ID in frame.columns and EVENT_ID in replay.columns:
            replay = replay[~replay[EVENT_ID].isin(frame[EVENT_ID])]
        reservoir.offer(frame)
        reservoir.save()
        if len(replay):
            frame = pd.concat([replay, frame], ignore_index=True)
            if {EVENT_TIME, EVENT_ID} <= set(frame.columns):
                frame = frame.sort_values([EVENT_TIME, EVENT_ID], kind="stable")
    if config.balance == "downsample":
        frame = downsample(frame, config.by, per_group=config.per_group, seed=config.seed)
    elif config.balance == "upsample":
        frame = upsample(frame, config.by, per_group=config.per_group, seed=config.seed)
    frame = frame.reset_index(drop=True)
    if config.half_life is not None:
        if EVENT_TIME not in frame.columns:
            raise DataError(
                f"sampling.half_life: expected an {EVENT_TIME!r} column, got columns {list(frame.columns)}"
            )
        frame = frame.assign(
            **{WEIGHT: time_decay_weights(frame[EVENT_TIME], now=now, half_life=config.half_life)}
        )
    return frame


__all__ = [
    "WEIGHT",
    "Balance",
    "SamplingConfig",
    "downsample",
    "prepare_training_frame",
    "sampling_config",
    "time_decay_weights",
    "upsample",
]
