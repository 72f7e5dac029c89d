"""The id index of the event store: hashes in sorted runs, and a hash match confirmed in the files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lifelong.events import ParquetEventStore
from lifelong.events import parquet_store as store_module
from lifelong.events.id_index import IdIndex, hash_ids


def _frame(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_id": pd.Series(ids, dtype="str"),
            "event_time": pd.Series(pd.Timestamp("2024-01-01", tz="UTC"), index=range(len(ids))),
            "x": np.arange(len(ids), dtype=float),
        }
    )


def test_runs_merge_as_they_grow_and_every_hash_stays_found() -> None:
    index = IdIndex()
    added: list[str] = []
    for part in range(40):
        ids = [f"p{part}-{i}" for i in range(50 + part)]
        index.add(hash_ids(ids), f"part-{part}")
        added.extend(ids)
    assert len(index) == len(added)
    assert len(index._runs) <= 12  # logarithmic in the number of files, not one run per file
    assert index.candidates(hash_ids(added)).all()
    assert not index.candidates(hash_ids([f"new-{i}" for i in range(500)])).any()
    assert index.owners(hash_ids(["p3-0", "p39-0"])) == {"part-3", "part-39"}
    # A shuffled mix of stored and new ids: each answer stays in its own place.
    mixed = [f"new-{i}" if i % 3 else added[(i * 7) % len(added)] for i in range(600)]
    np.random.default_rng(0).shuffle(mixed)
    expected = [name in set(added) for name in mixed]
    assert index.candidates(hash_ids(mixed)).tolist() == expected


def test_ids_whose_hashes_collide_are_told_apart_by_the_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every id hashes alike: each new id is a candidate, and only the files can tell it is new.
    monkeypatch.setattr(store_module, "hash_ids", lambda ids: np.zeros(len(ids), dtype=np.uint64))
    with ParquetEventStore(tmp_path / "events", fsync=False) as store:
        assert store.append("s", _frame(["a", "b"])).written == 2
        result = store.append("s", _frame(["b", "c", "c", "d"]))
        assert (result.written, result.duplicates) == (2, 2)
        assert sorted(store.window("s")["event_id"]) == ["a", "b", "c", "d"]
    with ParquetEventStore(tmp_path / "events", fsync=False) as again:  # rebuilt from the files
        assert again.append("s", _frame(["a", "e"])).written == 1
        assert sorted(again.window("s")["event_id"]) == ["a", "b", "c", "d", "e"]
