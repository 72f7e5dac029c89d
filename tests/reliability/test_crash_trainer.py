"""kill -9 of the trainer (the orchestrator's loop) at random points, and at the worst points.

A worker process steps the orchestrator through six days of stored events, hour by hour (an
interval trigger fires once a day and each update trains, evaluates, registers and promotes).
It is killed with SIGKILL at random moments and started again, as a supervisor would. When a
worker finally completes, the registry must be exactly what an uninterrupted run produces: the
same versions with the same parents, triggers, verdicts and champion — no trigger repeated, no
update lost or left half done — with one champion and every artifact complete and verified.
Two more cases kill the worker exactly between register and evaluation, and between recording
the verdict and moving the champion (fault injection inside the worker: the registry and files
are real).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pipeline_support import write_spec, write_stream
from reliability_support import STEP, Record, Zygote, copy_home

from lifelong.config import load_config
from lifelong.events import ParquetEventStore
from lifelong.ingest import ingest_once
from lifelong.registry import Registry
from lifelong.runtime import Pipeline

PRELUDE = """
import os, signal, time
from datetime import datetime, timedelta
from pathlib import Path
from lifelong.config import load_config
from lifelong.orchestrator import Orchestrator
from lifelong.registry import Registry
from lifelong.runtime import Pipeline
"""
STEP_LOOP = """
spec, start, end, crash = Path(args[0]), datetime.fromisoformat(args[1]), datetime.fromisoformat(args[2]), args[3]
if crash != "-":  # fault injection: die exactly at one boundary of the update
    original = getattr(Registry, crash)
    def dying(self, *a, **k):
        if crash != "set_alias" or a[1] == "champion":
            os.kill(os.getpid(), signal.SIGKILL)
        return original(self, *a, **k)
    setattr(Registry, crash, dying)
pipeline = Pipeline.open(load_config(spec))
orchestrator = Orchestrator(pipeline)
now = start
while now <= end:
    orchestrator.step(now)
    now += timedelta(hours=1)
print("completed", flush=True)
"""


def _step_times(project: Path) -> tuple[str, str]:
    frame = pd.read_csv(project / "events.csv", usecols=["ts"])
    first = pd.Timestamp(frame["ts"].iloc[0]).to_pydatetime()
    last = pd.Timestamp(frame["ts"].iloc[-1]).to_pydatetime()
    return (first + STEP).isoformat(), (last + STEP).isoformat()


def _summary(project: Path) -> dict[str, Any]:
    """What the registry says after a run, and the consistency checks every run must pass."""
    config = load_config(project / "lifelong.yaml")
    with Registry.open(config.home, config.registry_url) as registry:
        versions = registry.versions("churn")
        champion = registry.alias_version("churn", "champion")
        history = registry.alias_history("churn", "champion")
        for number, version in enumerate(versions):  # every artifact complete and verified
            registry.load_artifact("churn", version.version, project / "check" / str(number))
    shutil.rmtree(project / "check", ignore_errors=True)
    with ParquetEventStore(config.home / "events") as store:  # the loop's writes leave events alone
        events = store.window("events", columns=["event_id"])["event_id"]
    triggers = [(v.lineage.trigger["at"], v.lineage.trigger.get("challenger")) for v in versions]
    return {
        "versions": [(v.version, v.parent, v.lineage.trigger["at"], v.status) for v in versions],
        "champion": champion,
        "events": len(events),
        "events_unique": bool(events.is_unique),
        "promotions": [change.to_version for change in history],
        "repeated_triggers": len(triggers) - len(set(triggers)),
        "half_done": [
            v.version
            for v in versions
            if v.status in {"registered", "evaluated"}
            or (v.status == "promoted" and v.version not in {c.to_version for c in history})
        ],
    }


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six days of events, ingested, and no model yet."""
    project = tmp_path_factory.mktemp("trainer") / "project"
    project.mkdir()
    write_stream(project / "events.csv", days=6, per_hour=20, shift_day=3, seed=3)
    spec = write_spec(project, triggers={"triggers": [{"kind": "interval", "every": "1d"}]})
    opened = Pipeline.open(load_config(spec))
    try:
        ingest_once(opened)
    finally:
        opened.close()
    return project


@pytest.fixture(scope="module")
def zygote() -> Iterator[Zygote]:
    with Zygote(PRELUDE, STEP_LOOP) as forked:
        yield forked


@pytest.fixture(scope="module")
def reference(
    prepared: Path, zygote: Zygote, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], float]:
    """The uninterrupted run: its registry and how long it took."""
    project = copy_home(prepared, tmp_path_factory.mktemp("reference"))
    started = time.monotonic()
    zygote.spawn(str(project / "lifelong.yaml"), *_step_times(project), "-")
    assert zygote.reaped() == 0, zygote.child.output()
    elapsed = time.monotonic() - started
    summary = _summary(project)
    assert len(summary["versions"]) >= 4 and summary["champion"] is not None
    assert summary["events_unique"] and summary["events"] == len(pd.read_csv(project / "events.csv", usecols=["id"]))
    return summary, elapsed


def _check(summary: dict[str, Any], expected: dict[str, Any]) -> None:
    assert summary["events_unique"] and summary["events"] == expected["events"]
    assert summary["repeated_triggers"] == 0
    assert summary["half_done"] == []
    assert summary["versions"] == expected["versions"]
    assert summary["champion"] == expected["champion"]
    assert summary["promotions"] == expected["promotions"]


def _random_kills(
    prepared: Path,
    tmp_path: Path,
    zygote: Zygote,
    reference: tuple[dict[str, Any], float],
    *,
    kills: int,
    seed: int,
) -> dict[str, Any]:
    expected, duration = reference
    rng = random.Random(seed)
    done = rounds = half_done_seen = 0
    project = copy_home(prepared, tmp_path / "round0")
    while True:
        zygote.spawn(str(project / "lifelong.yaml"), *_step_times(project), "-")
        if done >= kills:
            assert zygote.reaped() == 0, zygote.child.output()
            _check(_summary(project), expected)
            rounds += 1
            break
        time.sleep(rng.uniform(0.0, duration / 3))
        if zygote.kill_worker():
            done += 1
            half_done_seen += bool(_summary(project)["half_done"])
        else:  # the worker completed this round before the kill: check it, start a new round
            _check(_summary(project), expected)
            rounds += 1
            project = copy_home(prepared, tmp_path / f"round{rounds}")
    return {
        "kills": done,
        "rounds": rounds,
        "kills_leaving_half_done_update": half_done_seen,
        "versions": len(expected["versions"]),
        "repeated_triggers": 0,
        "events_stored_once": expected["events"],
    }


def test_trainer_survives_random_kills(
    prepared: Path,
    tmp_path: Path,
    zygote: Zygote,
    reference: tuple[dict[str, Any], float],
    reliability: Record,
) -> None:
    result = _random_kills(prepared, tmp_path, zygote, reference, kills=5, seed=11)
    reliability("crash: trainer kill -9", **result)


@pytest.mark.soak
def test_trainer_survives_many_random_kills(
    prepared: Path,
    tmp_path: Path,
    zygote: Zygote,
    reference: tuple[dict[str, Any], float],
    reliability: Record,
) -> None:
    result = _random_kills(prepared, tmp_path, zygote, reference, kills=24, seed=12)
    assert result["kills"] >= 20
    reliability("crash: trainer kill -9", **result)


@pytest.mark.parametrize("boundary", ["record_evaluation", "set_alias"])
def test_update_killed_at_its_worst_point_is_finished_on_restart(
    boundary: str,
    prepared: Path,
    tmp_path: Path,
    zygote: Zygote,
    reference: tuple[dict[str, Any], float],
    reliability: Record,
) -> None:
    expected, _ = reference
    project = copy_home(prepared, tmp_path)
    spec, times = str(project / "lifelong.yaml"), _step_times(project)
    zygote.spawn(spec, *times, boundary)  # dies inside its first update, after registering
    status = zygote.reaped()
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    before = _summary(project)
    assert (
        len(before["versions"]) == 1
        and before["champion"] is None
        and len(before["half_done"]) == 1
    )
    zygote.spawn(spec, *times, "-")
    assert zygote.reaped() == 0, zygote.child.output()
    _check(_summary(project), expected)
    reliability(
        "crash: update killed at boundary",
        boundary=boundary,
        half_done_before=len(before["half_done"]),
        finished_after_restart=True,
    )


def test_rerunning_an_update_after_a_crash_yields_one_version(
    prepared: Path, tmp_path: Path, zygote: Zygote
) -> None:
    project = copy_home(prepared, tmp_path)
    spec, (start, end) = str(project / "lifelong.yaml"), _step_times(project)
    zygote.spawn(spec, start, end, "record_evaluation")
    zygote.reaped()
    crashed_at = _summary(project)["versions"][0][2]
    zygote.spawn(spec, start, crashed_at, "-")  # the same steps again, up to the crashed update
    assert zygote.reaped() == 0, zygote.child.output()
    summary = _summary(project)
    assert len(summary["versions"]) == 1 and summary["half_done"] == []
    assert (
        summary["versions"][0][2] == crashed_at and summary["champion"] == summary["versions"][0][0]
    )
