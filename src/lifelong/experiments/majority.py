"""The replay's answer before any model serves: the most frequent label that had arrived.

Row ``i`` is answered with the class seen most often among the labels that had arrived
before its event time (a label of row ``j`` arrives at ``event_time_j + delay`` and is known
to row ``i`` when ``j < i`` and it arrived strictly before ``event_time_i``, as in
:mod:`lifelong.experiments.context`); on equal counts, the first of the classes; before any
label, the first class. Each row's answer depends only on what had arrived before it, never
on how the stream was cut into batches.

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


class ArrivedMajority:
    """Per-row majority of the arrived labels (see the module docstring)."""

    def __init__(self, classes: Sequence[Any], delay: timedelta = timedelta(0)) -> None:
        self.classes = np.array([str(value) for value in classes], dtype=object)
        self._index = {value: position for position, value in enumerate(self.classes)}
        self._delay = np.timedelta64(delay)
        self._counts = np.zeros(len(self.classes), dtype=np.int64)
        self._pending_times = np.empty(0, dtype="datetime64[ns]")
        self._pending = np.empty(0, dtype=np.int64)

    def answer(self, times: NDArray[np.datetime64], labels: Sequence[str | None]) -> NDArray[Any]:
        """Each row's answer (rows time-ordered, after the previous call's), then their labels are in flight."""
        coded = np.array([-1 if label is None else self._index.get(label, -1) for label in labels], dtype=np.int64)
        arrivals = np.concatenate([self._pending_times, times + self._delay])
        values = np.concatenate([self._pending, coded])
        offset = len(self._pending_times)
        known = np.minimum(np.searchsorted(arrivals, times, side="left"), offset + np.arange(len(times)))
        seen = np.zeros((len(values) + 1, len(self.classes)), dtype=np.int64)
        rows = np.flatnonzero(values >= 0)
        seen[rows + 1, values[rows]] = 1
        seen = np.cumsum(seen, axis=0)  # seen[k]: the counts of the first k labels
        answers = self.classes[(self._counts + seen[known]).argmax(axis=1)]
        cut = int(np.searchsorted(arrivals, times[-1], side="left")) if len(times) else 0
        self._counts = self._counts + seen[cut]
        self._pending_times, self._pending = arrivals[cut:], values[cut:]
        return answers


__all__ = ["ArrivedMajority"]
