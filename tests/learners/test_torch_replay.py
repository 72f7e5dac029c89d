"""ReservoirBuffer (the replay of the PyTorch learners): bounded, uniform, seeded, restorable."""

from __future__ import annotations

import numpy as np
import pytest

from lifelong.errors import ArtifactError, ValidationError
from lifelong.learners.replay import ReservoirBuffer


def _rows(start: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    index = np.arange(start, start + n, dtype=np.float64)
    return np.column_stack([index, -index]), (np.arange(start, start + n) % 2)


def test_bounded_and_deterministic() -> None:
    first, second = ReservoirBuffer(50, seed=3), ReservoirBuffer(50, seed=3)
    for start in range(0, 1000, 100):
        first.add(*_rows(start, 100))
        second.add(*_rows(start, 100))
    assert first.size == 50 and first.seen == 1000
    np.testing.assert_array_equal(first.X, second.X)
    np.testing.assert_array_equal(first.codes, first.X[:, 0].astype(np.int64) % 2)
    other = ReservoirBuffer(50, seed=4)
    for start in range(0, 1000, 100):
        other.add(*_rows(start, 100))
    assert not np.array_equal(first.X, other.X)


def test_a_uniform_sample_of_the_whole_stream() -> None:
    """Every row is kept with probability capacity / seen, old rows as much as recent ones."""
    kept = np.zeros(2000)
    for seed in range(200):
        buffer = ReservoirBuffer(100, seed=seed)
        for start in range(0, 2000, 250):
            buffer.add(*_rows(start, 250))
        kept[buffer.X[:, 0].astype(int)] += 1
    per_quarter = kept.reshape(4, 500).sum(axis=1) / (200 * 100)
    # each quarter of the stream holds a quarter of the sample (binomial sd about 0.003)
    np.testing.assert_allclose(per_quarter, 0.25, atol=0.02)


def test_restore_continues_as_if_never_saved() -> None:
    live = ReservoirBuffer(30, seed=1)
    live.add(*_rows(0, 100))
    restored = ReservoirBuffer(30, seed=1)
    restored.restore(live.X.copy(), live.codes.copy(), live.seen)
    live.add(*_rows(100, 100))
    restored.add(*_rows(100, 100))
    np.testing.assert_array_equal(live.X, restored.X)
    with pytest.raises(ArtifactError, match="at most 30 rows"):
        restored.restore(np.zeros((31, 2)), np.zeros(31, dtype=np.int64), 40)


def test_rows_of_another_width_are_refused() -> None:
    buffer = ReservoirBuffer(5)
    buffer.add(*_rows(0, 3))
    with pytest.raises(ValidationError, match="expected 2 feature columns, got 3"):
        buffer.add(np.zeros((2, 3)), np.zeros(2, dtype=np.int64))
