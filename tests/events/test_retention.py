"""Retention: whole old partitions go, atomically; versions that used them are marked."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from pipeline_support import write_spec, write_stream
from typer.testing import CliRunner

import lifelong.cli  # registers every command
from lifelong.cli.app import app
from lifelong.config import load_config
from lifelong.errors import ConfigError
from lifelong.events import ParquetEventStore
from lifelong.events.retention import DETAIL, FLAG, RETIRED_PREFIX, apply_retention
from lifelong.ingest import run_replay
from lifelong.registry import ArtifactStore, Registry
from lifelong.registry.types import Iteration, Lineage, SnapshotRef, TrainingMode
from lifelong.runtime import Pipeline
from lifelong.training import read_snapshot

NOW = datetime(2024, 4, 10, 12, tzinfo=UTC)


@pytest.fixture
def registry(tmp_path: Path, database_url: str) -> Iterator[Registry]:
    with Registry(database_url, ArtifactStore(tmp_path / "artifacts")) as opened:
        yield opened


def _day(store: ParquetEventStore, stream: str, day: str, n: int = 3) -> None:
    store.append(
        stream,
        pd.DataFrame(
            {
                "event_id": [f"{stream}-{day}-{i}" for i in range(n)],
                "event_time": pd.Series(
                    pd.to_datetime([f"{day} {h:02d}:30" for h in range(n)], utc=True),
                    dtype="datetime64[us, UTC]",
                ),
                "x": [float(i) for i in range(n)],
            }
        ),
    )


def _version(
    registry: Registry, tmp_path: Path, start: str | None, *, snapshot: bool = True
) -> str:
    folder = tmp_path / f"model-{start}-{snapshot}"
    folder.mkdir()
    (folder / "weights.npz").write_bytes(start.encode() if start else b"none")
    ref = None
    if snapshot:
        sha = registry.artifacts.put_bytes(f"rows of {start}".encode())
        ref = SnapshotRef(
            uri=f"artifact://{sha}",
            sha256=sha,
            rows=10,
            start=datetime.fromisoformat(start) if start else None,
            end=None,
            stats={"x": {"mean": 1.0}},
        )
    lineage = Lineage(
        parent=None,
        mode=TrainingMode.STATELESS,
        iteration=Iteration.MODEL,
        snapshot=ref,
        config_hash="c",
        code_version="0",
        git_commit=None,
        library_versions={},
    )
    return registry.register("churn", folder, lineage=lineage, learner_kind="sklearn").version


def test_old_partitions_are_deleted_whole_and_versions_marked(
    tmp_path: Path, registry: Registry
) -> None:
    with ParquetEventStore(tmp_path / "events", fsync=False) as store:
        for day in ("2024-01-05", "2024-01-10", "2024-01-11", "2024-03-01"):
            _day(store, "events", day)
        _day(store, "feedback", "2024-01-10")
        old = _version(registry, tmp_path, "2024-01-04T00:00:00+00:00")
        edge = _version(registry, tmp_path, "2024-01-10T23:00:00+00:00")
        fresh = _version(registry, tmp_path, "2024-01-11T00:00:00+00:00")
        unknown = _version(registry, tmp_path, None)
        bare = _version(registry, tmp_path, "2024-01-01T00:00:00+00:00", snapshot=False)
        # Cutoff 2024-01-11 12:00: the 11th is not over by then, so it stays.
        report = apply_retention(store, registry, timedelta(days=90), now=NOW)
        assert report.deleted == {
            "events": ["2024-01-05", "2024-01-10"],
            "feedback": ["2024-01-10"],
        }
        assert report.rows_deleted == 9 and not report.dry_run
        assert store.window("events")["event_id"].str[7:17].unique().tolist() == [
            "2024-01-11",
            "2024-03-01",
        ]
        assert store.count("feedback") == 0 and store.streams() == ["events"]
        assert sorted(report.marked) == sorted(f"churn:{v}" for v in (old, edge, unknown))
        marked = registry.get("churn", old)
        assert marked.metrics[FLAG] is False
        assert marked.metrics[DETAIL]["streams"] == ["events", "feedback"]
        assert marked.metrics[DETAIL]["deleted_before"].startswith("2024-01-11T00:00:00")
        assert "can no longer be rebuilt from raw events" in marked.metrics[DETAIL]["reason"]
        assert marked.lineage.snapshot is not None and marked.lineage.snapshot.stats == {
            "x": {"mean": 1.0}
        }
        assert (
            registry.artifacts.read_bytes(marked.lineage.snapshot.sha256)
            == b"rows of 2024-01-04T00:00:00+00:00"
        )
        assert (
            FLAG not in registry.get("churn", fresh).metrics
            and FLAG not in registry.get("churn", bare).metrics
        )
        again = apply_retention(store, registry, timedelta(days=90), now=NOW)
        assert again.deleted == {} and again.marked == []
        # Deleted ids are forgotten: a redelivered old event is stored again, in a new partition.
        _day(store, "events", "2024-01-05", n=1)
        assert store.count("events") == 7


def test_a_dry_run_changes_nothing(tmp_path: Path, registry: Registry) -> None:
    with ParquetEventStore(tmp_path / "events", fsync=False) as store:
        _day(store, "events", "2024-01-05")
        version = _version(registry, tmp_path, "2024-01-05T00:00:00+00:00")
        report = apply_retention(store, registry, timedelta(days=30), now=NOW, dry_run=True)
        assert report.deleted == {"events": ["2024-01-05"]} and report.marked == [
            f"churn:{version}"
        ]
        assert store.count("events") == 3 and FLAG not in registry.get("churn", version).metrics


def test_only_named_streams_and_leftovers_of_an_interrupted_run(
    tmp_path: Path, registry: Registry
) -> None:
    with ParquetEventStore(tmp_path / "events", fsync=False) as store:
        _day(store, "events", "2024-01-05")
        _day(store, "feedback", "2024-01-05")
        leftover = tmp_path / "events" / "events" / f"{RETIRED_PREFIX}date=2023-12-01-abcd"
        leftover.mkdir()
        (leftover / "part-x.parquet").write_bytes(b"half deleted")
        report = apply_retention(store, registry, timedelta(days=30), now=NOW, streams=["events"])
        assert report.deleted == {"events": ["2024-01-05"]} and store.count("feedback") == 3
        assert not leftover.exists()
        with pytest.raises(ConfigError, match="older_than: expected a duration > 0"):
            apply_retention(store, registry, timedelta(0), now=NOW)
        with pytest.raises(ConfigError, match="stream: expected letters"):
            apply_retention(store, registry, timedelta(days=1), now=NOW, streams=["../x"])


def lifelong(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from lifelong.cli import main; main()", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_retention_after_a_real_loop_from_the_command_line(tmp_path: Path) -> None:
    write_stream(tmp_path / "events.csv", days=3, per_hour=6)
    pipeline = Pipeline.open(
        load_config(
            write_spec(
                tmp_path,
                training={"mode": "stateful", "window": "1d", "holdout": "6h", "min_rows": 50},
            )
        )
    )
    try:
        run_replay(pipeline, step=timedelta(hours=18))
        versions = pipeline.registry.versions("churn")
        assert len(versions) >= 2
    finally:
        pipeline.close()
    now = "2024-01-04T12:00:00"  # the stream covers 2024-01-01 .. 2024-01-03
    config = str(tmp_path / "lifelong.yaml")
    runner = CliRunner()
    dry = runner.invoke(
        app,
        [
            "retention",
            "apply",
            "--older-than",
            "2d",
            "--now",
            now,
            "--dry-run",
            "--json",
            "-c",
            config,
        ],
    )
    assert dry.exit_code == 0, dry.stderr
    assert json.loads(dry.stdout)["deleted"] == {"events": ["2024-01-01"]}
    applied = lifelong(
        "retention", "apply", "--older-than", "2d", "--now", now, "--json", cwd=tmp_path
    )
    assert applied.returncode == 0, applied.stderr
    marked = set(json.loads(applied.stdout)["marked"])
    pipeline = Pipeline.open(load_config(tmp_path / "lifelong.yaml"))
    try:
        assert pipeline.store.window("events")["event_time"].min() >= pd.Timestamp(
            "2024-01-02", tz="UTC"
        )
        for version in pipeline.registry.versions("churn"):
            snapshot = version.lineage.snapshot
            assert snapshot is not None
            uses_deleted_day = snapshot.start < datetime(2024, 1, 2, tzinfo=UTC)  # type: ignore[operator]
            assert (f"churn:{version.version}" in marked) == uses_deleted_day
            assert (version.metrics.get(FLAG) is False) == uses_deleted_day
            assert (
                len(read_snapshot(pipeline.registry.artifacts, snapshot)) == snapshot.rows
            )  # snapshots stay
        assert marked
    finally:
        pipeline.close()
    bad = runner.invoke(app, ["retention", "apply", "--older-than", "soon", "-c", config])
    assert bad.exit_code == 2 and "--older-than: expected a duration" in bad.stderr
