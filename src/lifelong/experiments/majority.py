"""The replay's answer before any model serves: the most frequent label that had arrived.

Row ``i`` is answered with the class seen most often among the labels that had arrived
before its event time (:mod:`lifelong.experiments.arrivals`); on equal counts, the first of
the classes; before any label, the first class. Each row's answer depends only on what had
arrived before it, never on how the stream was cut into batches.

Examples
--------
>>> import numpy as np
>>> majority = ArrivedMajority(("a", "b"))
>>> times = np.array(["2024-01-01T00:00", "2024-01-01T00:01", "2024-01-01T00:02"], dtype="datetime64[ns]")
>>> majority.answer(times, ["b", "b", "a"]).tolist()
['a', 'b', 'b']
>>> majority.answer(times + np.timedelta64(3, "m"), ["a", None, "a"]).tolist()  # a tie: the first class
['b', 'a', 'a']
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lifelong.experiments.arrivals import LabelArrivals


class ArrivedMajority:
    """Per-row majority of the arrived labels (see the module docstring)."""

    def __init__(self, classes: Sequence[Any], delay: timedelta = timedelta(0)) -> None:
        self.classes = np.array([str(value) for value in classes], dtype=object)
        self._index = {value: position for position, value in enumerate(self.classes)}
        self._counts = np.zeros(len(self.classes), dtype=np.int64)
        self._arrivals = LabelArrivals(delay, dtype=np.int64)

    def answer(self, times: NDArray[np.datetime64], labels: Sequence[str | None]) -> NDArray[Any]:
        """Each row's answer (rows time-ordered, after the previous call's), then their labels are in flight."""
        coded = np.array([-1 if label is None else self._index.get(label, -1) for label in labels], dtype=np.int64)
        values, known, cut = self._arrivals.add(times, coded)
        seen = np.zeros((len(values) + 1, len(self.classes)), dtype=np.int64)
        rows = np.flatnonzero(values >= 0)
        seen[rows + 1, values[rows]] = 1
        seen = np.cumsum(seen, axis=0)  # seen[k]: the counts of the first k labels
        answers = self.classes[(self._counts + seen[known]).argmax(axis=1)]
        self._counts = self._counts + seen[cut]
        return answers


__all__ = ["ArrivedMajority"]
