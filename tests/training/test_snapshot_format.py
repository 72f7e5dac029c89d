"""Snapshot bytes and statistics: the fast paths give what the reference computations give."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lifelong.registry import ArtifactStore
from lifelong.training.snapshot import _summary, read_snapshot, snapshot_bytes, write_snapshot


def _rows(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    times = pd.date_range("2024-01-01", periods=n, freq="min", tz="UTC")
    return pd.DataFrame(
        {
            "event_id": pd.Series([f"e{i}" for i in range(n)], dtype="str"),
            "event_time": times,
            "x": rng.standard_normal(n) * 1e3,
            "gap": np.where(rng.random(n) < 0.2, np.nan, rng.random(n)),
            "spike": np.where(np.arange(n) == 1, np.inf, rng.random(n)),
            "count": rng.integers(0, 100, n),
            "small": rng.integers(0, 5, n).astype("int32"),
            "maybe": pd.array([None if i % 3 == 0 else i for i in range(n)], dtype="Int64"),
            "flag": rng.random(n) < 0.5,
            "city": pd.Categorical(rng.choice(["a", "b", "c"], n)),
            "note": pd.Series([None if i % 4 == 0 else f"n{i}" for i in range(n)], dtype="str"),
            "label": rng.integers(0, 2, n),
            "label_time": times + pd.Timedelta(minutes=5),
        }
    )


def _reference_bytes(frame: pd.DataFrame) -> bytes:
    """The bytes as pandas' own conversion gives them, without its metadata."""
    table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False).replace_schema_metadata(None)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd", use_dictionary=False, write_statistics=False)
    return buffer.getvalue()


def _reference_summary(frame: pd.DataFrame, label: str) -> dict[str, Any]:
    """One column at a time, on its finite values."""
    stats: dict[str, Any] = {}
    for column, dtype in frame.dtypes.items():
        if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            continue
        values = frame[column].to_numpy(dtype=np.float64, na_value=np.nan)
        finite = values[np.isfinite(values)]
        if len(finite):
            stats[str(column)] = {
                "mean": float(finite.mean()),
                "std": float(finite.std()),
                "min": float(finite.min()),
                "max": float(finite.max()),
            }
    if label in frame.columns and len(frame):
        stats["label_counts"] = {str(k): int(v) for k, v in frame[label].astype(str).value_counts().items()}
    return stats


@pytest.mark.parametrize("n", [1, 7, 129, 2500])
def test_snapshot_bytes_match_the_pandas_conversion(n: int) -> None:
    frame = _rows(n)
    assert snapshot_bytes(frame) == _reference_bytes(frame)
    assert snapshot_bytes(frame.iloc[n // 3 :].reset_index(drop=True)) == _reference_bytes(frame.iloc[n // 3 :])


@pytest.mark.parametrize("n", [0, 1, 2, 17, 9800])
def test_summary_matches_a_column_by_column_computation_bit_for_bit(n: int) -> None:
    frame = _rows(n, seed=n)
    frame["empty"] = np.nan
    assert _summary(frame, "label") == _reference_summary(frame, "label")
    wide = frame.sample(frac=1.0, random_state=1)  # not one block in row order
    assert _summary(wide, "label") == _reference_summary(wide, "label")


def test_snapshot_reads_back_its_exact_rows(tmp_path: Any) -> None:
    store = ArtifactStore(tmp_path / "artifacts")
    frame = _rows(300).drop(columns=["city", "maybe"])  # types Parquet gives back as they were
    ref = write_snapshot(store, frame, start=None, end=None, source="test")
    back = read_snapshot(store, ref)
    pd.testing.assert_frame_equal(back, frame, check_dtype=True)
    assert write_snapshot(store, frame.copy(), start=None, end=None, source="test").sha256 == ref.sha256
