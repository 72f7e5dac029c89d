"""Sampling of training rows: rebalancing, time-decay weights, the replay reservoir, the loop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pipeline_support import write_spec, write_stream

from lifelong.config import TrainingConfig, load_config
from lifelong.errors import ConfigError, DataError
from lifelong.ingest import ingest_once
from lifelong.orchestrator import Orchestrator, UpdateResult
from lifelong.runtime import Pipeline
from lifelong.training import read_snapshot
from lifelong.training.reservoir import ReplayReservoir
from lifelong.training.sampling import (
    WEIGHT,
    SamplingConfig,
    downsample,
    prepare_training_frame,
    sampling_config,
    time_decay_weights,
    upsample,
)
from lifelong.triggers import Decision

NOW = datetime(2024, 6, 1, tzinfo=UTC)


def _rows(n: int, *, start: int = 0, positives: int | None = None) -> pd.DataFrame:
    labels = np.zeros(n, dtype=np.int64)
    labels[: positives if positives is not None else n // 2] = 1
    return pd.DataFrame(
        {
            "event_id": [f"e{i:06d}" for i in range(start, start + n)],
            "event_time": pd.Series(
                [NOW - timedelta(days=30) + timedelta(minutes=i) for i in range(start, start + n)],
                dtype="datetime64[us, UTC]",
            ),
            "user": [f"u{i % 7 if i % 3 else 0}" for i in range(start, start + n)],
            "label": labels,
        }
    )


def test_downsampling_by_class_is_balanced_seeded_and_keeps_order() -> None:
    frame = _rows(100, positives=10)
    down = downsample(frame, "label", seed=1)
    assert down["label"].value_counts().to_dict() == {1: 10, 0: 10}
    assert down.index.is_monotonic_increasing and set(down.index[down["label"] == 1]) == set(
        range(10)
    )
    assert down.equals(downsample(frame, "label", seed=1))
    assert not down.equals(downsample(frame, "label", seed=2))
    capped = downsample(frame, "label", per_group=30, seed=0)
    assert capped["label"].value_counts().to_dict() == {0: 30, 1: 10}


def test_downsampling_by_key_caps_heavy_users() -> None:
    frame = _rows(210)
    counts = frame["user"].value_counts()
    assert counts.max() > 2 * counts.min()
    down = downsample(frame, "user", per_group=15, seed=0)
    assert down["user"].value_counts().max() == 15
    assert (
        down["user"].value_counts()
        == counts.clip(upper=15).reindex(down["user"].value_counts().index)
    ).all()


def test_upsampling_repeats_minority_rows_and_keeps_every_row() -> None:
    frame = _rows(50, positives=5)
    up = upsample(frame, "label", seed=0)
    assert up["label"].value_counts().to_dict() == {0: 45, 1: 45}
    assert set(up["event_id"]) == set(frame["event_id"])
    assert up[up["label"] == 0]["event_id"].is_unique
    assert up.equals(upsample(frame, "label", seed=0))
    floor = upsample(frame, "user", per_group=20, seed=0)
    assert floor["user"].value_counts().min() == 20
    with pytest.raises(
        DataError, match="sampling.by: expected a column of the training rows, got 'nope'"
    ):
        upsample(frame, "nope")
    assert upsample(frame.iloc[:0], "label").empty and downsample(frame.iloc[:0], "label").empty


def test_time_decay_weights_halve_every_half_life() -> None:
    times = pd.Series(
        pd.to_datetime(
            [NOW, NOW - timedelta(days=2), NOW - timedelta(days=4), NOW + timedelta(days=1)]
        )
    )
    weights = time_decay_weights(times, now=NOW, half_life=timedelta(days=2))
    assert weights.tolist() == pytest.approx([1.0, 0.5, 0.25, 1.0])
    with pytest.raises(ConfigError, match="sampling.half_life: expected a duration > 0"):
        time_decay_weights(times, now=NOW, half_life=timedelta(0))


def test_the_reservoir_is_a_uniform_bounded_sample() -> None:
    """Each of 200 rows should be kept with probability 20/200; check over 150 seeded runs."""
    frame = _rows(200)
    kept = np.zeros(200)
    for seed in range(150):
        reservoir = ReplayReservoir(Path("/nonexistent"), size=20, seed=seed)
        for start in range(0, 200, 70):  # offered in uneven batches
            reservoir.offer(frame.iloc[start : start + 70])
        rows = reservoir.rows()
        assert len(rows) == 20 and rows["event_id"].is_unique
        kept[rows["event_id"].str[1:].astype(int).to_numpy()] += 1
    expected = 150 * 20 / 200
    # Early and late rows alike: no bias towards the first rows (fill) or the last ones.
    assert abs(kept[:50].mean() - expected) < 0.1 * expected
    assert abs(kept[-50:].mean() - expected) < 0.1 * expected
    chi2 = float(((kept - expected) ** 2 / expected).sum())
    assert chi2 < 270  # 199 degrees of freedom: p ~ 0.001


def test_the_reservoir_persists_and_resumes_exactly(tmp_path: Path) -> None:
    frame = _rows(500)
    whole = ReplayReservoir(tmp_path / "a", size=30, seed=5)
    whole.offer(frame)
    parts = ReplayReservoir.open(tmp_path / "b", size=30, seed=5)
    parts.offer(frame.iloc[:123])
    parts.save()
    resumed = ReplayReservoir.open(tmp_path / "b", size=30, seed=5)
    assert resumed.seen == 123 and resumed.rows().equals(parts.rows())
    assert resumed.offer(frame.iloc[:200]) == 77  # rows up to e000122 were offered already
    resumed.offer(frame.iloc[200:])
    assert resumed.seen == whole.seen == 500
    assert resumed.rows()["event_id"].tolist() == whole.rows()["event_id"].tolist()
    assert resumed.rows()["event_time"].dtype == frame["event_time"].dtype
    with pytest.raises(
        ConfigError,
        match=r"sampling.reservoir_size: expected 30 \(the size of the stored reservoir",
    ):
        ReplayReservoir.open(tmp_path / "b", size=40, seed=5)
    with pytest.raises(DataError, match=r"expected columns \['event_id'\] in the offered rows"):
        resumed.offer(frame.drop(columns=["event_id"]))


def test_prepare_applies_replay_balance_and_weights(tmp_path: Path) -> None:
    config = SamplingConfig(
        balance="downsample", by="label", half_life="10d", reservoir_size=40, seed=3
    )
    first = prepare_training_frame(_rows(100, positives=20), config, now=NOW, state_dir=tmp_path)
    assert first["label"].value_counts().to_dict() == {0: 20, 1: 20}
    assert first[WEIGHT].between(0.1, 1.0).all()
    age_days = (pd.Timestamp(NOW) - first["event_time"]).dt.total_seconds() / 86400
    assert first[WEIGHT].to_numpy() == pytest.approx(0.5 ** (age_days.to_numpy() / 10))
    later = _rows(60, start=100, positives=30)
    second = prepare_training_frame(
        later, config.model_copy(update={"balance": "none"}), now=NOW, state_dir=tmp_path
    )
    replayed = second[~second["event_id"].isin(later["event_id"])]
    assert len(replayed) == 40 and (replayed["event_id"].str[1:].astype(int) < 100).all()
    assert second["event_time"].is_monotonic_increasing
    untouched = prepare_training_frame(
        later, TrainingConfig(), now=NOW, state_dir=tmp_path / "none"
    )
    assert untouched.equals(later) and not (tmp_path / "none").exists()


def test_sampling_config_defaults_and_validation() -> None:
    assert sampling_config(TrainingConfig()) == SamplingConfig()
    with pytest.raises(ValueError, match="reservoir_size"):
        SamplingConfig(reservoir_size=-1)
    with pytest.raises(ValueError, match="balance"):
        SamplingConfig(balance="smote")  # type: ignore[arg-type]


def test_the_loop_replays_reservoir_rows_into_stateful_updates(tmp_path: Path) -> None:
    write_stream(tmp_path / "events.csv", days=3, per_hour=10)
    config = load_config(
        write_spec(
            tmp_path, training={"mode": "stateful", "window": "1d", "holdout": "6h", "min_rows": 50}
        )
    )
    training = config.training.model_copy(
        update={"sampling": SamplingConfig(reservoir_size=60, half_life="1d", seed=0)}
    )
    pipeline = Pipeline.open(config.model_copy(update={"training": training}))
    try:
        ingest_once(pipeline)
        start = pipeline.store.window("events")["event_time"].min().to_pydatetime()
        orchestrator = Orchestrator(pipeline)
        first = orchestrator.update(
            start + timedelta(days=1, hours=6), Decision(True, "manual", "first")
        )
        second = orchestrator.update(
            start + timedelta(days=2, hours=6), Decision(True, "manual", "second")
        )
        assert isinstance(first, UpdateResult) and isinstance(second, UpdateResult)
        assert (tmp_path / "home" / "replay" / "churn" / "reservoir.parquet").exists()
        version = pipeline.registry.get("churn", second.version)
        snapshot = read_snapshot(pipeline.registry.artifacts, version.lineage.snapshot)  # type: ignore[arg-type]
        first_end = pd.Timestamp(pipeline.registry.get("churn", first.version).lineage.snapshot.end)  # type: ignore[union-attr]
        replayed = snapshot[snapshot["event_time"] < first_end]
        assert len(replayed) == 60  # the whole reservoir of rows the first version trained on
        assert WEIGHT in snapshot.columns and snapshot[WEIGHT].max() <= 1.0
        assert snapshot[WEIGHT].iloc[0] < snapshot[WEIGHT].iloc[-1]
    finally:
        pipeline.close()
