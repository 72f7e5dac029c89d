"""Label poisoning: one source flips its labels in a burst; it is rejected, flagged and throttled.

Three sources label a drifting stream (the concept flips on day 3 for everyone: real drift).
Source ``c`` behaves for four days (the quiet phase), then flips nearly all its labels — 30% of
the window's labels. The challenger trained on that window must be rejected by the
``label_quality`` gate (the champion stays), ``c`` must be flagged in the event store with its
evidence and throttled: about ``THROTTLE`` of its later events admitted (chosen by event id),
the rest held in the ``quarantined`` stream (none lost), and later updates must train on its
admitted rows only, a capped share of their windows. The same stream without the burst convicts
nobody.
"""

from __future__ import annotations

import json
import re
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pipeline_support import write_spec, write_stream
from reliability_support import LIFELONG, Record

from lifelong.config import load_config
from lifelong.errors import ConfigError
from lifelong.evaluation.poisoning import LabelQualityGate
from lifelong.events import ParquetEventStore
from lifelong.ingest import run_replay
from lifelong.runtime import Pipeline
from lifelong.sources.quarantine import EVENTS, FLAGS, HELD, SourceQuarantine, admission_key
from lifelong.training import read_snapshot

BURST_DAY = 4
THROTTLE = 0.1
GATES = [
    {"kind": "not_worse", "tolerance": 0.02},
    {"kind": "label_quality", "source_column": "source", "throttle": THROTTLE},
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


def _run(
    tmp_path: Path, *, poisoned: bool, challengers: list[dict[str, Any]] | None = None
) -> tuple[list[Any], dict[str, Any]]:
    frame = _stream(tmp_path / "events.csv", poisoned=poisoned, seed=17)
    spec = write_spec(
        tmp_path,
        evaluation={"metric": "roc_auc", "gates": GATES, "challengers": challengers or []},
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
            "status": quarantine.status(),
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


def _admitted(frame: pd.DataFrame) -> np.ndarray[Any, np.dtype[np.bool_]]:
    return admission_key(frame["event_id"]) < THROTTLE


def test_poisoned_source_is_rejected_flagged_and_throttled(tmp_path: Path, reliability: Record) -> None:
    versions, info = _run(tmp_path, poisoned=True)
    convicted = [v for v in versions if not _gate(v)["passed"]]
    assert len(convicted) == 1, [(v.version, _gate(v)["reason"]) for v in versions]
    bad = convicted[0]
    assert bad.status == "rejected" and "'c'" in _gate(bad)["reason"]
    assert f"throttled to {THROTTLE:.0%}" in _gate(bad)["reason"]
    promoted = {change.to_version for change in info["history"]}
    assert bad.version not in promoted  # the champion stayed
    # Trained on the burst: its snapshot holds c's flipped labels, at c's natural share (a third).
    snapshot = info["snapshots"][bad.version]
    share_before = float((snapshot["source"] == "c").mean())
    assert 0.25 <= share_before <= 0.42, share_before
    verdict = next(s for s in _gate(bad)["values"]["sources"] if s["source"] == "c")
    assert verdict["flagged"] and verdict["p_history"] < 1e-3 and verdict["p_peers"] < 1e-3
    assert not verdict["already_flagged"]
    # Flagged in the event store, with its evidence and its throttle.
    assert info["quarantined"] == {"c"}
    flags = info["flags"]
    assert list(flags["source"]) == ["c"] and list(flags["action"]) == ["quarantine"]
    assert list(flags["throttle"]) == [THROTTLE]
    flagged_at = flags["event_time"].iloc[0]
    events, held = info["events"], info["held"]
    [status] = info["status"]
    assert status["source"] == "c" and status["throttle"] == THROTTLE and status["held"] == len(held)
    # Throttled at ingest: c's later events are split by event id, admitted ones stored as events,
    # the others held aside; nothing lost, nothing stored twice.
    assert len(held) > 0 and set(held["source"]) == {"c"} and not _admitted(held).any()
    # Replay stores a batch (500 rows, under 17 hours) before stepping through its hours.
    after = events[(events["source"] == "c") & (events["event_time"] > flagged_at + pd.Timedelta(hours=17))]
    assert len(after) > 0 and _admitted(after).all()
    held_after = held[held["event_time"] > flagged_at + pd.Timedelta(hours=17)]
    admitted_rate = len(after) / (len(after) + len(held_after))
    # Binomial with n of about 800: 0.1 +- 0.011 (one standard deviation).
    assert abs(admitted_rate - THROTTLE) <= 0.04, admitted_rate
    assert len(events) + len(held) == info["total"]
    assert events["event_id"].is_unique and held["event_id"].is_unique
    assert not set(events["event_id"]) & set(held["event_id"])
    # Later updates train on c's admitted rows only: a throttled share of their windows.
    later = [v for v in versions if v.created_at > bad.created_at]
    assert later, "no update after the conviction"
    shares_after = []
    for version in later:
        rows = info["snapshots"][version.version]
        mine = rows[rows["source"] == "c"]
        assert _admitted(mine).all()
        gate = _gate(version)
        assert gate["passed"], gate["reason"]
        throttled = gate["values"]["throttled"]["c"]
        assert throttled["throttle"] == THROTTLE and "flagged before" in gate["reason"]
        assert throttled["admitted_rows"] == len(mine)
        assert throttled["admitted_share"] == pytest.approx(len(mine) / len(rows))
        shares_after.append(len(mine) / len(rows))
    # Unthrottled c would hold a third of each window; throttled, about 0.1/(2/3 + 0.1/3) = 5%.
    assert max(shares_after) <= 0.09, shares_after
    assert min(shares_after) > 0, shares_after  # throttled, not cut off
    promoted_after = [v.version for v in later if v.version in promoted]
    reliability(
        "poisoning: 30% flipped burst",
        rejected=bad.version,
        flagged="c",
        p_history=f"{verdict['p_history']:.1e}",
        p_peers=f"{verdict['p_peers']:.1e}",
        disagreement=round(verdict["disagreement"], 3),
        peers=round(verdict["peer_disagreement"], 3),
        throttle=THROTTLE,
        admitted_rate=round(admitted_rate, 3),
        share_before=round(share_before, 3),
        share_after_max=round(max(shares_after), 3),
        held_events=len(held),
        lost=0,
        promoted_after=len(promoted_after),
    )


def test_every_challenger_trained_on_the_burst_is_rejected(tmp_path: Path) -> None:
    """With several challengers per update, the conviction fails each of them, not only the first."""
    challengers = [{"name": "short", "window": "1d"}, {"name": "long", "window": "2d"}]
    versions, info = _run(tmp_path, poisoned=True, challengers=challengers)
    convicted = [v for v in versions if not _gate(v)["passed"]]
    assert convicted, [(v.version, _gate(v)["reason"]) for v in versions]
    burst_update = convicted[0].lineage.trigger["at"]
    siblings = [v for v in versions if v.lineage.trigger["at"] == burst_update]
    assert len(siblings) == 2 and all(v in convicted for v in siblings)
    assert all(v.status == "rejected" for v in siblings)
    promoted = {change.to_version for change in info["history"]}
    assert not promoted & {v.version for v in siblings}
    assert list(info["flags"]["source"]) == ["c"]  # flagged once, throttled once
    assert info["quarantined"] == {"c"}


def test_throttle_is_deterministic_and_release_returns_everything(tmp_path: Path) -> None:
    store = ParquetEventStore(tmp_path / "store")
    try:
        quarantine = SourceQuarantine(store, column="source")
        when = pd.Timestamp("2024-01-05", tz="UTC").to_pydatetime()
        quarantine.flag("c", at=when, reason="test", evidence={}, throttle=0.25)
        n = 2000
        frame = pd.DataFrame(
            {
                "event_id": [f"e{i}" for i in range(n)],
                "event_time": pd.date_range("2024-01-05", periods=n, freq="1min", tz="UTC"),
                "source": np.where(np.arange(n) % 2 == 0, "c", "a"),
            }
        )
        kept, held = quarantine.hold(EVENTS, frame)
        store.append(EVENTS, kept)
        c_rows = n // 2
        assert set(kept.loc[kept["source"] == "a", "event_id"]) == set(frame.loc[frame["source"] == "a", "event_id"])
        assert abs(held / c_rows - 0.75) <= 0.05, held  # binomial sd 0.014
        # A re-delivery (after a crash) splits the same way: nothing new stored or held.
        again, held_again = quarantine.hold(EVENTS, frame.sample(frac=1.0, random_state=1))
        assert held_again == held and set(again["event_id"]) == set(kept["event_id"])
        assert store.append(EVENTS, again).written == 0 and store.count(HELD) == held
        assert len(quarantine.exclude(frame)) == len(kept)
        # Other streams (labels, feedback) are never held.
        assert quarantine.hold("feedback", frame) == (frame, 0)
        assert quarantine.release("c", at=when + pd.Timedelta(hours=1), reason="reviewed") == held
        assert quarantine.quarantined() == frozenset() and quarantine.status() == []
        assert store.count(EVENTS) == n and len(quarantine.exclude(frame)) == n
    finally:
        store.close()


def test_ingest_cli_reports_the_flag_and_the_throttle(tmp_path: Path) -> None:
    frame = _stream(tmp_path / "events.csv", poisoned=False, seed=3)
    spec = write_spec(tmp_path, evaluation={"metric": "roc_auc", "gates": GATES})
    home = load_config(spec).home
    with ParquetEventStore(home / "events") as store:
        when = pd.Timestamp("2024-01-01", tz="UTC").to_pydatetime()
        SourceQuarantine(store, column="source").flag(
            "c", at=when, reason="labels disagree", evidence={}, throttle=THROTTLE
        )
    done = subprocess.run(
        [str(LIFELONG), "ingest", "-c", str(spec), "--once"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    [flagged] = report["flagged_sources"]
    assert flagged["source"] == "c" and flagged["throttle"] == THROTTLE
    assert flagged["reason"] == "labels disagree"
    c_events = int((frame["source"] == "c").sum())
    assert report["quarantined"] == flagged["held"] > 0
    assert abs(flagged["held"] / c_events - (1 - THROTTLE)) <= 0.03, flagged  # binomial sd 0.009
    with ParquetEventStore(home / "events") as store:
        assert store.count(HELD) == flagged["held"]
        assert store.count(EVENTS) + store.count(HELD) == len(frame)  # nothing lost


@pytest.mark.parametrize("bad", [1.0, -0.1, 2, float("nan"), "0.1", True])
def test_throttle_must_be_a_fraction(bad: Any) -> None:
    with pytest.raises(ConfigError, match=r"throttle: expected .* in \[0, 1\), got"):
        LabelQualityGate(source_column="source", throttle=bad)


@pytest.mark.parametrize(("bad", "expected"), [(1.0, "less than 1"), (-0.1, "greater than or equal to 0"), ("x", "number")])
def test_throttle_in_the_config_file(bad: Any, expected: str, tmp_path: Path) -> None:
    spec = write_spec(
        tmp_path,
        evaluation={"metric": "roc_auc", "gates": [{"kind": "label_quality", "throttle": bad}]},
    )
    with pytest.raises(ConfigError, match=rf"evaluation\.gates\.0\.throttle: expected .*{expected}.*, got {re.escape(repr(bad))}"):
        load_config(spec)


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
