"""``lifelong quarantine list`` and ``release`` on a real quarantine: events held at ingest, moved back once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pipeline_support import write_spec, write_stream

from lifelong.config import load_config
from lifelong.events import ParquetEventStore
from lifelong.sources.quarantine import EVENTS, FLAGS, HELD, SourceQuarantine

GATES = [
    {"kind": "not_worse", "tolerance": 0.02},
    {"kind": "label_quality", "source_column": "source", "throttle": 0.25},
]
FLAGGED_AT = pd.Timestamp("2024-01-01", tz="UTC").to_pydatetime()


def lifelong(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LIFELONG_ACTOR": "oncall-ana"}
    return subprocess.run(
        [sys.executable, "-c", "from lifelong.cli import main; main()", *args],
        cwd=cwd, capture_output=True, text=True, timeout=240, check=False, env=env,
    )


@pytest.fixture
def held(tmp_path: Path) -> tuple[Path, Path]:
    """A spec whose source ``c`` was flagged before ingest: a real ``lifelong ingest`` held part of it back."""
    frame = write_stream(tmp_path / "events.csv", days=2, per_hour=20, seed=5)
    frame["source"] = np.random.default_rng(5).choice(["a", "b", "c"], size=len(frame))
    frame.to_csv(tmp_path / "events.csv", index=False)
    spec = write_spec(tmp_path, evaluation={"metric": "roc_auc", "gates": GATES})
    home = load_config(spec).home / "events"
    with ParquetEventStore(home) as store:
        SourceQuarantine(store, column="source").flag(
            "c", at=FLAGGED_AT, reason="labels disagree with the champion", evidence={}, throttle=0.25
        )
    ingest = lifelong("ingest", "-c", str(spec), "--once", cwd=tmp_path)
    assert ingest.returncode == 0, ingest.stderr
    assert json.loads(ingest.stdout)["quarantined"] > 0
    return spec, home


def _counts(home: Path) -> tuple[int, int, list[str], list[str]]:
    with ParquetEventStore(home) as store:
        events = store.window(EVENTS, columns=["event_id"])["event_id"].tolist()
        held = store.window(HELD, columns=["event_id"])["event_id"].tolist()
        return len(events), len(held), events, held


def test_list_shows_the_flag_and_release_moves_every_held_event_back_once(held: tuple[Path, Path], tmp_path: Path) -> None:
    spec, home = held
    n_events, n_held, _, held_ids = _counts(home)
    assert n_held > 0
    listed = lifelong("quarantine", "list", "-c", str(spec), "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    flags = json.loads(listed.stdout)
    assert [(f["source"], f["throttle"], f["held"], f["flagged_by"]) for f in flags] == [("c", 0.25, n_held, "label_quality")]
    assert flags[0]["reason"] == "labels disagree with the champion"
    assert pd.Timestamp(flags[0]["flagged_at"]) == pd.Timestamp(FLAGGED_AT)
    table = lifelong("quarantine", "list", "-c", str(spec), cwd=tmp_path)
    assert table.returncode == 0 and "c" in table.stdout and "25%" in table.stdout and f"{n_held:,}" in table.stdout

    released = lifelong("quarantine", "release", "c", "-c", str(spec), "--reason", "vendor fixed its tool", "--json", cwd=tmp_path)
    assert released.returncode == 0, released.stderr
    record = json.loads(released.stdout)
    assert record["moved"] == n_held and record["released_by"] == "oncall-ana" and record["throttle_was"] == 0.25
    after, _, event_ids, _ = _counts(home)
    assert after == n_events + n_held  # every held event is back ...
    assert set(held_ids) <= set(event_ids) and len(set(event_ids)) == len(event_ids)  # ... exactly once
    with ParquetEventStore(home) as store:
        last = SourceQuarantine(store, column="source").history().iloc[-1]
        assert (last["action"], last["actor"], last["reason"]) == ("release", "oncall-ana", "vendor fixed its tool")
        assert json.loads(last["evidence"]) == {"moved": n_held}

    assert json.loads(lifelong("quarantine", "list", "-c", str(spec), "--json", cwd=tmp_path).stdout) == []
    again = lifelong("quarantine", "release", "c", "-c", str(spec), cwd=tmp_path)
    assert again.returncode == 2
    assert "source: expected a flagged source (one of [])" in again.stderr and "'c'" in again.stderr
    assert "Traceback" not in again.stderr + again.stdout
    assert _counts(home)[0] == after  # nothing moved twice

    # Flagged again: the events released before are no longer counted as held.
    with ParquetEventStore(home) as store:
        quarantine = SourceQuarantine(store, column="source")
        quarantine.flag("c", at=pd.Timestamp.now(tz="UTC").to_pydatetime(), reason="again", evidence={}, throttle=0.1)
        assert [(f["source"], f["held"]) for f in quarantine.status()] == [("c", 0)]


def test_release_of_an_unknown_source_exits_2_and_changes_nothing(held: tuple[Path, Path], tmp_path: Path) -> None:
    spec, home = held
    before = _counts(home)[:2]
    unknown = lifelong("quarantine", "release", "crowd-z", "-c", str(spec), cwd=tmp_path)
    assert unknown.returncode == 2
    assert "source: expected a flagged source (one of ['c']), got 'crowd-z'" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    early = lifelong("quarantine", "release", "c", "-c", str(spec), "--now", "2023-12-31T00:00:00", cwd=tmp_path)
    assert early.returncode == 2 and "at: expected a time at or after the flag of 'c'" in early.stderr
    assert _counts(home)[:2] == before
    with ParquetEventStore(home) as store:
        assert list(store.window(FLAGS)["action"]) == ["quarantine"]


def test_without_a_label_quality_gate_nothing_is_flagged_and_release_exits_2(tmp_path: Path) -> None:
    write_stream(tmp_path / "events.csv", days=1)
    spec = write_spec(tmp_path)
    listed = lifelong("quarantine", "list", "-c", str(spec), "--json", cwd=tmp_path)
    assert listed.returncode == 0 and json.loads(listed.stdout) == [] and listed.stderr == ""
    table = lifelong("quarantine", "list", "-c", str(spec), cwd=tmp_path)
    assert table.returncode == 0 and "no label_quality gate" in table.stderr
    released = lifelong("quarantine", "release", "c", "-c", str(spec), cwd=tmp_path)
    assert released.returncode == 2 and "evaluation.gates: expected a label_quality gate" in released.stderr
