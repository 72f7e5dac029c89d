"""The file source: CSV and Parquet, folders that grow, checkpoints, order checks, replay."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lifelong.clock import ManualClock, ReplayClock
from lifelong.errors import ConfigError, DataError
from lifelong.events import Batch, Checkpoint, EventSchema, FieldSpec, ParquetEventStore
from lifelong.sources import FileSource

START = datetime(2024, 1, 1, tzinfo=UTC)


def _write_csv(path: Path, rows: int, *, start_minute: int = 0) -> Path:
    times = [
        (START + timedelta(minutes=start_minute + index)).strftime("%Y-%m-%dT%H:%M:%S")
        for index in range(rows)
    ]
    pd.DataFrame({"ts": times, "x": [float(index) for index in range(rows)]}).to_csv(
        path, index=False
    )
    return path


def _ids(batches: Sequence[Batch]) -> list[str]:
    return [event_id for batch in batches for event_id in batch.frame["event_id"]]


def test_csv_rows_become_events_in_batches(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "events.csv", 5)
    batches = list(FileSource(path, timestamp="ts", stream="clicks", batch_size=2).read())
    assert [batch.rows for batch in batches] == [2, 2, 1]
    assert {batch.stream for batch in batches} == {"clicks"}
    assert _ids(batches) == [f"events.csv:{index}" for index in range(5)]
    frame = batches[0].frame
    assert list(frame.columns) == ["event_id", "event_time", "x"]
    assert str(frame["event_time"].dtype) == "datetime64[us, UTC]"
    assert frame["event_time"].tolist() == [
        pd.Timestamp(START),
        pd.Timestamp(START + timedelta(minutes=1)),
    ]
    assert [batch.checkpoint.position for batch in batches if batch.checkpoint] == [
        {"file": "events.csv", "row": 2},
        {"file": "events.csv", "row": 4},
        {"file": "events.csv", "row": 5},
    ]


def test_parquet_with_an_id_column_and_row_groups(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    table = pa.table(
        {
            "request_id": [f"r{index}" for index in range(10)],
            "when": pa.array(
                [START + timedelta(seconds=index) for index in range(10)], pa.timestamp("us", "UTC")
            ),
            "y": list(range(10)),
        }
    )
    pq.write_table(table, path, row_group_size=3)
    source = FileSource(path, timestamp="when", id_column="request_id", batch_size=4)
    batches = list(source.read())
    assert _ids(batches) == [f"r{index}" for index in range(10)]
    assert batches[0].frame["request_id"].tolist() == ["r0", "r1", "r2", "r3"]
    resumed = list(source.read(since=Checkpoint({"file": "events.parquet", "row": 7})))
    assert _ids(resumed) == ["r7", "r8", "r9"]
    assert resumed[0].frame["y"].tolist() == [7, 8, 9]


def test_resume_from_a_checkpoint_gives_the_rest(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "events.csv", 7)
    source = FileSource(path, timestamp="ts", batch_size=3)
    first = next(iter(source.read()))
    assert first.checkpoint is not None
    source.commit(first.checkpoint)
    source.close()
    fresh = FileSource(path, timestamp="ts", batch_size=3)
    rest = list(fresh.read(since=source.committed))
    assert _ids(rest) == [f"events.csv:{index}" for index in range(3, 7)]
    assert list(fresh.read()) == []


def test_read_goes_on_from_where_it_stopped(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "events.csv", 5)
    source = FileSource(path, timestamp="ts", batch_size=2)
    iterator = source.read()
    next(iterator)
    iterator.close()
    assert _ids(list(source.read())) == ["events.csv:2", "events.csv:3", "events.csv:4"]


def test_a_folder_that_receives_new_files(tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    _write_csv(folder / "001.csv", 2)
    (folder / ".002.csv.partial").write_text("garbage")
    (folder / "notes.txt").write_text("ignored")
    source = FileSource(folder, timestamp="ts", batch_size=10)
    assert _ids(list(source.read())) == ["001.csv:0", "001.csv:1"]
    assert list(source.read()) == []
    _write_csv(folder / "002.csv", 1, start_minute=5)
    pq.write_table(pa.table({"ts": ["2024-01-01T00:09:00"], "x": [9.0]}), folder / "003.parquet")
    batches = list(source.read())
    assert _ids(batches) == ["002.csv:0", "003.parquet:0"]
    assert batches[-1].checkpoint == Checkpoint({"file": "003.parquet", "row": 1})
    again = list(source.read(since=Checkpoint({"file": "002.csv", "row": 0})))
    assert _ids(again) == ["002.csv:0", "003.parquet:0"]


def test_an_unsorted_file_names_the_row_and_both_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("ts,x\n2024-01-01T00:00:00,1\n2024-01-01T00:05:00,2\n2024-01-01T00:03:00,3\n")
    with pytest.raises(DataError) as caught:
        list(FileSource(path, timestamp="ts").read())
    message = str(caught.value)
    assert "events.csv" in message and "row 2 at 2024-01-01T00:03:00+00:00" in message
    assert "row 1 at 2024-01-01T00:05:00+00:00" in message


def test_order_is_checked_across_chunks(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("ts,x\n2024-01-01T00:00:00,1\n2024-01-01T00:05:00,2\n2024-01-01T00:03:00,3\n")
    with pytest.raises(DataError, match="row 2 at"):
        list(FileSource(path, timestamp="ts", batch_size=1).read())


def test_a_missing_timestamp_column_is_named(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "events.csv", 2)
    with pytest.raises(
        DataError, match="timestamp column 'time' is missing; got columns \\['ts', 'x'\\]"
    ):
        list(FileSource(path, timestamp="time").read())
    with pytest.raises(DataError, match="id column 'rid' is missing"):
        list(FileSource(path, timestamp="ts", id_column="rid").read())


def test_bad_rows_go_to_dead_letters(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "ts,x,device\n"
        "2024-01-01T00:00:00,1.5,mobile\n"
        "not a time,2.0,mobile\n"
        "2024-01-01T00:02:00,abc,mobile\n"
        "2024-01-01T00:03:00,4.0,tv\n"
        ",5.0,mobile\n"
        "2024-01-01T00:05:00,6.0,desktop\n"
    )
    schema = EventSchema(
        {"x": FieldSpec("float"), "device": FieldSpec("category", categories=("desktop", "mobile"))}
    )
    batches = list(FileSource(path, timestamp="ts", schema=schema, batch_size=3).read())
    assert _ids(batches) == ["events.csv:0", "events.csv:5"]
    assert batches[0].frame["x"].tolist() == [1.5]
    letters = [letter for batch in batches for letter in batch.dead_letters]
    assert [letter.reason for letter in letters] == [
        "ts: expected a timestamp, got 'not a time'",
        "x: expected a number, got 'abc'",
        "ts: required field is missing",
        "device: expected one of ['desktop', 'mobile'], got 'tv'",
    ]
    assert letters[0].payload == '{"ts":"not a time","x":"2.0","device":"mobile"}'
    assert {letter.source for letter in letters} == {"file:events.csv"}
    assert letters[1].event_id == "events.csv:2"


def test_replay_with_a_manual_clock_releases_rows_when_due(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "events.csv", 6)
    clock = ManualClock(START + timedelta(seconds=90))
    source = FileSource(path, timestamp="ts", batch_size=10, clock=clock)
    seen: list[tuple[list[str], datetime]] = []
    for batch in source.read():
        assert (batch.frame["event_time"] <= pd.Timestamp(clock.now())).all()
        seen.append((batch.frame["event_id"].tolist(), clock.now()))
    assert seen[0] == (["events.csv:0", "events.csv:1"], START + timedelta(seconds=90))
    assert [ids for ids, _ in seen[1:]] == [[f"events.csv:{index}"] for index in range(2, 6)]
    assert [at for _, at in seen[1:]] == [START + timedelta(minutes=index) for index in range(2, 6)]
    assert clock.now() == START + timedelta(minutes=5)


def test_accelerated_replay_waits_on_the_clock(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "events.csv", 4)
    clock = ReplayClock(START, speed=3000.0)
    started = time.monotonic()
    batches = []
    for batch in FileSource(path, timestamp="ts", clock=clock).read():
        assert (batch.frame["event_time"] <= pd.Timestamp(clock.now())).all()
        batches.append(batch)
    elapsed = time.monotonic() - started
    assert _ids(batches) == [f"events.csv:{index}" for index in range(4)]
    assert 180 / 3000 <= elapsed < 5


def test_read_until_is_step_by_step_and_never_waits(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "events.csv", 10)
    source = FileSource(path, timestamp="ts", batch_size=2)
    assert list(source.read_until(START)) == []
    step1 = list(source.read_until(START + timedelta(minutes=3)))
    assert _ids(step1) == ["events.csv:0", "events.csv:1", "events.csv:2"]
    assert [batch.rows for batch in step1] == [2, 1]
    assert list(source.read_until(START + timedelta(minutes=3))) == []
    step2 = list(source.read_until(START + timedelta(hours=1)))
    assert _ids(step2) == [f"events.csv:{index}" for index in range(3, 10)]
    assert source.position == Checkpoint({"file": "events.csv", "row": 10})


def test_source_to_store_is_idempotent(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "events.csv", 25)
    store = ParquetEventStore(tmp_path / "store", fsync=False)
    for _ in range(2):
        with FileSource(path, timestamp="ts", batch_size=10) as source:
            for batch in source.read():
                store.append(batch.stream, batch.frame)
                if batch.checkpoint is not None:
                    source.commit(batch.checkpoint)
    assert store.count("events") == 25


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "events.csv", 1)
    with pytest.raises(ConfigError, match="path: expected an existing"):
        FileSource(tmp_path / "absent.csv", timestamp="ts")
    (tmp_path / "events.json").write_text("{}")
    with pytest.raises(ConfigError, match="path: expected a file ending in"):
        FileSource(tmp_path / "events.json", timestamp="ts")
    with pytest.raises(ConfigError, match="batch_size: expected an integer >= 1, got 0"):
        FileSource(path, timestamp="ts", batch_size=0)
    with pytest.raises(ConfigError, match="checkpoint: expected file 'events.csv', got 'b.csv'"):
        list(FileSource(path, timestamp="ts").read(since=Checkpoint({"file": "b.csv", "row": 0})))
    with pytest.raises(ConfigError, match="checkpoint: expected a position"):
        FileSource(path, timestamp="ts").commit(Checkpoint({"row": -1}))


def test_elec2_first_rows(datasets: Path) -> None:
    source = FileSource(
        datasets / "elec2.csv", timestamp="timestamp", stream="elec2", batch_size=48
    )
    batches = source.read()
    day = next(batches)
    batches.close()
    source.close()
    frame = day.frame
    assert day.rows == 48 and day.dead_letters == ()
    assert frame["event_id"].iloc[0] == "elec2.csv:0"
    assert frame["event_time"].iloc[0] == pd.Timestamp("1996-05-07", tz="UTC")
    assert (frame["event_time"].diff().dropna() == pd.Timedelta(minutes=30)).all()
    assert {"date", "nswprice", "label"} <= set(frame.columns)
    assert day.checkpoint == Checkpoint({"file": "elec2.csv", "row": 48})
