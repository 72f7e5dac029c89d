"""The Parquet event store: idempotent appends, windows, dead letters, atomic files."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from events_support import EventsFactory

from lifelong.clock import ManualClock
from lifelong.errors import ConfigError, ValidationError
from lifelong.events import DEAD_LETTER_COLUMNS, DeadLetter, ParquetEventStore
from lifelong.events.partitions import write_journal, write_temporary


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _data_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.parquet"))


def test_same_batch_twice_writes_nothing_the_second_time(
    store: ParquetEventStore, events: EventsFactory
) -> None:
    batch = events(["a", "b", "c"], ["2024-01-01"] * 3, x=[1.0, 2.0, 3.0])
    first = store.append("clicks", batch)
    files = _data_files(store.root)
    second = store.append("clicks", batch)
    assert (first.written, first.duplicates) == (3, 0)
    assert (second.written, second.duplicates) == (0, 3)
    assert _data_files(store.root) == files
    assert store.count("clicks") == 3


def test_overlapping_batches_store_each_id_once(
    store: ParquetEventStore, events: EventsFactory
) -> None:
    store.append("clicks", events(["a", "b"], ["2024-01-01 10:00"] * 2, x=[1.0, 2.0]))
    result = store.append(
        "clicks", events(["b", "c", "d"], ["2024-01-01 10:00"] * 3, x=[20.0, 3.0, 4.0])
    )
    assert (result.written, result.duplicates) == (2, 1)
    frame = store.window("clicks")
    assert frame["event_id"].tolist() == ["a", "b", "c", "d"]
    assert frame.loc[frame["event_id"] == "b", "x"].item() == 2.0


def test_duplicates_inside_a_batch_keep_the_first(
    store: ParquetEventStore, events: EventsFactory
) -> None:
    batch = events(["a", "a", "b", "a"], ["2024-01-01"] * 4, x=[1.0, 9.0, 2.0, 8.0])
    result = store.append("clicks", batch)
    assert (result.written, result.duplicates) == (2, 2)
    frame = store.window("clicks")
    assert frame.set_index("event_id")["x"].to_dict() == {"a": 1.0, "b": 2.0}


def test_an_id_seen_on_another_day_is_a_duplicate(
    store: ParquetEventStore, events: EventsFactory
) -> None:
    store.append("clicks", events(["a"], ["2024-01-01"]))
    result = store.append("clicks", events(["a", "b"], ["2024-03-01", "2024-03-01"]))
    assert (result.written, result.duplicates) == (1, 1)


def test_another_store_on_the_same_folder_sees_ids_written_since(
    tmp_path: Path, events: EventsFactory
) -> None:
    first = ParquetEventStore(tmp_path, fsync=False)
    second = ParquetEventStore(tmp_path, fsync=False)
    second.append("clicks", events(["z"], ["2024-01-01"]))
    first.append("clicks", events(["a"], ["2024-01-01"]))
    assert second.append("clicks", events(["a"], ["2024-01-01"])).duplicates == 1
    assert first.append("clicks", events(["z"], ["2024-01-01"])).duplicates == 1


def test_window_across_day_boundaries(store: ParquetEventStore, events: EventsFactory) -> None:
    times = [
        "2024-01-01 23:59:59.999999",
        "2024-01-02 00:00:00",
        "2024-01-02 00:00:00",
        "2024-01-02 23:59:00",
        "2024-01-03 00:00:01",
    ]
    store.append("clicks", events(["e", "d", "c", "b", "a"], times))
    partitions = sorted(path.name for path in (store.root / "clicks").iterdir() if path.is_dir())
    assert partitions == ["date=2024-01-01", "date=2024-01-02", "date=2024-01-03"]
    day2 = store.window("clicks", _at("2024-01-02"), _at("2024-01-03"))
    assert day2["event_id"].tolist() == ["c", "d", "b"]
    across = store.window("clicks", _at("2024-01-01 23:00"), _at("2024-01-02 00:00:00.000001"))
    assert across["event_id"].tolist() == ["e", "c", "d"]
    assert store.window("clicks", _at("2024-01-02 23:59"))["event_id"].tolist() == ["b", "a"]
    assert store.window("clicks", end=_at("2024-01-02"))["event_id"].tolist() == ["e"]
    assert store.count("clicks", _at("2024-01-02"), _at("2024-01-03")) == 3
    assert store.count("clicks", _at("2024-01-05"), _at("2024-01-04")) == 0


def test_window_orders_by_time_then_id_and_returns_utc_microseconds(
    store: ParquetEventStore, events: EventsFactory
) -> None:
    store.append("clicks", events(["b", "a"], ["2024-01-01 12:00:00.123456789"] * 2))
    store.append("clicks", events(["c"], ["2024-01-01 11:00"]))
    frame = store.window("clicks")
    assert frame["event_id"].tolist() == ["c", "a", "b"]
    assert str(frame["event_time"].dtype) == "datetime64[us, UTC]"
    assert frame["event_time"].iloc[1] == pd.Timestamp("2024-01-01 12:00:00.123456", tz="UTC")


def test_naive_times_and_bounds_are_taken_as_utc(store: ParquetEventStore) -> None:
    frame = pd.DataFrame(
        {
            "event_id": ["a", "b"],
            "event_time": [pd.Timestamp("2024-01-01 10:00"), pd.Timestamp("2024-01-01 11:00")],
        }
    )
    paris = pd.DataFrame(
        {"event_id": ["c"], "event_time": [pd.Timestamp("2024-01-01 13:30", tz="Europe/Paris")]}
    )
    store.append("clicks", frame)
    store.append("clicks", paris)
    window = store.window("clicks", datetime(2024, 1, 1, 10, 30), datetime(2024, 1, 1, 12, 31))
    assert window["event_id"].tolist() == ["b", "c"]
    assert window["event_time"].iloc[1] == pd.Timestamp("2024-01-01 12:30", tz="UTC")


def test_columns_selection_and_unknown_columns(
    store: ParquetEventStore, events: EventsFactory
) -> None:
    store.append("clicks", events(["a"], ["2024-01-01"], x=[1.0], date=[7.0]))
    frame = store.window("clicks", columns=["x", "event_id"])
    assert list(frame.columns) == ["x", "event_id"]
    assert store.window("clicks")["date"].tolist() == [7.0]
    with pytest.raises(ValidationError, match="columns: expected names among"):
        store.window("clicks", columns=["nope"])


def test_payload_columns_may_differ_between_batches(
    store: ParquetEventStore, events: EventsFactory
) -> None:
    store.append("clicks", events(["a"], ["2024-01-01"], x=[1.0]))
    store.append("clicks", events(["b"], ["2024-01-02"], y=["q"]))
    frame = store.window("clicks")
    assert frame["x"].tolist()[0] == 1.0 and pd.isna(frame["x"].tolist()[1])
    assert frame["y"].tolist()[1] == "q"


def test_unknown_stream_and_empty_windows_give_empty_frames(
    store: ParquetEventStore, events: EventsFactory
) -> None:
    empty = store.window("nothing-here")
    assert empty.empty and list(empty.columns) == ["event_id", "event_time"]
    assert list(store.window("nothing-here", columns=["x"]).columns) == ["x"]
    assert store.count("nothing-here") == 0
    store.append("clicks", events(["a"], ["2024-01-01"], x=[1.0]))
    later = store.window("clicks", _at("2030-01-01"))
    assert later.empty and list(later.columns) == ["event_id", "event_time", "x"]


def test_streams_lists_streams_with_events(store: ParquetEventStore, events: EventsFactory) -> None:
    assert store.streams() == []
    store.append("views", events(["a"], ["2024-01-01"]))
    store.append("clicks", events(["a"], ["2024-01-01"]))
    store.append("empty", events([], []))
    store.add_dead_letters([DeadLetter(stream="clicks", reason="x: bad", payload="{}")])
    assert store.streams() == ["clicks", "views"]


@pytest.mark.parametrize(
    "name", ["../escape", "a/b", "", ".hidden", "_dead_letters", "a b", "x" * 129, "é", 5]
)
def test_bad_stream_names_are_refused(
    store: ParquetEventStore, events: EventsFactory, name: object
) -> None:
    with pytest.raises(ConfigError, match="stream: expected letters"):
        store.append(name, events(["a"], ["2024-01-01"]))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="stream: expected letters"):
        store.window(name)  # type: ignore[arg-type]
    assert not list(store.root.parent.rglob("*.parquet"))


@pytest.mark.parametrize(
    ("frame", "column"),
    [
        (pd.DataFrame({"event_time": pd.to_datetime(["2024-01-01"], utc=True)}), "event_id"),
        (pd.DataFrame({"event_id": ["a"]}), "event_time"),
        (pd.DataFrame({"event_id": [1], "event_time": pd.to_datetime(["2024-01-01"])}), "event_id"),
        (
            pd.DataFrame(
                {"event_id": ["a", None], "event_time": pd.to_datetime(["2024-01-01"] * 2)}
            ),
            "event_id",
        ),
        (
            pd.DataFrame({"event_id": [""], "event_time": pd.to_datetime(["2024-01-01"])}),
            "event_id",
        ),
        (pd.DataFrame({"event_id": ["a"], "event_time": ["2024-01-01"]}), "event_time"),
        (pd.DataFrame({"event_id": ["a"], "event_time": [1_700_000_000]}), "event_time"),
        (
            pd.DataFrame(
                {"event_id": ["a", "b"], "event_time": [pd.Timestamp("2024-01-01"), pd.NaT]}
            ),
            "event_time",
        ),
        (
            pd.DataFrame(
                {
                    "event_id": ["a", "b"],
                    "event_time": pd.to_datetime(["2024-01-01"] * 2),
                    "x": [1, "y"],
                }
            ),
            "x",
        ),
    ],
)
def test_bad_frames_raise_naming_the_column_and_write_nothing(
    store: ParquetEventStore, frame: pd.DataFrame, column: str
) -> None:
    with pytest.raises(ValidationError, match=f"^{column}: ") as caught:
        store.append("clicks", frame)
    assert caught.value.field == column
    assert store.count("clicks") == 0


def test_dead_letters_round_trip(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2024, 5, 1, 12, tzinfo=UTC))
    store = ParquetEventStore(tmp_path, fsync=False, clock=clock)
    letters = [
        DeadLetter(
            stream="clicks",
            reason="x1: expected a number, got 'abc'",
            payload='{"x1": "abc"}',
            field="x1",
            event_id="e1",
            source="file:a.csv",
        ),
        DeadLetter(stream="views", reason="payload: expected a JSON object", payload="{oops"),
    ]
    assert store.add_dead_letters(letters) == 2
    clock.advance(timedelta(hours=1))
    assert store.add_dead_letters(letters[:1]) == 0
    frame = store.dead_letters()
    assert list(frame.columns) == list(DEAD_LETTER_COLUMNS)
    assert frame["stream"].tolist() == ["clicks", "views"]
    clicks = store.dead_letters("clicks").iloc[0]
    assert clicks["reason"] == "x1: expected a number, got 'abc'"
    assert (clicks["field"], clicks["event_id"], clicks["source"]) == ("x1", "e1", "file:a.csv")
    assert clicks["payload"] == '{"x1": "abc"}'
    assert clicks["received_at"] == pd.Timestamp("2024-05-01 12:00", tz="UTC")
    views = store.dead_letters("views").iloc[0]
    assert pd.isna(views["field"]) and pd.isna(views["event_id"])
    assert store.dead_letters("nothing").empty
    assert store.add_dead_letters([]) == 0


def test_dead_letters_of_an_empty_store(store: ParquetEventStore) -> None:
    frame = store.dead_letters()
    assert frame.empty and list(frame.columns) == list(DEAD_LETTER_COLUMNS)


def test_temporary_files_are_never_read(store: ParquetEventStore, events: EventsFactory) -> None:
    store.append("clicks", events(["a"], ["2024-01-01"]))
    partition = store.root / "clicks" / "date=2024-01-01"
    (partition / "part-crashed.parquet.tmp").write_bytes(b"PAR1 half a file")
    assert store.window("clicks")["event_id"].tolist() == ["a"]
    assert store.append("clicks", events(["b"], ["2024-01-01"])).written == 1
    assert store.count("clicks") == 2
    assert not [path for path in store.root.rglob("*.tmp") if "crashed" not in path.name]


def test_readers_see_whole_batches_while_a_writer_appends(
    store: ParquetEventStore, events: EventsFactory
) -> None:
    failures: list[str] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            count = len(store.window("clicks"))
            if count % 5:
                failures.append(f"saw {count} rows")

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for number in range(40):
            ids = [f"{number}-{index}" for index in range(5)]
            store.append("clicks", events(ids, ["2024-01-01"] * 5))
    finally:
        done.set()
        reader.join()
    assert failures == []
    assert store.count("clicks") == 200


def test_threads_appending_the_same_ids_store_each_once(
    store: ParquetEventStore, events: EventsFactory
) -> None:
    ids = [f"e{index}" for index in range(60)]
    written: list[int] = []

    def append(offset: int) -> None:
        for start in range(0, 60, 10):
            chunk = ids[(start + offset) % 60 :][:10] or ids[:10]
            written.append(
                store.append("clicks", events(chunk, ["2024-01-01"] * len(chunk))).written
            )

    threads = [threading.Thread(target=append, args=(offset,)) for offset in (0, 10, 20, 30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    frame = store.window("clicks")
    assert sum(written) == 60
    assert sorted(frame["event_id"]) == sorted(ids)


def test_compact_merges_files_and_keeps_every_row(tmp_path: Path, events: EventsFactory) -> None:
    store = ParquetEventStore(tmp_path, fsync=False)
    other = ParquetEventStore(tmp_path, fsync=False)
    for number in range(6):
        store.append("clicks", events([f"a{number}", f"b{number}"], ["2024-01-01", "2024-01-02"]))
    assert other.append("clicks", events(["a0"], ["2024-01-01"])).duplicates == 1
    before = store.window("clicks")
    assert store.compact("clicks") == 12
    assert len(_data_files(tmp_path / "clicks")) == 2
    pd.testing.assert_frame_equal(store.window("clicks"), before)
    assert other.append("clicks", events(["a1", "new"], ["2024-01-01"] * 2)).written == 1
    assert store.append("clicks", events(["b2"], ["2024-01-02"])).duplicates == 1
    assert store.compact("clicks") == 2
    assert store.compact("unknown") == 0


def test_compacted_and_appended_files_have_one_schema(tmp_path: Path, events: EventsFactory) -> None:
    store = ParquetEventStore(tmp_path, fsync=False)
    for number in range(3):
        store.append("clicks", events([f"a{number}"], ["2024-01-01"]))
    assert store.compact("clicks") == 3
    store.append("clicks", events(["later"], ["2024-01-01"]))
    files = _data_files(tmp_path / "clicks")
    assert len(files) == 2
    assert len({pq.read_schema(path).field("event_time").type for path in files}) == 1
    tables = [pq.read_table(path) for path in files]
    assert len(pa.concat_tables(tables, promote_options="permissive")) == 4  # as the read cache joins them


def test_an_interrupted_compaction_never_shows_a_row_twice(
    store: ParquetEventStore, events: EventsFactory
) -> None:
    for number in range(3):
        store.append("clicks", events([f"e{number}"], ["2024-01-01"]))
    partition = store.root / "clicks" / "date=2024-01-01"
    olds = sorted(partition.glob("*.parquet"))
    merged = pd.concat([pd.read_parquet(path) for path in olds], ignore_index=True)
    temporary, final = write_temporary(
        pa.Table.from_pandas(merged, preserve_index=False),
        partition,
        fsync=False,
    )
    write_journal(partition, final.name, [path.name for path in olds], fsync=False)
    assert store.count("clicks") == 3  # journal written, merged file not yet visible
    os.replace(temporary, final)  # the crash happens here, before the old files are removed
    assert store.count("clicks") == 3
    assert store.append("clicks", events(["e1", "e9"], ["2024-01-01"] * 2)).written == 1
    store.compact("clicks")
    assert not (partition / "_compact.json").exists()
    assert sorted(store.window("clicks")["event_id"]) == ["e0", "e1", "e2", "e9"]
    assert len(list(partition.glob("*.parquet"))) == 1


def test_closed_store_refuses_queries(tmp_path: Path, events: EventsFactory) -> None:
    store = ParquetEventStore(tmp_path, fsync=True)
    store.append("clicks", events(["a"], ["2024-01-01"]))
    store.close()
    with pytest.raises(ValidationError, match="closed"):
        store.window("clicks")


def _partitions(store: ParquetEventStore, stream: str = "clicks") -> list[str]:
    return sorted(path.name for path in (store.root / stream).iterdir() if path.is_dir())


def _daily(start: str, count: int, prefix: str = "e") -> tuple[list[str], list[str]]:
    days = pd.date_range(start, periods=count, freq="D")
    return [f"{prefix}{i:04d}" for i in range(count)], [day.strftime("%Y-%m-%d 12:00") for day in days]


def test_one_event_a_day_gets_yearly_partitions_not_a_file_per_event(
    store: ParquetEventStore, events: EventsFactory
) -> None:
    ids, times = _daily("2023-11-01", 250)
    store.append("clicks", events(ids, times, x=[float(i) for i in range(250)]))
    assert _partitions(store) == ["year=2023", "year=2024"]
    assert len(_data_files(store.root / "clicks")) == 2
    more_ids, more_times = _daily("2024-07-08", 5, prefix="f")
    store.append("clicks", events(more_ids, more_times))  # a small later append keeps the period
    assert _partitions(store) == ["year=2023", "year=2024"]
    assert store.count("clicks") == 255
    window = store.window("clicks", _at("2023-12-30"), _at("2024-01-03"))
    assert window["event_id"].tolist() == ["e0059", "e0060", "e0061", "e0062"]
    assert store.count("clicks", _at("2024-07-08"), _at("2024-07-10")) == 2  # pruned to year=2024
    assert store.append("clicks", events(ids[:3], times[:3])).duplicates == 3
    assert store.compact("clicks") == 2  # the two files of year=2024 merged
    assert store.count("clicks") == 255


def test_hourly_events_get_monthly_partitions_and_a_fixed_period_wins(
    tmp_path: Path, events: EventsFactory
) -> None:
    times = [stamp.strftime("%Y-%m-%d %H:%M") for stamp in pd.date_range("2024-01-30", periods=120, freq="h")]
    ids = [f"h{i}" for i in range(120)]
    with ParquetEventStore(tmp_path / "auto", fsync=False) as auto:
        auto.append("clicks", events(ids, times))
        assert _partitions(auto) == ["month=2024-01", "month=2024-02"]
        assert auto.window("clicks", _at("2024-01-31 23:00"), _at("2024-02-01 01:00"))["event_id"].tolist() == ["h47", "h48"]
    with ParquetEventStore(tmp_path / "daily", fsync=False, partition="day") as daily:
        daily.append("clicks", events(ids, times))
        assert _partitions(daily) == ["date=2024-01-30", "date=2024-01-31", "date=2024-02-01", "date=2024-02-02", "date=2024-02-03"]
    with pytest.raises(ValidationError, match="partition: expected one of auto, day, month, year, got 'week'"):
        ParquetEventStore(tmp_path / "bad", partition="week")  # type: ignore[arg-type]


def test_a_store_with_daily_partitions_keeps_them(tmp_path: Path, events: EventsFactory) -> None:
    root = tmp_path / "events"
    with ParquetEventStore(root, fsync=False) as old:
        old.append("clicks", events(["a", "b"], ["2020-01-01", "2020-01-02"]))
    ids, times = _daily("2020-01-03", 250)
    with ParquetEventStore(root, fsync=False) as reopened:  # a sparse append to an old layout
        reopened.append("clicks", events(ids, times))
        assert all(name.startswith("date=") for name in _partitions(reopened))
        assert len(_partitions(reopened)) == 252
        assert reopened.window("clicks", end=_at("2020-01-04"))["event_id"].tolist() == ["a", "b", "e0000"]


def test_partition_listing_keys_each_period_by_its_last_day(tmp_path: Path, events: EventsFactory) -> None:
    from datetime import date

    from lifelong.events.partitions import list_partitions

    with ParquetEventStore(tmp_path / "events", fsync=False, partition="month") as store:
        store.append("clicks", events(["a", "b"], ["2024-02-03", "2024-03-30"]))
        assert sorted(list_partitions(store.root / "clicks")) == [date(2024, 2, 29), date(2024, 3, 31)]


def test_ids_and_measurements_are_stored_without_a_dictionary(
    store: ParquetEventStore, events: EventsFactory
) -> None:
    store.append("clicks", events(["a", "b", "c"], ["2024-01-01"] * 3, x=[1.0, 2.0, 3.0], country=["fr", "fr", "de"]))
    (path,) = _data_files(store.root)
    meta = pq.ParquetFile(path).metadata.row_group(0)
    dictionary = {
        meta.column(i).path_in_schema: any("DICTIONARY" in e for e in meta.column(i).encodings)
        for i in range(meta.num_columns)
    }
    assert dictionary["event_id"] is False and dictionary["x"] is False
    assert dictionary["country"] is True
    assert store.window("clicks", columns=["event_id", "country", "x"]).to_dict("list") == {
        "event_id": ["a", "b", "c"], "country": ["fr", "fr", "de"], "x": [1.0, 2.0, 3.0]
    }
