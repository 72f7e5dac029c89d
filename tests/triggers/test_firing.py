"""Firing ids: stable for the same occasion, recorded on the version, never trained twice."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pipeline_support import write_spec, write_stream
from trigger_support import T0

from lifelong.config import load_config
from lifelong.ingest import ingest_once
from lifelong.orchestrator import Orchestrator, SkippedUpdate, UpdateResult
from lifelong.runtime import Pipeline
from lifelong.triggers import (
    Decision,
    FiringJournal,
    TriggerState,
    firing_id,
    with_firing_id,
)


def test_the_id_depends_on_model_kinds_and_the_last_training_only() -> None:
    never = TriggerState(now=T0, last_trained_at=None, labeled_rows=0, labeled_rows_at_last_training=0)
    later = TriggerState(now=T0 + timedelta(hours=5), last_trained_at=None, labeled_rows=10, labeled_rows_at_last_training=0)
    trained = TriggerState(now=T0, last_trained_at=T0, labeled_rows=0, labeled_rows_at_last_training=0)
    interval = Decision(True, "interval", "never trained")
    assert firing_id("churn", interval, never) == firing_id("churn", interval, later)
    assert firing_id("churn", interval, never) != firing_id("churn", interval, trained)
    assert firing_id("churn", interval, never) != firing_id("ctr", interval, never)
    assert firing_id("churn", interval, never) != firing_id("churn", Decision(True, "interval+drift", ""), never)
    assert with_firing_id("churn", Decision(False, "interval", "not yet"), never).firing_id is None


def test_the_loop_records_the_firing_and_skips_it_once_trained(tmp_path: Path) -> None:
    write_stream(tmp_path / "events.csv", days=3)
    pipeline = Pipeline.open(load_config(write_spec(tmp_path)))
    try:
        ingest_once(pipeline)
        orchestrator = Orchestrator(pipeline)
        first = orchestrator.step(T0 + timedelta(days=1))
        assert isinstance(first, UpdateResult)
        version = pipeline.registry.get("churn", first.version)
        firing = version.lineage.trigger["firing_id"]
        journal = FiringJournal(pipeline.config.home / "firings" / "churn.jsonl").entries()
        assert [(e["firing_id"], e["status"], e["kind"]) for e in journal] == [(firing, "started", "interval")]
        # The same firing delivered again (a restart that re-checks, a second loop): not trained twice.
        again = orchestrator.update(T0 + timedelta(days=1, hours=1), Decision(True, "interval", "never trained", firing_id=firing))
        assert isinstance(again, SkippedUpdate) and again.reason == f"firing {firing}: already trained as version(s) 1.0"
        assert [v.version for v in pipeline.registry.versions("churn")] == ["1.0"]
        second = orchestrator.step(T0 + timedelta(days=2))
        assert isinstance(second, UpdateResult) and second.trigger["firing_id"] != firing
    finally:
        pipeline.close()
