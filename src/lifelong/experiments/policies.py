"""Update policies a simulation compares, each a pipeline spec over the same stream.

Every policy trains the same LightGBM model on the same features (the stream's inputs and
its point-in-time context, :mod:`lifelong.experiments.context`; ``default`` adds linear
challengers) and differs in *when* it updates, *how* (from scratch or from the champion) and
*on what window*:

========================  ===========================================================
``static``                trained once, as soon as enough labeled rows exist; never again
``stateless-daily``       retrained from scratch every day (data time) on its window
``stateless-weekly``      the same every week
``stateful-hourly``       the champion updated (continued boosting) every hour
``stateful-daily``        the same every day
``stateless-periodic``    retrained from scratch every 2,000 labeled rows on the last 5,000
``triggered``             updated when the served error rises significantly (performance
                          trigger: one-sided Welch test at 5% on the last 500 rows against the
                          champion's held-out error), and at least every 5,000 rows; stateful
``default``               every few hundred labeled rows (volume trigger), LightGBM
                          challengers retrained from scratch on windows of 625 (63 bins per
                          input), 2,500 and 10,000 rows (the two longer ones in turn, each
                          scored again in between) and logistic regressions on the stream's
                          own inputs over 625 and 2,500 rows, all scored on the same held-out
                          rows; the best is promoted when gated in
========================  ===========================================================

Windows are measured in rows and turned into data time with the stream's mean spacing, so
the same names work for a stream with one row a minute and one with a row a day; a
time-based window is the longer of its nominal duration and its row floor.

The ``default`` policy's sizes follow the stream's length: an update every ``rows / 25``
labeled rows (between 250 and 500) and a held-out window of the 200 most recent rows; the best
challenger (on equal accuracy, the one with the lower log loss) is promoted when its accuracy
on the held-out rows is within 0.01 of the champion's. Why that cadence: a short stream needs
enough updates to follow it (the first 3,000 rows of Elec2: served accuracy 0.752 updating
every 250 rows, 0.723 every 500, no better than a static model), while more than 500 rows
between updates lost accuracy (every 1,000 rows: Elec2 0.8880 against 0.8891 at 500, SEA 0.8802
against 0.8843) and fewer than 500 bought nothing on a stream of 18,159 rows (Weather 0.8048
every 250 rows, 0.8051 every 500, for twice the training). Why several windows: no single
window suits every stream or every moment of one. Right after an abrupt change only a short
window has forgotten the old concept; while a noisy concept holds, a long window averages the
noise out; under gradual drift the middle one wins. Scoring windows a factor of four apart on
the same recent rows lets the loop pick the memory the stream needs at each update, with no
per-stream setting. A window moves by a few hundred rows between updates, a small share of the
two longer ones: they are refit in turn, one at each update, and the latest version of the
other competes beside them (on the benchmark streams, against refitting the 2,500-row window at
every update: Elec2 0.8894 against 0.8890, SEA 0.8845 against 0.8843, Weather and SEA with
abrupt drift unchanged, Agrawal under gradual drift 0.9186 against 0.9210, for about a fifth
less fitting). Why linear models: where the concept is a linear boundary on the raw inputs
(SEA), trees approximate it in steps and the context features are noise; a logistic regression
on the inputs alone learns it from a few hundred rows, and the one on the short window has the
new boundary soon after an abrupt change. Challengers on the same window share its snapshot.
Why 63 bins on the short window: with LightGBM's 255, a bin of 625 rows holds two or three of
them, and a split between two bins rests on a handful of rows; fewer, fuller bins are
LightGBM's own advice against over-fitting. On the benchmark streams it moved served accuracy
between -0.16 (Elec2) and +0.14 points (Agrawal under gradual drift), and the short trees fit
in about 60% of the time. Each retrain stays cheap (50 trees of 15 leaves on at most 10,000
rows; a linear model in milliseconds).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from lifelong.config import PipelineConfig, parse_config
from lifelong.errors import ConfigError
from lifelong.experiments.context import StreamContext
from lifelong.experiments.profile import StreamProfile


@dataclass(frozen=True)
class Challenger:
    """One challenger of a policy: its window in rows, how often it is refit, and its model."""

    name: str
    rows: int
    every: int = 1
    offset: int = 0  # refit at the updates k with k % every == offset (and the first)
    linear: bool = False  # a logistic regression on the stream's own inputs (no context features)
    max_bin: int | None = None  # the policy's LightGBM with fewer bins per input (None: its own 255)


def linear_model(classes: int) -> dict[str, Any]:
    """A logistic regression: liblinear for two classes, multinomial L-BFGS for more."""
    params: dict[str, Any] = {"solver": "liblinear"} if classes <= 2 else {"solver": "lbfgs", "max_iter": 500}
    return {"kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression", "params": params}


@dataclass(frozen=True)
class Policy:
    """When, how and on what a policy updates (see the module docstring).

    Examples
    --------
    >>> POLICIES["default"].mode, POLICIES["default"].trigger
    ('stateless', 'volume')
    >>> update_rows(3_000), update_rows(18_159), update_rows(45_312)
    (250, 500, 500)
    """

    mode: Literal["stateless", "stateful"]
    trigger: Literal["interval", "volume", "performance", "once"]
    every: timedelta = timedelta(days=1)
    window_rows: int = 2_500
    window: timedelta = timedelta(0)
    every_rows: int | None = None
    challengers: tuple[Challenger, ...] = ()


POLICIES: Mapping[str, Policy] = {
    "static": Policy("stateless", "once", window_rows=5_000),
    "stateless-daily": Policy("stateless", "interval", timedelta(days=1), window_rows=2_500, window=timedelta(days=30)),
    "stateless-weekly": Policy("stateless", "interval", timedelta(days=7), window_rows=2_500, window=timedelta(days=30)),
    "stateful-hourly": Policy("stateful", "interval", timedelta(hours=1), window_rows=2_500, window=timedelta(days=30)),
    "stateful-daily": Policy("stateful", "interval", timedelta(days=1), window_rows=2_500, window=timedelta(days=30)),
    "triggered": Policy("stateful", "performance", window_rows=2_500),
    "stateless-periodic": Policy("stateless", "volume", window_rows=5_000, every_rows=2_000),
    "default": Policy(
        "stateless",
        "volume",
        window_rows=10_000,
        challengers=(
            Challenger("short", 625, max_bin=63),
            Challenger("medium", 2_500, every=2, offset=1),
            Challenger("long", 10_000, every=2),
            Challenger("linear", 2_500, linear=True),
            Challenger("linear-short", 625, linear=True),
        ),
    ),
}
HOLDOUT_ROWS = 200
MIN_ROWS = 100


def update_rows(rows: int) -> int:
    """Labeled rows between two updates of the ``default`` policy on a stream of ``rows`` rows."""
    return max(250, min(500, rows // 25))


def _rows_time(profile: StreamProfile, rows: int) -> timedelta:
    """How long ``rows`` rows take at the stream's mean spacing (whole seconds, at least one)."""
    return timedelta(seconds=max(1, round(profile.spacing.total_seconds() * rows)))


def _triggers(profile: StreamProfile, plan: Policy) -> list[dict[str, Any]]:
    if plan.trigger == "interval":
        return [{"kind": "interval", "every": plan.every}]
    if plan.trigger == "once":  # a first training as soon as possible, then a century of nothing
        return [{"kind": "volume", "growth": 1e9, "min_rows": MIN_ROWS + HOLDOUT_ROWS}]
    if plan.trigger == "performance":
        window = _rows_time(profile, 500)
        return [
            {"kind": "performance", "window": window, "loss": "error", "alpha": 0.05, "min_rows": 200, "lookback": 1},
            {"kind": "volume", "growth": 1e9, "min_rows": MIN_ROWS + HOLDOUT_ROWS},  # the first version
            {"kind": "volume", "growth": 1e-9, "min_rows": 5_000},  # a safety net: at least every 5,000 rows
        ]
    rows = plan.every_rows if plan.every_rows is not None else update_rows(profile.rows)
    return [{"kind": "volume", "growth": 1e-9, "min_rows": rows}]


def _challenger(profile: StreamProfile, challenger: Challenger, model: Mapping[str, Any]) -> dict[str, Any]:
    """The evaluation spec of one challenger; ``model`` is the policy's own (LightGBM) model."""
    spec: dict[str, Any] = {
        "name": challenger.name,
        "window": _rows_time(profile, challenger.rows),
        "every": challenger.every,
        "offset": challenger.offset,
    }
    if challenger.linear:
        spec.update(model=linear_model(len(profile.classes)), features=[*profile.numeric, *profile.categorical])
    elif challenger.max_bin is not None:
        spec.update(model={**model, "max_bin": challenger.max_bin})
    return spec


def policy_config(
    profile: StreamProfile,
    policy: str,
    *,
    home: Path,
    context: StreamContext | None = None,
    label_delay: timedelta = timedelta(0),
    batch_size: int = 250,
) -> PipelineConfig:
    """The pipeline spec of ``policy`` on ``profile``'s stream (with ``context``'s features, if given)."""
    if policy not in POLICIES:
        raise ConfigError(f"--policy: expected one of {sorted(POLICIES)}, got {policy!r}")
    plan = POLICIES[policy]
    window = max(plan.window, _rows_time(profile, plan.window_rows))
    holdout = _rows_time(profile, HOLDOUT_ROWS)
    numeric = list(profile.numeric)
    categorical = {name: list(values) for name, values in profile.categorical.items()}
    if context is not None:
        extra_numeric, extra_categorical = context.columns()
        numeric += list(extra_numeric)
        categorical.update({name: list(values) for name, values in extra_categorical.items()})
    objective = "binary" if len(profile.classes) == 2 else "multiclass"
    model: dict[str, Any] = {
        "kind": "lightgbm",
        "objective": objective,
        "n_estimators": 50,
        "update_estimators": 10,
        "max_trees": 300,
        "num_leaves": 15,
        "learning_rate": 0.1,
    }
    raw: dict[str, Any] = {
        "name": "stream",
        "home": str(home),
        "source": {"kind": "file", "path": str(profile.path), "timestamp": profile.timestamp, "batch_size": batch_size},
        "schema": {
            "fields": {
                **{name: {"type": "float", "required": False} for name in profile.numeric},
                **{name: {"type": "str", "required": False} for name in profile.categorical},
            },
            "max_future": None,
        },
        "labels": {"kind": "column", "column": profile.target, "delay": label_delay},
        "features": {"kind": "tabular", "numeric": numeric, "categorical": categorical, "missing": "impute", "unseen": "ignore"},
        "model": model,
        "training": {
            "mode": plan.mode,
            "window": window,
            "holdout": holdout,
            "min_rows": MIN_ROWS,
            "forgetting": {"windows": 0},
        },
        "evaluation": {
            "metric": "accuracy",
            "gates": [{"kind": "min_rows", "rows": 30}, {"kind": "not_worse", "tolerance": 0.01}],
            "challengers": [_challenger(profile, challenger, model) for challenger in plan.challengers],
        },
        "deployment": {"kind": "direct"},
        "triggers": {"triggers": _triggers(profile, plan)},
    }
    return parse_config(raw, origin=f"policy {policy}")


__all__ = ["HOLDOUT_ROWS", "POLICIES", "Challenger", "Policy", "policy_config", "update_rows"]
