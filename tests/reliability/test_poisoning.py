"""Label poisoning: one source flips its labels in a burst; it is rejected, flagged and held aside.

Three sources label a drifting stream (the concept flips on day 3 for everyone: real drift).
Source ``c`` behaves for four days (the quiet phase), then flips nearly all its labels — 30% of
the window's labels. The challenger trained on that window must be rejected by the
``label_quality`` gate (the champion stays), ``c`` must be flagged in the event store with its
evidence, its later events held in the ``quarantined`` stream (none lost), and later updates must
train without its rows. The same stream without the burst convicts nobody.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pipeline_support import write_spec, write_stream
from reliability_support import Record

from lifelong.config import load_config
from lifelong.ingest import run_replay
from lifelong.runtime import Pipeline
from lifelong.sources.quarantine import FLAGS, HELD, SourceQuarantine
from lifelong.training import read_snapshot

BURST_DAY = 4
GATES = [
    {"kind": "not_worse", "tolerance": 0.02},
    {"kind": "label_quality", "source_column": "source"},
]


def _stream(path: Path, *, poisoned: bool, seed: int) -> pd.DataFrame:
    frame = write_stream(path, days=8, per_hour=30, shift_day=3, seed=seed)
    rng = np.random.default_rng(seed + 100)
    frame["source"] = rng.choice(["a", "b", "c"], size=len(frame))
    times = pd.to_datetime(frame["ts"])
    burst = (
        times >= pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(days=BURST_DAY)
    ).to_numpy()
    if poisoned:
        flip = burst & (frame["source"] == "c").to_numpy() & (rng.random(len(frame)) < 0.9)
        frame.loc[flip, "y"] = 1 - frame.loc[flip, "y"]
        share = flip[burst].mean()
        assert 0.25 <= share <= 0.35  # about 30% of the window's labels are flipped
    frame.to_csv(path, index=False)
    return frame


def _run(tmp_path: Path, *, poisoned: bool) -> tuple[list[Any], dict[str, Any]]:
    frame = _stream(tmp_path / "events.csv", poisoned=poisoned, seed=17)
    spec = write_spec(
        tmp_path,
        evaluation={"metric": "roc_auc", "gates": GATES},
        training={"mode": "stateful", "window": "2d", "holdout": "6h", "min_rows": 100},
    )
    pipeline = Pipeline.open(load_config(spec))
    try:
        summary = run_replay(pipeline, step=timedelta(hours=1))
        versions = pipeline.registry.versions("churn")
        quarantine = SourceQuarantine(pipeline.store, column="source")
        info = {
            "summary": summary,
            "quarantined": quarantine.quarantined(),
            "flags": pipeline.store.window(FLAGS),
            "held": pipeline.store.window(HELD),
            "events": pipeline.store.window("events", columns=["event_id", "event_time", "source"]),
            "history": pipeline.registry.alias_history("churn", "champion"),
            "snapshots": {
                v.version: read_snapshot(pipeline.registry.artifacts, v.lineage.snapshot)
                for v in versions
                if v.lineage.snapshot is not None
            },
            "total": len(frame),
        }
        return versions, info
    finally:
        pipeline.close()


def _gate(version: Any) -> dict[str, Any]:
    return next(g for g in version.evaluation["gates"] if g["gate"] == "label_quality")


def test_poisoned_source_is_rejected_flagged_and_held(tmp_path: Path, reliability: Record) -> None:
    versions, info = _run(tmp_path, poisoned=True)
    convicted = [v for v in versions if not _gate(v)["passed"]]
    assert len(convicted) == 1, [(v.version, _gate(v)["reason"]) for v in versions]
    bad = convicted[0]
    assert bad.status == "rejected" and "'c'" in _gate(bad)["reason"]
    promoted = {change.to_version for change in info["history"]}
    assert bad.version not in promoted  # the champion stayed
    # Trained on the burst: its snapshot holds c's flipped labels from the burst.
    snapshot = info["snapshots"][bad.version]
    assert (snapshot["source"] == "c").any()
    verdict = next(s for s in _gate(bad)["values"]["sources"] if s["source"] == "c")
    assert verdict["flagged"] and verdict["p_history"] < 1e-3 and verdict["p_peers"] < 1e-3
    # Flagged in the event store, with its evidence; later events held aside, none lost.
    assert info["quarantined"] == {"c"}
    flags = info["flags"]
    assert list(flags["source"]) == ["c"] and list(flags["action"]) == ["quarantine"]
    flagged_at = flags["event_time"].iloc[0]
    events, held = info["events"], info["held"]
    assert len(held) > 0 and set(held["source"]) == {"c"}
    # Replay stores a batch (500 rows, under 17 hours) before stepping through its hours.
    assert not (
        (events["source"] == "c") & (events["event_time"] > flagged_at + pd.Timedelta(hours=17))
    ).any()
    assert len(events) + len(held) == info["total"] and events["event_id"].is_unique
    # Later updates train without c.
    later = [v for v in versions if v.created_at > bad.created_at]
    assert later, "no update after the conviction"
    for version in later:
        assert not (info["snapshots"][version.version]["source"] == "c").any()
        assert _gate(version)["passed"]
    promoted_after = [v.version for v in later if v.version in promoted]
    reliability(
        "poisoning: 30% flipped burst",
        rejected=bad.version,
        flagged="c",
        p_history=f"{verdict['p_history']:.1e}",
        p_peers=f"{verdict['p_peers']:.1e}",
        disagreement=round(verdict["disagreement"], 3),
        peers=round(verdict["peer_disagreement"], 3),
        held_events=len(held),
        lost=0,
        promoted_after=len(promoted_after),
    )


def test_clean_stream_with_real_drift_convicts_nobody(tmp_path: Path, reliability: Record) -> None:
    versions, info = _run(tmp_path, poisoned=False)
    assert versions and all(_gate(v)["passed"] for v in versions)
    assert info["quarantined"] == frozenset() and len(info["flags"]) == 0
    assert len(info["events"]) == info["total"]
    reliability(
        "poisoning: control (drift, no poison)",
        versions=len(versions),
        flagged=0,
        false_positives=0,
    )


@pytest.mark.soak
@pytest.mark.parametrize("seed", range(5))
def test_no_false_positives_over_seeds(seed: int, tmp_path: Path, reliability: Record) -> None:
    frame = _stream(tmp_path / "events.csv", poisoned=False, seed=seed)
    spec = write_spec(tmp_path, evaluation={"metric": "roc_auc", "gates": GATES})
    pipeline = Pipeline.open(load_config(spec))
    try:
        run_replay(pipeline, step=timedelta(hours=1))
        assert SourceQuarantine(pipeline.store, column="source").quarantined() == frozenset()
        assert pipeline.store.count("events") == len(frame)
    finally:
        pipeline.close()
    reliability("poisoning: control over seeds", seed=seed, false_positives=0)
