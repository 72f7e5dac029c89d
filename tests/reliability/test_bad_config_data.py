"""A corpus of bad configs and bad data: exit code 2 and a message, never a traceback; nothing lost.

Configs go through the real command line (forked ``lifelong`` processes). Data goes through
ingest and the label joins: duplicate events and labels, late labels, events from producers
whose clock runs ahead (future timestamps) or jumps back, and malformed rows. Valid rows are
stored exactly once, invalid ones are dead-lettered with their reason, and a label that comes
too late is counted, not silently merged.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import yaml
from pipeline_support import spec, write_spec, write_stream
from reliability_support import Cli, PassedCases, Record

from lifelong.config import load_config
from lifelong.events import ParquetEventStore
from lifelong.ingest import ingest_once
from lifelong.labels import NaturalLabelJoin
from lifelong.runtime import Pipeline


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    runner = Cli(tmp_path_factory.mktemp("cli"))
    try:
        yield runner
    finally:
        runner.close()


def _edited(tmp_path: Path, edit: object) -> Path:
    data = spec(tmp_path)
    if callable(edit):
        edit(data)
    path = tmp_path / "lifelong.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


CONFIGS: list[tuple[str, str | object, str]] = [
    ("unclosed bracket", "name: [churn\n", "lifelong.yaml"),
    ("a list, not a mapping", "- name: churn\n", "mapping"),
    ("empty file", "", "lifelong.yaml"),
    ("tab indentation", "name: churn\n\tsource: x\n", "lifelong.yaml"),
    (
        "python object tag",
        "name: !!python/object/apply:os.system ['touch PWNED']\n",
        "lifelong.yaml",
    ),
    (
        "billion laughs",
        ("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "name: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"),
        "name",
    ),
    ("unknown field", lambda d: d.update(colour="blue"), "colour"),
    ("wrong type", lambda d: d["training"].update(min_rows="many"), "training.min_rows"),
    ("unknown model kind", lambda d: d.update(model={"kind": "nope"}), "model"),
    ("negative window", lambda d: d["training"].update(window="-1d"), "training.window"),
    ("bad name", lambda d: d.update(name="bad name!"), "name"),
    (
        "unknown trigger kind",
        lambda d: d.update(triggers={"triggers": [{"kind": "sometimes"}]}),
        "triggers",
    ),
    ("port out of range", lambda d: d.update(serving={"port": 70000}), "serving.port"),
]


@pytest.mark.parametrize(("name", "content", "says"), CONFIGS, ids=[c[0] for c in CONFIGS])
def test_malformed_config_exits_2_without_a_traceback(
    name: str, content: str | object, says: str, cli: Cli, tmp_path: Path
) -> None:
    if isinstance(content, str):
        path = tmp_path / "lifelong.yaml"
        path.write_text(content)
    else:
        path = _edited(tmp_path, content)
    code, output = cli("check", "-c", str(path))
    assert code == 2, output
    assert "Traceback" not in output and "error" in output
    assert says in output, output
    assert not (Path.cwd() / "PWNED").exists() and not (tmp_path / "PWNED").exists()


def test_missing_config_file_exits_2(cli: Cli, tmp_path: Path) -> None:
    code, output = cli("ingest", "-c", str(tmp_path / "absent.yaml"))
    assert code == 2 and "Traceback" not in output and "absent.yaml" in output


def test_source_without_its_timestamp_column_exits_2(cli: Cli, tmp_path: Path) -> None:
    write_stream(tmp_path / "events.csv", days=1).drop(columns=["ts"]).to_csv(
        tmp_path / "events.csv", index=False
    )
    code, output = cli("ingest", "-c", str(write_spec(tmp_path)))
    assert code == 2 and "Traceback" not in output and "ts" in output, output


def _ingested(
    tmp_path: Path, frame: pd.DataFrame, **overrides: object
) -> tuple[Pipeline, dict[str, int]]:
    frame.to_csv(tmp_path / "events.csv", index=False)
    pipeline = Pipeline.open(load_config(write_spec(tmp_path, **overrides)))
    return pipeline, ingest_once(pipeline)


def test_bad_rows_are_dead_lettered_and_the_rest_stored_once(tmp_path: Path) -> None:
    frame = write_stream(tmp_path / "events.csv", days=1).astype({"ts": object, "id": object})
    frame.loc[3, "id"] = ""  # empty event id
    frame.loc[7, "ts"] = "yesterday-ish"  # unparseable time
    frame.loc[len(frame) - 1, "ts"] = (
        "2031-01-01T00:00:00Z"  # the last event, from a clock years ahead
    )
    duplicate = frame.iloc[[20]].assign(y=1 - frame.loc[20, "y"])  # same id, other label, resent
    frame = pd.concat([frame.iloc[:21], duplicate, frame.iloc[21:]], ignore_index=True)
    pipeline, report = _ingested(tmp_path, frame, schema={"max_future": "1h"})
    try:
        letters = pipeline.store.dead_letters("events")
        reasons = " | ".join(letters["reason"])
        assert report["dead_letters"] == 3 and len(letters) == 3
        assert (
            "id: required field is missing" in reasons
            and "yesterday-ish" in reasons
            and "in the future" in reasons
        )
        assert report["duplicates"] == 1
        stored = pipeline.store.window("events")
        assert stored["event_id"].is_unique and len(stored) == len(frame) - 3 - 1
        first = stored.set_index("event_id").loc["e20", "y"]
        assert first == frame.loc[20, "y"]  # the first delivery wins; the resend is counted
        again = ingest_once(pipeline)
        assert again["written"] == 0 and len(pipeline.store.window("events")) == len(stored)
    finally:
        pipeline.close()


def test_clock_jumping_back_stops_ingest_with_a_clear_error_and_loses_nothing(
    cli: Cli, tmp_path: Path
) -> None:
    frame = write_stream(tmp_path / "events.csv", days=1).astype({"ts": object})
    good_ts = frame.loc[300, "ts"]
    frame.loc[300, "ts"] = "2023-12-31T00:00:00Z"  # a producer clock that jumped back a day
    frame.to_csv(tmp_path / "events.csv", index=False)
    path = write_spec(tmp_path)
    code, output = cli("ingest", "-c", str(path))
    assert code == 2 and "Traceback" not in output
    assert "expected rows sorted by 'ts'" in output and "row 300" in output, output
    with ParquetEventStore(tmp_path / "home" / "events") as store:
        before = store.count("events")
    assert before <= 300  # nothing at or after the bad row is stored (its chunk waits whole)
    frame.loc[300, "ts"] = good_ts  # the producer fixes its clock and the file
    frame.to_csv(tmp_path / "events.csv", index=False)
    code, output = cli("ingest", "-c", str(path))
    assert code == 0, output
    with ParquetEventStore(tmp_path / "home" / "events") as store:
        ids = store.window("events", columns=["event_id"])["event_id"]
    assert ids.is_unique and set(ids) == set(frame["id"])


def test_late_and_duplicate_labels_are_counted_not_merged(tmp_path: Path) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with ParquetEventStore(tmp_path / "events") as store:
        store.append(
            "predictions",
            pd.DataFrame(
                {
                    "event_id": ["p1", "p2", "p3", "p4"],
                    "event_time": pd.to_datetime(
                        [start + timedelta(minutes=m) for m in (0, 1, 2, 3)], utc=True
                    ),
                    "request_id": ["r1", "r2", "r3", "r4"],
                    "score": [0.1, 0.2, 0.3, 0.4],
                }
            ),
        )
        store.append(
            "feedback",
            pd.DataFrame(
                {
                    "event_id": ["f1", "f1-resent", "f2-late", "f3-too-late", "f9-unknown"],
                    "event_time": pd.to_datetime(
                        [
                            start + timedelta(minutes=5),
                            start + timedelta(minutes=6),
                            start + timedelta(minutes=45),
                            start + timedelta(hours=5),
                            start + timedelta(minutes=7),
                        ],
                        utc=True,
                    ),
                    "request_id": ["r1", "r1", "r2", "r3", "r999"],
                }
            ),
        )
        join = NaturalLabelJoin(
            key="request_id", window=timedelta(minutes=30), allowed_lateness=timedelta(minutes=30)
        )
        window = join.label(store, None, None, now=start + timedelta(days=1))
    labels = dict(zip(window.frame["request_id"], window.frame["label"], strict=True))
    assert labels == {"r1": 1, "r2": 1, "r3": 0, "r4": 0}  # every prediction labeled exactly once
    stats = window.stats
    assert stats["duplicates"] == 1 and stats["late_updates"] == 1 and stats["too_late"] == 1


def test_corpus_size(reliability: Record, passed_cases: PassedCases) -> None:
    cases = passed_cases(
        "test_malformed_config_exits_2_without_a_traceback",
        "test_missing_config_file_exits_2",
        "test_source_without_its_timestamp_column_exits_2",
        "test_bad_rows_are_dead_lettered_and_the_rest_stored_once",
        "test_clock_jumping_back_stops_ingest_with_a_clear_error_and_loses_nothing",
        "test_late_and_duplicate_labels_are_counted_not_merged",
    )
    assert cases >= len(CONFIGS)
    reliability("bad input: config and data", cases_passed=cases, tracebacks=0, lost_rows=0)
