"""The answer before any model serves: the majority of the labels that had arrived, whatever the batching."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import numpy as np
import pytest

from lifelong.experiments.majority import ArrivedMajority

CLASSES = ("no", "yes", "maybe")


def reference(times: np.ndarray, labels: list[str | None], delay: timedelta) -> list[str]:
    """Row by row: the most frequent label among earlier rows whose label arrived strictly before."""
    out = []
    for i, now in enumerate(times):
        counts = Counter(label for j, label in enumerate(labels[:i]) if label is not None and times[j] + np.timedelta64(delay) < now)
        best = max((counts[c] for c in CLASSES), default=0)
        out.append(next(c for c in CLASSES if counts[c] == best))
    return out


@pytest.mark.parametrize("delay", [timedelta(0), timedelta(minutes=45), timedelta(hours=5)])
@pytest.mark.parametrize("size", [1, 13, 400])
def test_each_row_gets_the_arrived_majority_whatever_the_cut(delay: timedelta, size: int) -> None:
    rng = np.random.default_rng(2)
    n = 400
    times = np.datetime64("2024-01-01T00:00", "ns") + np.cumsum(rng.integers(0, 40, n)).astype("timedelta64[m]")
    labels: list[str | None] = [None if rng.random() < 0.1 else str(rng.choice(CLASSES, p=[0.3, 0.5, 0.2])) for _ in range(n)]
    majority = ArrivedMajority(CLASSES, delay=delay)
    got = np.concatenate([majority.answer(times[i : i + size], labels[i : i + size]) for i in range(0, n, size)])
    assert got.tolist() == reference(times, labels, delay)


def test_labels_outside_the_classes_are_not_counted() -> None:
    majority = ArrivedMajority((0, 1))
    times = np.array(["2024-01-01T00:00", "2024-01-01T00:01", "2024-01-01T00:02"], dtype="datetime64[ns]")
    assert majority.answer(times, ["1", "7", "7"]).tolist() == ["0", "1", "1"]
