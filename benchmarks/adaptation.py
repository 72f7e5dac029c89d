"""Headline adaptation benchmark: served prequential accuracy and throughput on drifting streams.

Streams: Elec2, SEA and Weather from ``/work/shared/datasets`` (Elec2 without ``date`` and
``nswprice``, as is common practice: the label is derived from ``nswprice``), plus two River
synthetic streams generated here with a fixed seed: Agrawal with gradual drift (functions
0 → 2 → 5 → 7, each change spread over a tenth of the stream) and SEA with abrupt drift
(variants 0 → 1 → 2 → 3, 10% label noise).

lifelong runs through ``lifelong simulate`` (:func:`lifelong.experiments.simulate_policy`): the
file source, the event store, the orchestrator with its triggers, gates and registry, and the
prediction service answering every batch with the champion before the batch's labels are
stored. Its policies: ``default``; ``static`` (trained once); ``stateless-periodic`` (retrained
from scratch every 2,000 rows on the last 5,000). All of them see the point-in-time context
features of :mod:`lifelong.experiments.context` (last label known at serving time, recent input
changes); the label delay is 0, so the last known label is the previous row's.

Peers, test-then-train one row at a time (River's ``predict_one`` then ``learn_one``, the loop
of ``evaluate.progressive_val_score``), on the stream's raw inputs: Adaptive Random Forest,
Hoeffding Adaptive Tree, Leveraging Bagging (of Hoeffding trees), and the "repeat the last label"
baseline; and ARF again with the same context features lifelong gets (``arf+context``), to show
how much of lifelong's lead is the features rather than the policy.

Every contender is timed the same way in the same run: wall seconds (``perf_counter``) and
CPU seconds of the process (``process_time``); lifelong's include everything (reading, storing,
serving, training, registering, gating). This machine is shared, so wall throughput is noisy;
the throughput goal (lifelong's default policy at >= 5x ARF) is judged on samples per CPU
second, and wall numbers are reported beside it.
"""

from __future__ import annotations

import itertools
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.common import DATASETS

POLICIES = ("default", "static", "stateless-periodic")
PEERS = ("arf", "hat", "levbag", "last_label", "arf+context")
GOAL_RATIO = 5.0
SYNTHETIC_ROWS = 40_000


def _agrawal_gradual(rows: int, seed: int = 7) -> pd.DataFrame:
    from river.datasets import synth

    def drifting(functions: list[int], offset: int) -> Any:
        if len(functions) == 1:
            return synth.Agrawal(functions[0], seed=seed + offset)
        return synth.ConceptDriftStream(
            synth.Agrawal(functions[0], seed=seed + offset),
            drifting(functions[1:], offset + 1),
            position=rows // 4,
            width=rows // 10,
            seed=seed,
        )

    records = [{**x, "label": int(y)} for x, y in itertools.islice(drifting([0, 2, 5, 7], 0), rows)]
    return pd.DataFrame(records)


def _sea_abrupt(rows: int, seed: int = 7) -> pd.DataFrame:
    from river.datasets import synth

    parts = [itertools.islice(synth.SEA(variant, noise=0.1, seed=seed + variant), rows // 4) for variant in range(4)]
    records = [{**{f"x{k}": v for k, v in x.items()}, "label": int(y)} for x, y in itertools.chain(*parts)]
    return pd.DataFrame(records)


def _streams(folder: Path, quick: bool) -> Iterator[tuple[str, Path, tuple[str, ...]]]:
    """(name, csv path, columns to drop) for each stream; the synthetic ones are written to ``folder``."""
    limit = 5_000 if quick else None
    shared = {"elec2": ("date", "nswprice"), "sea": (), "weather": ()}
    for name, drop in shared.items():
        path = DATASETS / f"{name}.csv"
        if limit is not None:
            small = folder / f"{name}.csv"
            pd.read_csv(path, nrows=limit).to_csv(small, index=False)
            path = small
        yield name, path, drop
    rows = limit or SYNTHETIC_ROWS
    for name, frame in (("agrawal_gradual", _agrawal_gradual(rows)), ("sea_abrupt", _sea_abrupt(rows))):
        frame.insert(0, "timestamp", pd.date_range("2024-01-01", periods=len(frame), freq="min").strftime("%Y-%m-%dT%H:%M:%S"))
        path = folder / f"{name}.csv"
        frame.to_csv(path, index=False)
        yield name, path, ()


def _river_model(name: str) -> Any:
    from river import ensemble, forest, tree

    if name in ("arf", "arf+context"):
        return forest.ARFClassifier(seed=1)
    if name == "hat":
        return tree.HoeffdingAdaptiveTreeClassifier(seed=1)
    return ensemble.LeveragingBaggingClassifier(tree.HoeffdingTreeClassifier(), seed=1)


def _context_frame(profile: Any) -> pd.DataFrame:
    """The inputs with lifelong's context features, computed the same streaming way (in batches)."""
    from lifelong.experiments.context import StreamContext

    frame = pd.read_csv(profile.path)
    frame["event_time"] = pd.to_datetime(frame[profile.timestamp], utc=True, format="mixed")
    context = StreamContext(numeric=profile.numeric, target=profile.target, classes=profile.classes)
    parts = [context.enrich(frame.iloc[start : start + 250]) for start in range(0, len(frame), 250)]
    enriched = pd.concat(parts, ignore_index=True)
    numeric, categorical = context.columns()
    return enriched[[*profile.numeric, *profile.categorical, *numeric, *categorical]]


def _peer(name: str, profile: Any) -> dict[str, Any]:
    frame = pd.read_csv(profile.path)
    y = frame[profile.target].tolist()
    if name == "last_label":
        start, cpu = time.perf_counter(), time.process_time()
        previous, correct = None, 0
        for label in y:
            correct += int(label == previous)
            previous = label
        return _timed(correct, len(y), start, cpu)
    inputs = _context_frame(profile) if name == "arf+context" else frame[[*profile.numeric, *profile.categorical]]
    records = [{k: v for k, v in row.items() if not (isinstance(v, float) and np.isnan(v))} for row in inputs.to_dict("records")]
    model = _river_model(name)
    start, cpu = time.perf_counter(), time.process_time()
    correct = 0
    for x, label in zip(records, y, strict=True):  # test, then train
        correct += int(model.predict_one(x) == label)
        model.learn_one(x, label)
    return _timed(correct, len(y), start, cpu)


def _timed(correct: int, rows: int, start: float, cpu: float) -> dict[str, Any]:
    wall, used = time.perf_counter() - start, time.process_time() - cpu
    return {
        "accuracy": round(correct / rows, 6),
        "samples_per_s": round(rows / wall, 1),
        "samples_per_cpu_s": round(rows / used, 1) if used > 0 else None,
        "cpu_s": round(used, 2),
    }


def _lifelong(profile: Any, policy: str) -> dict[str, Any]:
    import skops.io  # noqa: F401  # a one-time import (skops walks every installed estimator), outside the run as River's is
    from lifelong.experiments import simulate_policy

    result = simulate_policy(profile, policy).to_dict()
    keep = ("accuracy", "samples_per_s", "samples_per_cpu_s", "cpu_s", "train_cpu_s", "versions", "promotions")
    return {key: result[key] for key in keep}


def run(quick: bool) -> dict[str, Any]:
    from lifelong.experiments import profile_stream

    streams: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="lifelong-adaptation-") as tmp:
        for name, path, drop in _streams(Path(tmp), quick):
            profile = profile_stream(path, timestamp="timestamp", target="label", drop=drop)
            print(f"-- {name}: {profile.rows} rows", flush=True)
            policies = {policy: _lifelong(profile, policy) for policy in POLICIES}
            peers: dict[str, Any] = {}
            for peer in PEERS:
                peers[peer] = _peer(peer, profile)
                print(f"   {peer}: {peers[peer]}", flush=True)
            for policy in POLICIES[1:]:
                peers[f"lifelong-{policy}"] = policies[policy]
            print(f"   lifelong: {policies}", flush=True)
            streams[name] = {"rows": profile.rows, "lifelong": policies["default"], "peers": peers}
    return {"quick": quick, "streams": streams, "goal_ratio": GOAL_RATIO}


def _verdict(stream: dict[str, Any]) -> tuple[list[str], float | None]:
    ours = stream["lifelong"]
    mine = round(ours["accuracy"], 4)  # a lead under 0.0001 is a tie
    beaten_by = [peer for peer, row in stream["peers"].items() if round(row["accuracy"], 4) >= mine]
    arf = stream["peers"].get("arf", {}).get("samples_per_cpu_s")
    ratio = ours["samples_per_cpu_s"] / arf if arf and ours.get("samples_per_cpu_s") else None
    return beaten_by, ratio


def describe(result: dict[str, Any]) -> str:
    lines = [
        "## adaptation",
        "",
        "Served prequential accuracy (each row predicted by the model serving at that moment, before its label",
        "is learned) and throughput, one run, same machine. lifelong runs the full loop (`lifelong simulate`:",
        "source, event store, orchestrator, registry, gates, prediction service); River peers test-then-train",
        "row by row. Throughput is rows per CPU second (rows per wall second in brackets; the machine is shared).",
        "",
        "| stream | rows | lifelong default | best peer | ARF | HAT | LevBag | last label | ARF+context | x ARF (CPU) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    misses: list[str] = []
    for name, stream in result["streams"].items():
        ours, peers = stream["lifelong"], stream["peers"]
        best = max(peers, key=lambda peer: peers[peer]["accuracy"])
        beaten_by, ratio = _verdict(stream)
        cell = lambda row: f"{row['accuracy']:.4f} ({row['samples_per_cpu_s']:.0f}/cpu-s, {row['samples_per_s']:.0f}/s)"  # noqa: E731
        lines.append(
            f"| {name} | {stream['rows']} | {cell(ours)} | {best} {peers[best]['accuracy']:.4f} | {cell(peers['arf'])} | "
            f"{cell(peers['hat'])} | {cell(peers['levbag'])} | {peers['last_label']['accuracy']:.4f} | "
            f"{peers['arf+context']['accuracy']:.4f} | {ratio:.1f} |" if ratio is not None else f"| {name} | n/a |"
        )
        if beaten_by:
            misses.append(f"{name}: behind or tied with {', '.join(beaten_by)} on accuracy")
        if ratio is not None and ratio < result.get("goal_ratio", GOAL_RATIO):
            misses.append(f"{name}: {ratio:.1f}x ARF's CPU throughput (goal {result.get('goal_ratio', GOAL_RATIO):.0f}x)")
    lines += ["", "Other lifelong policies (static, stateless-periodic) are listed among the peers in the JSON.", ""]
    if result.get("note"):
        lines += [f"Note: {result['note']}.", ""]
    if misses:
        lines += ["Goals missed:", "", *[f"- {miss}" for miss in misses], ""]
    else:
        lines += ["Goals met: lifelong's default policy is ahead of every peer on every stream, at >= 5x ARF's throughput.", ""]
    lines += [READING, "", _cost_reading(result), ""]
    return "\n".join(lines)


def _cost_reading(result: dict[str, Any]) -> str:
    """Where lifelong's CPU goes on each stream, from the measured totals."""
    parts, budgets = [], []
    for name, stream in result["streams"].items():
        ours = stream["lifelong"]
        if not ours.get("cpu_s") or not ours.get("versions"):
            continue
        share = 100 * ours.get("train_cpu_s", 0.0) / ours["cpu_s"]
        per_update = 1000 * ours["cpu_s"] / ours["versions"]
        fitting = 1000 * ours.get("train_cpu_s", 0.0) / ours["versions"]
        parts.append(f"{name} {share:.0f}% of {ours['cpu_s']:.0f} CPU s, {per_update:.0f} ms per update ({fitting:.0f} ms fitting)")
        budget = _budget_s(result, stream)
        static = stream["peers"].get("lifelong-static", {}).get("cpu_s")
        if budget and static:
            spare = 1000 * (budget - static) / ours["versions"]
            budgets.append(f"{name} {budget:.1f} s, {static:.1f} s, {spare:.0f} ms")
    reading = (
        "Measured here: model fitting's share of lifelong's CPU and the loop's CPU per update "
        "(all of a run's CPU divided by its updates: four fits each, the 2,500- and 10,000-row LightGBM challengers in turn): " + "; ".join(parts) + "."
    )
    if budgets:
        reading += (
            " The CPU that 5x ARF's throughput allows, what the loop with a single update (the static policy) "
            "costs, and what that leaves for each update of the default policy: " + "; ".join(budgets) + "."
        )
    return reading


def _budget_s(result: dict[str, Any], stream: dict[str, Any]) -> float | None:
    """CPU seconds lifelong may spend on ``stream`` to reach the goal ratio of ARF's rows per CPU second."""
    arf = stream["peers"].get("arf", {}).get("samples_per_cpu_s")
    return stream["rows"] / (result.get("goal_ratio", GOAL_RATIO) * arf) if arf else None


READING = """Reading. Most of lifelong's lead on the real streams comes from point-in-time context features (the
last label known at serving time, input changes against their recent level) that a production
feature pipeline has and that row-by-row learners are not usually given: `arf+context` shows what
ARF does with the same features. On the synthetic streams the same features are mostly noise
(ARF loses accuracy with them on SEA and Agrawal). At each update the default policy fits
LightGBM on the last 625 rows (63 bins per input), LightGBM on 2,500 or on 10,000 rows (the two
in turn, the other's latest version scored again) and logistic regressions on the stream's own
inputs (no context features) over 625 and 2,500 rows, and promotes the one that scores best on
the same 200 most recent rows, the lower log loss breaking a tie of accuracy. It updates every
rows/25 labeled rows, between 250 and 500, and the replay reads the stream in batches of that
cadence, so each update serves the very next row. After an abrupt change the short window takes
over within one update, the longer ones while a noisy concept holds, and the linear models where
the concept is a linear boundary on the inputs.

Since the previous run: the context features' recent means are summed over each row's own window
(pandas' running sums made their last bits depend on where batches were cut); the replay reads
batches of the update cadence instead of 250 rows, and before the first model each row gets the
majority of the labels that had arrived (the same answers however the stream is cut); the
2,500-row LightGBM is refit at every second update, in turn with the 10,000-row one. The last two
cut lifelong's CPU on Elec2 from 17.5 to 14.0 s (both measured on this machine). The first
changed features in their 16th significant digit only, yet moved served accuracies by up to 0.2
points: with nothing else changed, lifelong went from 0.9178 to 0.9193 on Agrawal and from 0.8051
to 0.8029 on Weather, and ARF+context from 0.8887 to 0.8903 on Elec2. That is the scale of noise in
these comparisons. Over seeds 1 to 5, ARF+context on Elec2 scores 0.8888 to 0.8933 (median
0.8903); lifelong's 0.8894 is inside that range but below its median, so on Elec2 lifelong is not
ahead. SEA's lead over ARF (0.06 point) is inside the noise too. Agrawal (0.2 point over Leveraging
Bagging), Weather (0.7 point over the best River peer) and SEA with abrupt drift (0.3 point over
ARF) are wider.

Throughput: lifelong is 1.9x to 3.2x ARF's rows per CPU second, not 5x. ARF itself ran 16% to 46%
faster on this machine than in the previous run, which lowered every ratio by as much. A sampling
profile (py-spy) of the default policy on Agrawal, as shares of lifelong's CPU: fitting the
challengers 42% (LightGBM 39%), writing content-addressed training snapshots 13% (the exact rows
behind every version, for lineage and `lifelong reproduce`), registering and scoring versions on the
held-out rows 10%, reading the labeled window 5%, saving and storing bundles 4%, other update work
12%, and the loop between updates (source, validation, context features, event store appends and
compaction, serving) 14%. The loop is no longer what stands in the way: the static policy, one
update for the whole stream, costs 1.1 to 2.1 CPU s. The updates are. Fitting alone takes 42 to 91
ms per update and the registry work around it about as much again, while 5x allows 51 to 106 ms
per update in all; on Agrawal fitting alone (83 ms) is over that (51 ms). Tried and measured
without a gain: snapshots stored as chains of parts, so that each row is written once rather than
in every window that holds it (comparing each window's rows with the stored parts cost as much as
writing them: Elec2 14.9 against 14.5 CPU s); the 2,500-row logistic regression refit at every
second update (SEA fell to 0.8831, behind ARF). Reaching 5x needs cheaper updates: fewer versions
registered per update (today every challenger becomes a version with its bundle, snapshot and
evaluation) and fits that reuse the previous update's binning. The event store picks its partition
period from the event rate: Weather (one row a day) gets yearly partitions, so an append writes one
or two files instead of one per row."""


__all__ = ["describe", "run"]
