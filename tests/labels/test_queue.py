"""Human labels: the labeling queue (uncertainty, drift), validated imports, overrides by key."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import Result
from pipeline_support import write_spec, write_stream
from typer.testing import CliRunner

import lifelong.cli  # registers every command
from lifelong.cli.app import app
from lifelong.config import load_config
from lifelong.errors import ConfigError, DataError
from lifelong.events import ParquetEventStore
from lifelong.ingest import ingest_once
from lifelong.labels import (
    ColumnLabeler,
    HumanOverride,
    NaturalLabelJoin,
    build_queue,
    candidate_rows,
    decided_labels,
    drift_scores,
    import_answers,
    read_answers,
    uncertainty_scores,
    write_queue,
)
from lifelong.orchestrator import Orchestrator, UpdateResult
from lifelong.registry.types import TrainingMode
from lifelong.runtime import Pipeline
from lifelong.training import read_snapshot
from lifelong.triggers import Decision

T0 = datetime(2024, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ParquetEventStore]:
    with ParquetEventStore(tmp_path / "store", fsync=False) as opened:
        yield opened


@pytest.fixture
def trained(tmp_path: Path) -> Iterator[Pipeline]:
    """A pipeline with column labels, human labels enabled, and a promoted champion."""
    write_stream(tmp_path / "events.csv", days=2, per_hour=10)
    pipeline = Pipeline.open(
        load_config(write_spec(tmp_path, labels={"kind": "column", "column": "y", "human": {}}))
    )
    ingest_once(pipeline)
    outcome = Orchestrator(pipeline).update(_end(pipeline), Decision(True, "manual", "test"))
    assert isinstance(outcome, UpdateResult) and outcome.promoted
    yield pipeline
    pipeline.close()


def _end(pipeline: Pipeline) -> datetime:
    return pipeline.store.window("events")["event_time"].max().to_pydatetime() + timedelta(
        seconds=1
    )


def _predictions(store: ParquetEventStore, requests: list[str]) -> None:
    store.append(
        "predictions",
        pd.DataFrame(
            {
                "event_id": [f"p-{r}" for r in requests],
                "event_time": pd.Series([T0] * len(requests), dtype="datetime64[us, UTC]"),
                "request_id": requests,
                "x": np.arange(len(requests), dtype=float),
            }
        ),
    )


def _answers(**columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(columns, dtype="str")


# ------------------------------------------------------------------ the queue


def test_uncertainty_queue_puts_the_least_sure_rows_first(
    trained: Pipeline, tmp_path: Path
) -> None:
    now = _end(trained)
    rows = candidate_rows(
        trained.store, rows_stream="events", key="event_id", start=None, end=None, now=now
    )
    assert len(rows) == 2 * 24 * 10
    champion = trained.registry.get_alias("churn", "champion")
    assert champion is not None
    proba = Orchestrator(trained).bundle(champion).predict_proba_frame(rows)
    scores = uncertainty_scores(proba)
    assert np.allclose(scores, np.abs(proba[:, 1] - 0.5))
    queue = build_queue(
        rows, scores, by="uncertainty", key="event_id", columns=trained.features.columns, limit=25
    )
    assert len(queue) == 25 and queue["rank"].tolist() == list(range(1, 26))
    assert queue["uncertainty"].is_monotonic_increasing
    assert queue["uncertainty"].iloc[-1] <= np.sort(scores)[25]
    assert list(queue.columns) == [
        "event_id",
        "rank",
        "uncertainty",
        "event_time",
        "x1",
        "x2",
        "x3",
        "segment",
        "label",
    ]
    csv_path = write_queue(queue, tmp_path / "queue.csv")
    json_path = write_queue(queue, tmp_path / "out" / "queue.json")
    from_csv, from_json = read_answers(csv_path), read_answers(json_path)
    assert (
        from_csv["event_id"].tolist()
        == from_json["event_id"].tolist()
        == queue["event_id"].tolist()
    )
    assert json.loads(json_path.read_text())[0]["label"] == ""
    with pytest.raises(ConfigError, match="expected a .csv or .json file name"):
        write_queue(queue, tmp_path / "queue.xlsx")


def test_drift_queue_puts_rows_far_from_the_snapshot_first(trained: Pipeline) -> None:
    champion = trained.registry.get_alias("churn", "champion")
    assert champion is not None and champion.lineage.snapshot is not None
    stats = champion.lineage.snapshot.stats
    rows = pd.DataFrame(
        {
            "event_id": ["near", "far", "farther"],
            "x1": [stats["x1"]["mean"], 4.0, 9.0],
            "x2": [stats["x2"]["mean"], 0.0, 0.0],
            "x3": [stats["x3"]["mean"], 0.0, 0.0],
        }
    )
    scores = drift_scores(rows, stats, ["x1", "x2", "x3"])
    assert scores[0] == pytest.approx(0.0)
    queue = build_queue(rows, scores, by="drift", key="event_id", columns=["x1"])
    assert queue["event_id"].tolist() == ["farther", "far", "near"]
    with pytest.raises(DataError, match="expected mean and std of at least one numeric feature"):
        drift_scores(rows, {"label_counts": {"0": 3}}, ["x1"])


def test_candidates_leave_out_human_labeled_and_optionally_labeled_rows(trained: Pipeline) -> None:
    now = _end(trained)
    import_answers(
        trained.store,
        _answers(event_id=["e0", "e1"], label=["1", "0"]),
        rows_stream="events",
        key="event_id",
        annotator="ana",
        now=now,
    )
    rows = candidate_rows(
        trained.store, rows_stream="events", key="event_id", start=None, end=None, now=now
    )
    assert len(rows) == 2 * 24 * 10 - 2 and not {"e0", "e1"} & set(rows["event_id"])
    unlabeled = candidate_rows(
        trained.store,
        rows_stream="events",
        key="event_id",
        start=None,
        end=None,
        now=now,
        labeler=trained.labeler,
    )
    assert unlabeled.empty  # every event carries its label column


# ------------------------------------------------------------------ imports


def test_import_validates_every_row_and_writes_nothing_on_error(trained: Pipeline) -> None:
    now = _end(trained)
    bad = _answers(
        event_id=["e0", "nope", "e2", "e3", "e4", "e0"],
        label=["1", "1", "maybe", "0", "1", "0"],
        annotator=["ana", "ana", "ana", "", "ana", "ana"],
        labeled_at=["", "", "", "", "2999-01-01T00:00:00", ""],
    )
    with pytest.raises(DataError) as error:
        import_answers(trained.store, bad, rows_stream="events", key="event_id", now=now)
    message = str(error.value)
    assert message.startswith("answers: 5 invalid row(s), nothing imported")
    assert (
        "row 2 (event_id='nope'): event_id: expected a key of a row of stream 'events', got 'nope'"
        in message
    )
    assert "row 3 (event_id='e2'): label: expected one of [0, 1], got 'maybe'" in message
    assert "row 4 (event_id='e3'): annotator: expected a name" in message
    assert "row 5 (event_id='e4'): labeled_at: expected a time at or before" in message
    assert (
        "row 6 (event_id='e0'): annotator: expected one answer of 'ana' per key, got another (row 1)"
        in message
    )
    assert trained.store.window("human_labels").empty
    with pytest.raises(DataError, match="expected columns 'event_id' and 'label'"):
        import_answers(
            trained.store,
            _answers(id=["e0"], label=["1"]),
            rows_stream="events",
            key="event_id",
            annotator="ana",
            now=now,
        )


def test_import_records_provenance_and_is_idempotent(trained: Pipeline) -> None:
    now = _end(trained)
    answers = _answers(
        event_id=["e0", "e1", "e2"],
        label=["1", "", "0"],
        annotator=["ana", "ana", "bo"],
        labeled_at=["2024-01-02T10:00:00Z", "", ""],
    )
    first = import_answers(
        trained.store, answers, rows_stream="events", key="event_id", now=now, source="batch1.csv"
    )
    assert (first.written, first.duplicates, first.skipped, first.annotators) == (
        2,
        0,
        1,
        ("ana", "bo"),
    )
    again = import_answers(
        trained.store, answers, rows_stream="events", key="event_id", now=now, source="batch1.csv"
    )
    assert (again.written, again.duplicates) == (0, 2)
    stored = trained.store.window("human_labels").set_index("key")
    assert stored.loc["e0", "annotator"] == "ana" and stored.loc["e0", "source"] == "batch1.csv"
    assert stored.loc["e0", "event_time"] == pd.Timestamp("2024-01-02T10:00:00Z")
    assert stored.loc["e2", "event_time"] == pd.Timestamp(now)


def test_human_labels_override_column_labels_in_training_snapshots(trained: Pipeline) -> None:
    now = _end(trained)
    events = trained.store.window("events").set_index("event_id")
    flipped = [f"e{i}" for i in range(40, 60)]
    answers = _answers(event_id=flipped, label=[str(1 - int(events.loc[e, "y"])) for e in flipped])
    import_answers(
        trained.store, answers, rows_stream="events", key="event_id", annotator="ana", now=now
    )
    window = trained.labeler.label(trained.store, None, None, now=now)
    frame = window.frame.set_index("event_id")
    assert (frame.loc[flipped, "label"].to_numpy() == 1 - events.loc[flipped, "y"].to_numpy()).all()
    assert set(frame.loc[flipped, "label_source"]) == {"human"} and set(
        frame.loc[flipped, "label_annotator"]
    ) == {"ana"}
    assert (frame.drop(index=flipped)["label_source"] == "column").all()
    assert window.stats["human_overrides"] == 20 and window.stats["human_agreed"] == 0
    outcome = Orchestrator(trained).update(
        now, Decision(True, "manual", "with human labels"), mode=TrainingMode.STATELESS
    )
    assert isinstance(outcome, UpdateResult)
    version = trained.registry.get("churn", outcome.version)
    snapshot = read_snapshot(trained.registry.artifacts, version.lineage.snapshot)  # type: ignore[arg-type]
    assert "label_annotator" in snapshot.columns and "human" in set(snapshot["label_source"])


# ------------------------------------------------------------------ overrides of natural labels


def test_human_labels_override_natural_labels_and_fill_pending_ones(
    store: ParquetEventStore,
) -> None:
    _predictions(store, ["r1", "r2", "r3", "r4"])
    store.append(
        "feedback",
        pd.DataFrame(
            {
                "event_id": ["f1"],
                "event_time": [pd.Timestamp(T0 + timedelta(minutes=5))],
                "request_id": ["r1"],
            }
        ),
    )
    join = NaturalLabelJoin(key="request_id", window=timedelta(hours=1))
    labeler = HumanOverride(join, rows_stream="predictions", key="request_id")
    now = T0 + timedelta(minutes=30)  # r2..r4 pending: their window has not closed
    answers = _answers(
        request_id=["r1", "r2", "r3", "r3", "r3", "r4"],
        label=["0", "1", "1", "0", "0", "1"],
        annotator=["ana", "ana", "ana", "bo", "cy", "ana"],
        labeled_at=[(T0 + timedelta(minutes=m)).isoformat() for m in (10, 11, 12, 13, 14, 15)],
    )
    import_answers(store, answers, rows_stream="predictions", key="request_id", now=now)
    # ana changes her mind about r4 later: her latest answer counts.
    later = _answers(
        request_id=["r4"],
        label=["0"],
        annotator=["ana"],
        labeled_at=[(T0 + timedelta(minutes=20)).isoformat()],
    )
    import_answers(store, later, rows_stream="predictions", key="request_id", now=now)
    window = labeler.label(store, None, None, now=now)
    labels = dict(zip(window.frame["request_id"], window.frame["label"], strict=True))
    assert labels == {"r1": 0, "r2": 1, "r3": 0, "r4": 0}  # r3: two of three annotators said 0
    frame = window.frame.set_index("request_id")
    assert (
        frame.loc["r1", "label_source"] == "human" and frame.loc["r3", "label_annotator"] == "bo,cy"
    )
    assert frame.loc["r4", "label_time"] == pd.Timestamp(T0 + timedelta(minutes=20))
    assert "x" in frame.columns and frame["label"].dtype == "int64"
    assert window.stats["human_overrides"] == 1 and window.stats["human_added"] == 3
    # Answers given after `now` are not known yet.
    early = labeler.label(store, None, None, now=T0 + timedelta(minutes=10, seconds=30))
    assert dict(zip(early.frame["request_id"], early.frame["label"], strict=True)) == {"r1": 0}


def test_a_tie_between_annotators_goes_to_the_latest_answer(store: ParquetEventStore) -> None:
    _predictions(store, ["r1"])
    answers = _answers(
        request_id=["r1", "r1"],
        label=["1", "0"],
        annotator=["ana", "bo"],
        labeled_at=[
            (T0 + timedelta(minutes=9)).isoformat(),
            (T0 + timedelta(minutes=5)).isoformat(),
        ],
    )
    import_answers(
        store, answers, rows_stream="predictions", key="request_id", now=T0 + timedelta(hours=1)
    )
    decided = decided_labels(store, now=T0 + timedelta(hours=1))
    assert decided.to_dict("records")[0] | {"label_time": None} == {
        "key": "r1",
        "label": 1,
        "label_time": None,
        "label_annotator": "ana",
        "answers": 2,
    }


def test_override_refuses_a_bad_setup(store: ParquetEventStore) -> None:
    with pytest.raises(ConfigError, match="classes: expected at least two labels distinct as text"):
        HumanOverride(ColumnLabeler("y"), rows_stream="events", classes=(1, "1"))
    with pytest.raises(ConfigError, match="base: expected a Labeler"):
        HumanOverride("labels", rows_stream="events")  # type: ignore[arg-type]


# ------------------------------------------------------------------ the command line


def lifelong(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from lifelong.cli import main; main()", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def cli(*args: str) -> Result:
    """The same Typer app in this process (the commands' code, without the start-up cost)."""
    return CliRunner().invoke(app, list(args))


def test_labels_export_import_and_stats_from_the_command_line(
    trained: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    now = _end(trained).isoformat()
    exported = cli("labels", "export", "--limit", "5", "--out", "queue.csv", "--now", now)
    assert exported.exit_code == 0, exported.stderr
    queue = pd.read_csv(tmp_path / "queue.csv", keep_default_na=False, dtype=str)
    assert len(queue) == 5 and (queue["label"] == "").all()
    queue.loc[0, "label"] = "2"
    queue.to_csv(tmp_path / "answers.csv", index=False)
    # As a user runs it: a real process, exit code 2, a message naming the row, no traceback.
    refused = lifelong(
        "labels", "import", "answers.csv", "--annotator", "ana", "--now", now, cwd=tmp_path
    )
    assert refused.returncode == 2, refused.stderr
    assert f"row 1 (event_id='{queue.loc[0, 'event_id']}'): label" in refused.stderr
    assert "Traceback" not in refused.stderr
    queue["label"] = ["1", "0", "1", "", "0"]
    queue.to_csv(tmp_path / "answers.csv", index=False)
    imported = cli("labels", "import", "answers.csv", "--annotator", "ana", "--now", now, "--json")
    assert imported.exit_code == 0, imported.stderr
    summary = json.loads(imported.stdout)
    assert summary == {"written": 4, "duplicates": 0, "skipped": 1, "annotators": ["ana"]}
    stats = cli("labels", "stats", "--now", now, "--json")
    assert stats.exit_code == 0, stats.stderr
    report = json.loads(stats.stdout)
    assert report["stats"]["rows"] == 2 * 24 * 10 and report["label_sources"]["human"] == 4
    drift = cli("labels", "export", "--by", "drift", "--out", "drift.json", "--now", now)
    assert drift.exit_code == 0, drift.stderr
    assert len(json.loads((tmp_path / "drift.json").read_text())) == 100
    bad = cli("labels", "export", "--by", "vibes", "--out", "q.csv")
    assert (
        bad.exit_code == 2 and "--by: expected 'uncertainty' or 'drift', got 'vibes'" in bad.stderr
    )
