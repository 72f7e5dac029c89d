"""The event store's read cache: same answers as reading the files, bounded, never stale."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lifelong.errors import ConfigError
from lifelong.events import ParquetEventStore
from lifelong.events.file_cache import FileCache

START = pd.Timestamp("2024-01-02", tz="UTC")
END = pd.Timestamp("2024-01-10", tz="UTC")


def _batch(index: int, rng: np.random.Generator, rows: int = 40) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "event_id": [f"{index}-{k}" for k in range(rows)],
            "event_time": pd.date_range("2024-01-01", periods=rows, freq="7h", tz="UTC") + pd.Timedelta(hours=index),
            "x": rng.normal(size=rows),
            "colour": rng.choice(["red", "blue"], rows),
            "y": rng.integers(0, 2, rows).astype(float),
        }
    )
    if index == 2:
        frame["extra"] = 1.5  # a column only some files have
    return frame


def _uncached(store: ParquetEventStore) -> None:
    def refuse(files: object) -> pa.Table:
        raise pa.ArrowInvalid("force the DuckDB reader")

    store._files.read = refuse  # type: ignore[method-assign]


def test_cached_window_equals_reading_the_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    store = ParquetEventStore(tmp_path, fsync=False)
    for index in range(4):
        store.append("events", _batch(index, rng))
    cached = store.window("events", START, END)
    assert store._files.stats()["hits"] > 0
    plain = ParquetEventStore(tmp_path, fsync=False)
    _uncached(plain)
    pd.testing.assert_frame_equal(cached, plain.window("events", START, END))
    assert store.count("events", START, END) == plain.count("events", START, END) == len(cached)
    assert "extra" in cached.columns and cached["extra"].notna().any() and cached["extra"].isna().any()
    store.close()
    plain.close()


def test_files_written_by_another_store_are_seen(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    reader = ParquetEventStore(tmp_path, fsync=False)
    writer = ParquetEventStore(tmp_path, fsync=False)
    writer.append("events", _batch(0, rng))
    before = reader.count("events")
    writer.append("events", _batch(1, rng))
    assert reader.count("events") == before + 40
    writer.compact("events")
    assert reader.count("events") == before + 40
    assert reader.window("events")["event_id"].is_unique
    reader.close()
    writer.close()


def test_compaction_keeps_answers_and_drops_replaced_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    store = ParquetEventStore(tmp_path, fsync=False)
    for index in range(3):
        store.append("events", _batch(index, rng))
    before = store.window("events", START, END)
    held = store._files.stats()["files"]
    assert store.compact("events") > 0
    assert store._files.stats()["files"] < held
    pd.testing.assert_frame_equal(before, store.window("events", START, END))
    store.close()


def test_cache_is_bounded_by_bytes(tmp_path: Path) -> None:
    paths = []
    for index in range(5):
        path = tmp_path / f"part-{index}.parquet"
        pq.write_table(pa.table({"x": np.arange(1000, dtype=np.int64) + index}), path)
        paths.append(path)
    one = pq.read_table(paths[0]).nbytes
    cache = FileCache(max_bytes=2 * one)
    table = cache.read(paths)
    assert table.num_rows == 5000
    assert cache.stats()["files"] == 2 and cache.stats()["bytes"] <= 2 * one
    cache.read(paths[-1:])
    assert cache.stats()["hits"] == 1


def test_cache_size_is_checked() -> None:
    with pytest.raises(ConfigError, match="max_bytes"):
        FileCache(max_bytes=-1)
