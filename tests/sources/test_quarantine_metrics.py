"""The ingest process's metrics show flagged sources, their throttle and the events held back."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
from pipeline_support import write_spec, write_stream

from lifelong.config import load_config
from lifelong.events import ParquetEventStore
from lifelong.ingest import IngestTarget
from lifelong.ingest_process import IngestOptions, IngestProcess
from lifelong.sources.quarantine import HELD, SourceQuarantine

GATES = [{"kind": "label_quality", "source_column": "source", "throttle": 0.25}]
WHEN = pd.Timestamp("2024-01-01", tz="UTC").to_pydatetime()


def _spec(tmp_path: Path) -> Path:
    frame = write_stream(tmp_path / "events.csv", days=1, per_hour=40, seed=2)
    frame["source"] = np.random.default_rng(2).choice(["a", "c"], size=len(frame))
    frame.to_csv(tmp_path / "events.csv", index=False)
    return write_spec(tmp_path, evaluation={"metric": "roc_auc", "gates": GATES})


def test_ingest_metrics_count_held_events_and_show_the_flag_until_released(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    target = IngestTarget.open(load_config(spec), project_dir=tmp_path)
    try:
        quarantine = SourceQuarantine(target.store, column="source")
        quarantine.flag("c", at=WHEN, reason="labels disagree", evidence={}, throttle=0.25)
        process = IngestProcess(target, IngestOptions(follow=False, metrics_port=0))
        totals = process.run()
        held = target.store.count(HELD)
        assert held > 0 and totals["quarantined"] == held
        metrics = process.metrics
        assert metrics.value("lifelong_ingest_events_total", outcome="quarantined") == held
        assert metrics.value("lifelong_ingest_flagged_sources") == 1
        assert metrics.value("lifelong_ingest_source_throttle", source="c") == 0.25
        assert metrics.value("lifelong_ingest_held_events", source="c") == held
        text = metrics.render().decode()
        assert f'lifelong_ingest_held_events{{source="c",stream="events"}} {float(held)}' in text

        assert quarantine.release("c", at=WHEN, reason="reviewed", actor="ops") == held
        process.refresh_flags()
        assert metrics.value("lifelong_ingest_flagged_sources") == 0
        assert metrics.value("lifelong_ingest_held_events", source="c") is None
        assert "lifelong_ingest_source_throttle{" not in metrics.render().decode()
    finally:
        target.close()


def test_metrics_endpoint_serves_the_flag_while_ingest_runs(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    with ParquetEventStore(load_config(spec).home / "events") as store:
        SourceQuarantine(store, column="source").flag("c", at=WHEN, reason="x", evidence={}, throttle=0.0)
    target = IngestTarget.open(load_config(spec), project_dir=tmp_path)
    try:
        process = IngestProcess(target, IngestOptions(follow=False, metrics_port=0))
        port = process.serve_metrics()
        process.refresh_flags()
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
        assert 'lifelong_ingest_flagged_sources{stream="events"} 1.0' in body
        assert 'lifelong_ingest_source_throttle{source="c",stream="events"} 0.0' in body
        assert 'lifelong_ingest_held_events{source="c",stream="events"} 0.0' in body  # nothing ingested yet
        process.run()
        assert process.metrics.value("lifelong_ingest_held_events", source="c") == target.store.count(HELD) > 0
    finally:
        target.close()
