"""Stateful versus stateless training on Elec2 with daily updates, and CF fold-in versus refit.

Elec2 (``/work/shared/datasets/elec2.csv``, 45,312 half-hours of the NSW electricity market)
is replayed one day (48 rows) at a time. Every variant serves the day with its current model
(prequential accuracy: predicted before the day's labels are learned), then trains on that
day. Features are ``day, period, nswdemand, vicprice, vicdemand, transfer`` (``date`` and
``nswprice`` dropped, as is common practice: the label is derived from ``nswprice``), plus
the point-in-time context features of :mod:`lifelong.experiments.context` that a production
feature pipeline computes at serving time: the last label known before the row (labels land
at their event time, so a row knows the previous half-hour's label) and, per input, its change
since the previous row and its deviation from the mean of the last 50 rows. They are computed
once, streaming one day at a time, and every variant — stateless and stateful — gets the same
matrix (missing values of the very first row set to 0 for all).

- stateless, full history: LightGBM fitted from scratch every day on every row so far;
- stateless, sliding window: the same on the last ``WINDOW_DAYS`` days;
- stateful: the model is updated from its state — LightGBM continued boosting (new trees on
  the day plus a replayed share of the window); XGBoost continued boosting on its live booster
  with a sliding window of rounds (``at_cap="drop_oldest"``: one new round a day on the day
  plus replayed rows, the oldest rounds forgotten past ``XGB_WINDOW_ROUNDS``), replaying rows
  of the window only, or also the product's replay reservoir (``sampling.reservoir_size``, a
  uniform sample of the whole history, through ``prepare_training_frame`` as the loop does:
  ``stateful_xgboost_reservoir``, whose configuration is validated by the product's config
  models and recorded as ``stateful_reservoir_spec``); and River's
  incremental trees (Hoeffding Adaptive Tree, Adaptive Random Forest) as "any other family
  that wins". A stateful variant is fitted from scratch once, on day 0, and only updated after.
- for reference, XGBoost refitted daily on the window with the stateful variant's parameters
  (``stateless_window_xgboost``): how much of the ratio is the family, how much the update.

Training compute is CPU seconds (``time.process_time``) spent inside fit/update only, all
single-threaded; the reservoir's row preparation is measured apart (``prepare_cpu_s``) and
``compute_ratio_with_preparation`` counts it on the stateful side of ``compute_ratio``.
``compute_ratio`` = CPU of the more accurate of the two stateless variants of
the issue (LightGBM, full history or window) / CPU of the stateful variant chosen: the
cheapest one within ``GOAL_POINTS`` of that stateless accuracy, else the most accurate.

Collaborative filtering: a synthetic implicit-feedback matrix (users of one taste cluster
interact with items of that cluster) is factorized with implicit's ALS; a batch of unseen
users is then folded in (``cf_foldin_s``) versus a full refit with them (``cf_refit_s``), with
recall@10 of their held-out interaction under both, and River's FunkMF trained on the same
data for comparison.
"""

from __future__ import annotations

import cProfile
import pstats
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.common import DATASETS
from lifelong.config.sampling import SamplingConfig
from lifelong.events.batch import EVENT_ID, EVENT_TIME
from lifelong.training.sampling import prepare_training_frame

FEATURES = ["day", "period", "nswdemand", "vicprice", "vicdemand", "transfer"]
ROWS_PER_DAY = 48
WINDOW_DAYS = 28
LGB = {
    "num_leaves": 31,
    "learning_rate": 0.1,
    "n_estimators": 100,
    "min_data_in_leaf": 20,
    "num_threads": 1,
    "seed": 0,
}
XGB = {
    "max_depth": 6,
    "learning_rate": 0.1,
    "min_child_weight": 5.0,
    "nthread": 1,
    "seed": 0,
}
XGB_WINDOW_ROUNDS = 30
REPLAY_ROWS = 576
RESERVOIR_ROWS = 1152
RESERVOIR_MAX_BIN = 64
ROW = "row"
GOAL_RATIO = 45.0
GOAL_POINTS = 0.5
CONTEXT_SPAN = 50


def _reservoir_spec() -> dict[str, Any]:
    """The reservoir variant as ``lifelong.yaml`` sections, validated by the config models."""
    from lifelong.config.models import XGBoostConfig
    from lifelong.config.training import TrainingConfig

    training = TrainingConfig(
        mode="stateful",
        window=f"{WINDOW_DAYS}d",  # type: ignore[arg-type]  # parsed by the Duration field
        replay_fraction=REPLAY_ROWS / ROWS_PER_DAY,
        sampling=SamplingConfig(reservoir_size=RESERVOIR_ROWS, seed=0),
    )
    model = XGBoostConfig(
        kind="xgboost",
        **XGB,
        n_estimators=XGB_WINDOW_ROUNDS,
        update_estimators=1,
        max_trees=XGB_WINDOW_ROUNDS,
        at_cap="drop_oldest",
        drop_rounds=3,
        max_bin=RESERVOIR_MAX_BIN,
    )
    return {
        "training": {
            "mode": training.mode,
            "window": f"{WINDOW_DAYS}d",
            "replay_fraction": training.replay_fraction,
            "sampling": {"reservoir_size": training.sampling.reservoir_size, "seed": 0},
        },
        "model": model.model_dump(),
    }


def _events(rows: int) -> pd.DataFrame:
    """The event id, event time and row position of Elec2's first ``rows`` rows."""
    stamps = pd.read_csv(DATASETS / "elec2.csv", usecols=["timestamp"], nrows=rows)
    times = pd.to_datetime(stamps["timestamp"], utc=True)
    return pd.DataFrame(
        {EVENT_ID: [f"e{n:06d}" for n in range(rows)], EVENT_TIME: times, ROW: np.arange(rows)}
    )


def _elec2(
    quick: bool,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any], list[str]]:
    from lifelong.experiments.context import StreamContext

    frame = pd.read_csv(DATASETS / "elec2.csv")
    days = np.arange(len(frame)) // ROWS_PER_DAY
    if quick:
        keep = days < 120
        frame, days = frame[keep].reset_index(drop=True), days[keep]
    frame["event_time"] = pd.to_datetime(frame["timestamp"], utc=True)
    context = StreamContext(
        numeric=tuple(FEATURES[2:]), target="label", classes=(0, 1), span=CONTEXT_SPAN
    )
    parts = [
        context.enrich(frame.iloc[start : start + ROWS_PER_DAY])
        for start in range(0, len(frame), ROWS_PER_DAY)
    ]
    enriched = pd.concat(parts, ignore_index=True)
    numeric, _ = context.columns()
    columns = [*FEATURES, *numeric]
    X = np.nan_to_num(enriched[columns].to_numpy(np.float64), nan=0.0)
    return X, frame["label"].to_numpy(np.int64), days, columns


class _Variant:
    """One way of keeping the model fresh: ``train(model, day)`` returns the next model.

    ``prepare_cpu`` accumulates the CPU seconds ``train`` spends preparing its rows (the replay
    reservoir), reported apart from the fit/update seconds.
    """

    def __init__(
        self,
        name: str,
        kind: str,
        train: Callable[[Any, int], Any],
        prepare_cpu: list[float] | None = None,
    ) -> None:
        self.name, self.kind, self.train = name, kind, train
        self.prepare_cpu = prepare_cpu if prepare_cpu is not None else [0.0]


def _replay(
    variant: _Variant, X: np.ndarray[Any, Any], y: np.ndarray[Any, Any], days: np.ndarray[Any, Any]
) -> dict[str, Any]:
    model: Any = None
    cpu = 0.0
    correct = served = 0
    start = time.perf_counter()
    for day in range(int(days.max()) + 1):
        rows = days == day
        if model is not None:
            correct += int((model.predict(X[rows]) == y[rows]).sum())
            served += int(rows.sum())
        t0 = time.process_time()
        model = variant.train(model, day)
        cpu += time.process_time() - t0
    prepare = variant.prepare_cpu[0]
    return {
        "kind": variant.kind,
        "accuracy": correct / served,
        "train_cpu_s": cpu - prepare,
        "prepare_cpu_s": prepare,
        "wall_s": time.perf_counter() - start,
        "served_rows": served,
        "updates": int(days.max()) + 1,
    }


def _variants(
    X: np.ndarray[Any, Any], y: np.ndarray[Any, Any], days: np.ndarray[Any, Any], *, quick: bool
) -> list[_Variant]:
    from lifelong.learners import LightGBMLearner, XGBoostLearner

    def usable(rows: np.ndarray[Any, Any]) -> bool:
        return len(np.unique(y[rows])) == 2

    events = _events(len(y))

    def day_end(day: int) -> datetime:
        return events[EVENT_TIME].iloc[min((day + 1) * ROWS_PER_DAY, len(y)) - 1].to_pydatetime()

    def stateless(window: int | None) -> Callable[[Any, int], Any]:
        def train(model: Any, day: int) -> Any:
            rows = (days <= day) if window is None else ((days <= day) & (days > day - window))
            return LightGBMLearner(**LGB).fit(X[rows], y[rows]) if usable(rows) else model

        return train

    def stateless_xgboost(model: Any, day: int) -> Any:
        rows = (days <= day) & (days > day - WINDOW_DAYS)
        return XGBoostLearner(**XGB, n_estimators=100).fit(X[rows], y[rows]) if usable(rows) else model

    def continued(
        build: Callable[[], Any],
        replay: int,
        reservoir: int = 0,
        prepare_cpu: list[float] | None = None,
    ) -> Callable[[Any, int], Any]:
        """Fit once on the first usable day, then update on the day plus ``replay`` older rows.

        With ``reservoir`` > 0 the rows go through the product's own training-row preparation
        (:func:`~lifelong.training.sampling.prepare_training_frame` with
        ``sampling.reservoir_size``): the update also replays a uniform sample of every earlier
        day kept by the on-disk replay reservoir, not only rows of the last ``WINDOW_DAYS`` days.
        """
        rng = np.random.default_rng(0)
        sampling = SamplingConfig(reservoir_size=reservoir, seed=0) if reservoir else None
        # where the reservoir lives between updates; removed once the variant is dropped
        state = tempfile.TemporaryDirectory(prefix="lifelong-bench-") if reservoir else None

        def train(model: Any, day: int) -> Any:
            rows = days == day
            if model is None:
                chosen = np.flatnonzero(rows)
            else:
                older = np.flatnonzero((days < day) & (days >= day - WINDOW_DAYS))
                picked = rng.choice(older, size=min(len(older), replay), replace=False)
                chosen = np.concatenate([picked, np.flatnonzero(rows)])
            if sampling is not None and state is not None:  # replay added, the day offered
                t0 = time.process_time()
                frame = prepare_training_frame(
                    events.iloc[np.sort(chosen)],
                    sampling,
                    now=day_end(day),
                    state_dir=Path(state.name),
                )
                chosen = frame[ROW].to_numpy(np.int64)
                if prepare_cpu is not None:
                    prepare_cpu[0] += time.process_time() - t0
            if model is None:
                return build().fit(X[chosen], y[chosen]) if usable(chosen) else None
            return model.update(X[chosen], y[chosen]) if usable(chosen) else model

        return train

    reservoir_cpu = [0.0]
    found = [
        _Variant("stateless_full", "stateless", stateless(None)),
        _Variant("stateless_window", "stateless", stateless(WINDOW_DAYS)),
        _Variant("stateless_window_xgboost", "reference", stateless_xgboost),
        _Variant(
            "stateful_lightgbm",
            "stateful",
            continued(
                lambda: LightGBMLearner(**LGB, update_estimators=2, max_trees=100_000),
                replay=ROWS_PER_DAY,
            ),
        ),
        _Variant(
            "stateful_xgboost_window",
            "stateful",
            continued(
                lambda: XGBoostLearner(
                    **XGB,
                    n_estimators=XGB_WINDOW_ROUNDS,
                    update_estimators=1,
                    max_trees=XGB_WINDOW_ROUNDS,
                    at_cap="drop_oldest",
                    drop_rounds=3,
                ),
                replay=REPLAY_ROWS,
            ),
        ),
        _Variant(
            "stateful_xgboost_reservoir",
            "stateful",
            continued(
                lambda: XGBoostLearner(
                    **{k: v for k, v in _reservoir_spec()["model"].items() if k != "kind"}
                ),
                replay=REPLAY_ROWS,
                reservoir=RESERVOIR_ROWS,
                prepare_cpu=reservoir_cpu,
            ),
            reservoir_cpu,
        ),
    ]
    try:
        from lifelong.learners.river import RiverLearner
    except ImportError:  # the River extra is optional
        return found
    for name, params in (
        ("stateful_river_hat", {"model": "hoeffding_adaptive_tree"}),
        ("stateful_river_arf", {"model": "arf", "n_models": 10}),
    ):
        if quick and name == "stateful_river_arf":
            continue

        def incremental(model: Any, day: int, params: dict[str, Any] = params) -> Any:
            rows = days == day
            learner = model if model is not None else RiverLearner(**params)
            return learner.update(X[rows], y[rows]) if usable(rows) or model is not None else None

        found.append(_Variant(name, "stateful", incremental))
    return found


def _lightgbm_floor(
    X: np.ndarray[Any, Any], y: np.ndarray[Any, Any], days: np.ndarray[Any, Any]
) -> dict[str, Any]:
    """Where the CPU of one LightGBM stateful update goes (cProfile), and how it grows with the model."""
    import lightgbm as lgb

    from lifelong.learners import LightGBMLearner

    window = days < WINDOW_DAYS
    rows = days == WINDOW_DAYS
    by_size: dict[str, float] = {}
    profile = cProfile.Profile()
    for trees in (100, 1000):
        base = LightGBMLearner(
            **{**LGB, "n_estimators": trees, "update_estimators": 1, "max_trees": 100_000}
        )
        base.fit(X[window], y[window])
        samples = []
        for _ in range(10):
            t0 = time.process_time()
            if trees == 1000:
                profile.enable()
            base.update(X[rows], y[rows])
            if trees == 1000:
                profile.disable()
            samples.append(time.process_time() - t0)
        by_size[f"update_ms_at_{trees}_trees"] = 1000 * statistics.median(samples)
    # The same update through lightgbm.train keeping the training booster (no text round trip).
    booster = base.booster
    params = {**base._train_params(), "verbosity": -1}  # the learner's own parameters
    samples = []
    for _ in range(10):
        t0 = time.process_time()
        lgb.train(
            params, lgb.Dataset(X[rows], y[rows]), 1, init_model=booster, keep_training_booster=True
        )
        samples.append(time.process_time() - t0)
    by_size["update_ms_at_1000_trees_keep_booster"] = 1000 * statistics.median(samples)
    entries = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    total = sum(value[2] for value in entries.values()) or 1.0
    top = sorted(entries.items(), key=lambda item: item[1][2], reverse=True)[:6]
    return {
        **by_size,
        "profile_top_tottime": [
            {"function": f"{key[0].rsplit('/', 1)[-1]}:{key[2]}", "share": value[2] / total}
            for key, value in top
        ],
    }


def _cf(quick: bool) -> dict[str, Any]:
    from lifelong.learners.implicit_als import ImplicitALSRecommender
    from lifelong.learners.recommender import Interactions
    from lifelong.learners.river_mf import RiverFunkMFRecommender
    from lifelong.testing.recommender_contracts import cluster_interactions

    n_users, n_items, per_user, new_users = (1500, 300, 8, 150) if quick else (8000, 1500, 20, 400)
    data = cluster_interactions(
        seed=0, n_users=n_users, n_items=n_items, clusters=20, per_user=per_user
    )
    users = data.users
    newcomers = {f"u{n}" for n in range(n_users - new_users, n_users)}
    is_new = np.isin(users, list(newcomers))
    # Hold out each newcomer's last interaction: recall@10 asks whether it is recommended.
    last = {u: i for i, u in enumerate(users.tolist())}
    held = np.zeros(len(users), dtype=bool)
    held[[last[u] for u in sorted(newcomers)]] = True
    base = Interactions(users[~is_new], data.items[~is_new], data.weights[~is_new])
    batch = Interactions(
        users[is_new & ~held], data.items[is_new & ~held], data.weights[is_new & ~held]
    )
    truth = dict(zip(users[held].tolist(), data.items[held].tolist(), strict=True))

    def recall(model: Any) -> float:
        ranked = model.recommend(sorted(truth), k=10)
        return float(
            np.mean(
                [
                    truth[u] in {item for item, _ in r}
                    for u, r in zip(sorted(truth), ranked, strict=True)
                ]
            )
        )

    params = {"factors": 32, "iterations": 15, "refit_every": 0}
    foldin_s, refit_s = [], []
    for _ in range(3):
        model = ImplicitALSRecommender(**params).fit(base)
        t0 = time.perf_counter()
        model.update(batch)
        foldin_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        refit = ImplicitALSRecommender(**params).fit(base.concat(batch))
        refit_s.append(time.perf_counter() - t0)
    river = RiverFunkMFRecommender(n_factors=16, epochs=3)
    t0 = time.perf_counter()
    river.fit(base)
    river_fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    river.update(batch)
    river_update_s = time.perf_counter() - t0
    return {
        "cf_foldin_s": statistics.median(foldin_s),
        "cf_refit_s": statistics.median(refit_s),
        "cf_users": n_users,
        "cf_items": n_items,
        "cf_interactions": len(base) + len(batch),
        "cf_new_users": new_users,
        "cf_batch_interactions": len(batch),
        "cf_recall10_foldin": recall(model),
        "cf_recall10_refit": recall(refit),
        "river_mf_fit_s": river_fit_s,
        "river_mf_update_s": river_update_s,
        "river_mf_recall10": recall(river),
    }


def _xgboost_update_cost(
    X: np.ndarray[Any, Any], y: np.ndarray[Any, Any], days: np.ndarray[Any, Any]
) -> dict[str, float]:
    """CPU ms of one XGBoost update (1 round, a day plus replayed rows): live booster vs a copy.

    ``live`` is the learner's ``update`` (``Booster.update`` in place); ``copy`` is
    ``xgboost.train(..., xgb_model=booster)``, which copies the whole model into a new booster
    on every call (the learner's former update path).
    """
    import xgboost as xgb

    from lifelong.learners import XGBoostLearner

    window = days < WINDOW_DAYS
    rows = (days >= WINDOW_DAYS) & (days < WINDOW_DAYS + 3)
    out: dict[str, float] = {}
    for rounds in (XGB_WINDOW_ROUNDS, 1000):
        learner = XGBoostLearner(
            **XGB, n_estimators=rounds, update_estimators=1, max_trees=100_000
        ).fit(X[window], y[window])
        params = learner._train_params(2)  # the learner's own parameters
        live, copy = [], []
        for _ in range(15):
            t0 = time.process_time()
            learner.update(X[rows], y[rows])
            live.append(time.process_time() - t0)
            t0 = time.process_time()
            xgb.train(
                params, xgb.DMatrix(X[rows], label=y[rows], nthread=1), 1, xgb_model=learner.booster
            )
            copy.append(time.process_time() - t0)
        out[f"live_ms_at_{rounds}_rounds"] = 1000 * statistics.median(live)
        out[f"copy_ms_at_{rounds}_rounds"] = 1000 * statistics.median(copy)
    return out


def run(quick: bool = False) -> dict[str, Any]:
    X, y, days, columns = _elec2(quick)
    variants = {
        variant.name: _replay(variant, X, y, days) for variant in _variants(X, y, days, quick=quick)
    }
    stateless = max(
        (v for v in variants.items() if v[1]["kind"] == "stateless"),
        key=lambda item: item[1]["accuracy"],
    )
    candidates = [v for v in variants.items() if v[1]["kind"] == "stateful"]
    close = [
        v for v in candidates if 100 * (stateless[1]["accuracy"] - v[1]["accuracy"]) <= GOAL_POINTS
    ]
    stateful = (
        min(close, key=lambda item: item[1]["train_cpu_s"])
        if close
        else max(candidates, key=lambda item: item[1]["accuracy"])
    )
    ratio = stateless[1]["train_cpu_s"] / max(stateful[1]["train_cpu_s"], 1e-9)
    # the same ratio with the stateful side's row preparation (the replay reservoir) counted too
    ratio_prepared = stateless[1]["train_cpu_s"] / max(
        stateful[1]["train_cpu_s"] + stateful[1].get("prepare_cpu_s", 0.0), 1e-9
    )
    gap_points = 100 * (stateless[1]["accuracy"] - stateful[1]["accuracy"])
    cheapest = {
        name: {
            "ratio": stateless[1]["train_cpu_s"] / max(v["train_cpu_s"], 1e-9),
            "points_below": 100 * (stateless[1]["accuracy"] - v["accuracy"]),
        }
        for name, v in variants.items()
        if v["kind"] == "stateful"
    }
    return {
        "quick": quick,
        "days": int(days.max()) + 1,
        "rows": len(y),
        "window_days": WINDOW_DAYS,
        "features": columns,
        "replay_rows": REPLAY_ROWS,
        "reservoir_rows": RESERVOIR_ROWS,
        "xgboost_window_rounds": XGB_WINDOW_ROUNDS,
        "stateful_reservoir_spec": _reservoir_spec(),
        "variants": variants,
        "stateful_choice": stateful[0],
        "stateless_choice": stateless[0],
        "accuracy_stateful": stateful[1]["accuracy"],
        "accuracy_stateless_full": variants["stateless_full"]["accuracy"],
        "accuracy_stateless_window": variants["stateless_window"]["accuracy"],
        "compute_ratio": ratio,
        "compute_ratio_with_preparation": ratio_prepared,
        "accuracy_gap_points": gap_points,
        "stateful_tradeoffs": cheapest,
        "goal_met": ratio >= GOAL_RATIO and gap_points <= GOAL_POINTS,
        "lightgbm_update_cost": _lightgbm_floor(X, y, days),
        "xgboost_update_cost": _xgboost_update_cost(X, y, days),
        **_cf(quick),
    }


def _per_update_ms(row: dict[str, Any]) -> float:
    return 1000 * row["train_cpu_s"] / max(row["updates"], 1)


def _profile_notes(result: dict[str, Any]) -> list[str]:
    """Where a stateful update's CPU goes, from the measured update costs and the profile."""
    lines: list[str] = []
    xgb_cost = result.get("xgboost_update_cost")
    if xgb_cost:
        lines += [
            "",
            (
                "Where the update time goes (profiled). XGBoost: one update (1 round on 144 rows) on "
                f"the live booster costs {xgb_cost[f'live_ms_at_{XGB_WINDOW_ROUNDS}_rounds']:.2f} ms "
                f"at {XGB_WINDOW_ROUNDS} rounds and {xgb_cost['live_ms_at_1000_rounds']:.2f} ms at "
                "1000; through xgboost.train(xgb_model=booster), the learner's former update path, "
                f"which copies the whole model on every call, {xgb_cost[f'copy_ms_at_{XGB_WINDOW_ROUNDS}_rounds']:.2f} ms "
                f"and {xgb_cost['copy_ms_at_1000_rounds']:.2f} ms. What is left grows with the model "
                "only through one prediction of the held trees on the new rows, and the sliding "
                f"window (`at_cap=\"drop_oldest\"`, {XGB_WINDOW_ROUNDS} rounds) bounds it."
            ),
        ]
    floor = result["lightgbm_update_cost"]
    shares = ", ".join(
        f"{entry['function']} {entry['share']:.0%}" for entry in floor["profile_top_tottime"][:4]
    )
    lines += [
        "",
        (
            "LightGBM: one continued-boosting update (1 new tree, 48 rows) costs "
            f"{floor['update_ms_at_100_trees']:.1f} ms on a 100-tree model and "
            f"{floor['update_ms_at_1000_trees']:.1f} ms on a 1000-tree one (by own time: {shares}). "
            "The learner already keeps the training booster (no text round trip), but "
            "lightgbm.train() still predicts the whole init model on the new rows, builds a new "
            "booster and copies every tree into it (LGBM_BoosterMerge), then frees the old one: an "
            "update costs in proportion to the model it continues, and a stateful model without a "
            "cap only grows."
        ),
    ]
    return lines


def _reservoir_notes(result: dict[str, Any]) -> list[str]:
    """The reservoir variant's product configuration, and its row preparation's cost."""
    spec = result.get("stateful_reservoir_spec")
    row = result["variants"].get("stateful_xgboost_reservoir")
    if not spec or not row:
        return []
    training, model = spec["training"], spec["model"]
    window = result["variants"].get("stateful_xgboost_window")
    versus = (
        f" (stateful_xgboost_window, the same without the reservoir: {window['accuracy']:.4f})"
        if window
        else ""
    )
    with_prep = result["variants"]["stateful_xgboost_reservoir"]
    stateless = result["variants"][result["stateless_choice"]]
    spent = with_prep["train_cpu_s"] + with_prep["prepare_cpu_s"]
    ratio_prep = stateless["train_cpu_s"] / max(spent, 1e-9)
    return [
        "",
        (
            "stateful_xgboost_reservoir is a product configuration: `training:` mode "
            f"{training['mode']}, window {training['window']}, replay_fraction "
            f"{training['replay_fraction']:g}, sampling.reservoir_size "
            f"{training['sampling']['reservoir_size']}; `model:` xgboost, n_estimators "
            f"{model['n_estimators']}, update_estimators {model['update_estimators']}, max_trees "
            f"{model['max_trees']}, at_cap {model['at_cap']}, drop_rounds {model['drop_rounds']}, "
            f"max_depth {model['max_depth']}, min_child_weight {model['min_child_weight']:g}, "
            f"max_bin {model['max_bin']}. It reaches {row['accuracy']:.4f}{versus}: the reservoir "
            "keeps a sample of the older regimes in every update, which a replay of the last "
            "window alone cannot. Its row "
            "preparation (the reservoir read from and written back to its Parquet file on every "
            f"update, as the loop does) took {row['prepare_cpu_s']:.2f} CPU s beside "
            f"{row['train_cpu_s']:.2f} s of training; counted on the stateful side, its ratio is "
            f"{ratio_prep:.1f}x (the stateless side's reading of the whole history for every "
            "refit is not counted either)."
        ),
    ]


def _reason(result: dict[str, Any]) -> list[str]:
    """Why the goal is missed, from the measured numbers."""
    chosen = result["variants"][result["stateless_choice"]]
    stateful = result["variants"][result["stateful_choice"]]
    per_day_ms = _per_update_ms(chosen)
    text = (
        f"Why it is missed: the better stateless variant ({result['stateless_choice']}) reaches "
        f"{chosen['accuracy']:.4f} for {per_day_ms:.1f} ms of CPU per daily refit, so the goal asks "
        f"for a stateful variant at or above {chosen['accuracy'] - GOAL_POINTS / 100:.4f} spending "
        f"at most {per_day_ms / GOAL_RATIO:.2f} ms per update. "
    )
    if result["compute_ratio"] >= GOAL_RATIO:
        text += (
            f"The compute side is met ({result['stateful_choice']}: {_per_update_ms(stateful):.2f} ms "
            f"per update), the accuracy side is not: the most accurate stateful variant is "
            f"{result['accuracy_gap_points']:.2f} points below. The full history is what wins: "
            "the refit on the last "
            f"{result['window_days']} days (stateless_window) is itself "
            f"{100 * (chosen['accuracy'] - result['accuracy_stateless_window']):.2f} points below "
            "the full-history refit; the stateful updates learn from the day plus rows "
            "replayed from that same window (and, with the reservoir, a sample of the older days)."
        )
    else:
        text += (
            f"{result['stateful_choice']} spends {_per_update_ms(stateful):.2f} ms per update: an "
            "update is a fixed cost per training call (building the training matrix, one "
            "prediction of the held trees, one new tree), not a cost per new row (see the "
            "profile above)."
        )
    return ["", text]


def describe(result: dict[str, Any]) -> str:
    v = result["variants"]
    lines = [
        "## stateful",
        "",
        (
            f"Elec2 replayed one day at a time ({result['days']} days, {result['rows']} rows, "
            f"quick={result['quick']}): each variant serves the day, then trains on it. Accuracy is "
            "prequential (served before the labels are learned); compute is single-threaded CPU "
            "seconds inside fit/update. Every variant gets the same "
            f"{len(result.get('features', FEATURES))} features: the six Elec2 inputs and the "
            "point-in-time context features a serving pipeline computes (last label known before "
            "the row, change since the previous row, deviation from the last 50 rows). Stateful "
            "variants are fitted once on day 0, then updated daily on the day plus "
            f"{result.get('replay_rows', REPLAY_ROWS)} rows replayed from the last "
            f"{result['window_days']} days; stateful_xgboost_reservoir also replays the product's "
            f"replay reservoir ({result.get('reservoir_rows', RESERVOIR_ROWS)} rows, a uniform "
            "sample of every earlier day) through the product's own row preparation. The "
            "stateless variants keep the issue's LightGBM settings; the XGBoost settings (depth, "
            "minimum child weight, a 30-round window, replayed rows, reservoir size, 64 bins) were "
            "chosen among a handful tried on this same stream."
        ),
        "",
        "| variant | kind | served accuracy | training CPU s | ms per update "
        "| row preparation CPU s |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in v.items():
        prepared = row.get("prepare_cpu_s", 0.0)
        lines.append(
            f"| {name} | {row['kind']} | {row['accuracy']:.4f} | {row['train_cpu_s']:.2f} | "
            f"{_per_update_ms(row):.2f} | {f'{prepared:.2f}' if prepared else '-'} |"
        )
    goal = "met" if result["goal_met"] else "**missed**"
    lines += [
        "",
        (
            f"Better stateless variant: {result['stateless_choice']}. Stateful variant compared: "
            f"{result['stateful_choice']} (the cheapest within {GOAL_POINTS} points of it, else the "
            f"most accurate). compute_ratio = {result['compute_ratio']:.1f}x with "
            f"{result['accuracy_gap_points']:+.2f} points of accuracy below it (negative: above; goal: at least "
            f"{GOAL_RATIO:.0f}x with at most {GOAL_POINTS} points less): {goal}."
        ),
    ]
    for name, trade in result["stateful_tradeoffs"].items():
        lines.append(
            f"- {name}: {trade['ratio']:.1f}x less compute, {trade['points_below']:+.2f} points below "
            "the better stateless variant."
        )
    lines += _reservoir_notes(result)
    reference = v.get("stateless_window_xgboost")
    xgb_window = v.get("stateful_xgboost_window")
    if reference and xgb_window:
        lines += [
            "",
            (
                "Same family, like for like: XGBoost refitted daily on the window (100 rounds, the "
                f"stateful variant's tree parameters) reaches {reference['accuracy']:.4f} for "
                f"{reference['train_cpu_s']:.2f} CPU s, "
                f"{reference['train_cpu_s'] / max(xgb_window['train_cpu_s'], 1e-9):.1f}x the "
                "stateful XGBoost variant's compute."
            ),
        ]
    lines += _profile_notes(result)
    if not result["goal_met"]:
        lines += _reason(result)
    lines += [
        "",
        (
            "CPU seconds are measured on a shared machine; both sides of every ratio come from "
            "the same run."
        ),
        "",
        (
            f"Collaborative filtering (implicit ALS, 32 factors, 15 iterations, 1 thread) on a synthetic "
            f"matrix of {result['cf_users']} users × {result['cf_items']} items "
            f"({result['cf_interactions']} interactions, 20 taste clusters): folding in "
            f"{result['cf_new_users']} new users ({result['cf_batch_interactions']} interactions) took "
            f"cf_foldin_s = {result['cf_foldin_s']:.4f} s against cf_refit_s = {result['cf_refit_s']:.3f} s "
            f"for a full refit ({result['cf_refit_s'] / max(result['cf_foldin_s'], 1e-9):.0f}x); "
            f"recall@10 of the new users' held-out item: {result['cf_recall10_foldin']:.3f} folded in, "
            f"{result['cf_recall10_refit']:.3f} refitted. River FunkMF on the same data: fit "
            f"{result['river_mf_fit_s']:.2f} s, update {result['river_mf_update_s']:.3f} s, recall@10 "
            f"{result['river_mf_recall10']:.3f}."
        ),
    ]
    return "\n".join(lines) + "\n"
