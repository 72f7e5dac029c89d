"""A bounded, seeded reservoir of past rows, replayed into each stateful update.

Reservoir sampling (Vitter's algorithm R) keeps a uniform sample of every row ever added,
at most ``capacity`` of them. The random draws of each :meth:`ReservoirBuffer.add` come from a
generator seeded by ``(seed, rows seen so far)``, so the buffer's content depends only on the
seed and the rows added — also across a save and load, which store no generator state.

Examples
--------
>>> import numpy as np
>>> buffer = ReservoirBuffer(capacity=3, seed=0)
>>> buffer.add(np.arange(10.0).reshape(5, 2), np.array([0, 1, 0, 1, 1]))
>>> buffer.size, buffer.seen
(3, 5)
>>> buffer.X.shape, buffer.codes.dtype
((3, 2), dtype('int64'))
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from lifelong.errors import ArtifactError, ValidationError
from lifelong.learners._checks import FloatArray, check_int


class ReservoirBuffer:
    """A uniform sample of at most ``capacity`` rows (features and class codes) seen so far.

    Parameters
    ----------
    capacity
        Most rows kept (at least 1).
    seed
        Seeds the sampling draws.
    """

    def __init__(self, capacity: int, *, seed: int = 0) -> None:
        self.capacity = check_int("capacity", capacity, minimum=1)
        self.seed = check_int("seed", seed, minimum=0)
        self.seen = 0
        self._X: FloatArray | None = None
        self._codes: NDArray[np.int64] = np.empty(0, dtype=np.int64)

    @property
    def size(self) -> int:
        """Rows held now."""
        return int(self._codes.shape[0])

    @property
    def X(self) -> FloatArray:
        """Held feature rows, shape ``(size, n_features)``."""
        if self._X is None:
            return np.empty((0, 0), dtype=np.float64)
        return self._X[: self.size]

    @property
    def codes(self) -> NDArray[np.int64]:
        """Class codes (indices into the learner's classes) of the held rows."""
        return self._codes

    def add(self, X: FloatArray, codes: NDArray[np.integer]) -> None:
        """Offer rows to the reservoir, in order."""
        rows = np.asarray(X, dtype=np.float64)
        labels = np.asarray(codes, dtype=np.int64)
        if rows.ndim != 2 or labels.shape != (rows.shape[0],):
            raise ValidationError(
                f"X, codes: expected a 2-D array and one code per row, got shapes "
                f"{rows.shape} and {labels.shape}",
                field="X",
            )
        if self._X is not None and rows.shape[1] != self._X.shape[1]:
            raise ValidationError(
                f"X: expected {self._X.shape[1]} feature columns, got {rows.shape[1]}", field="X"
            )
        if self._X is None:
            self._X = np.empty((self.capacity, rows.shape[1]), dtype=np.float64)
        held = list(self._codes)
        free = min(self.capacity - len(held), rows.shape[0])
        self._X[len(held) : len(held) + free] = rows[:free]
        held.extend(labels[:free].tolist())
        rest = np.arange(free, rows.shape[0])
        if rest.size:
            rng = np.random.default_rng([self.seed, self.seen])
            slots = rng.integers(0, self.seen + rest + 1)
            for row, slot in zip(rest.tolist(), slots.tolist(), strict=True):
                if slot < self.capacity:
                    self._X[slot] = rows[row]
                    held[slot] = int(labels[row])
        self._codes = np.asarray(held, dtype=np.int64)
        self.seen += rows.shape[0]

    def clear(self) -> None:
        """Forget every row (a fit from scratch starts a new reservoir)."""
        self.seen = 0
        self._X = None
        self._codes = np.empty(0, dtype=np.int64)

    def restore(self, X: FloatArray, codes: NDArray[np.integer], seen: int) -> None:
        """Set the content read back from a checkpoint."""
        rows = np.asarray(X, dtype=np.float64)
        labels = np.asarray(codes, dtype=np.int64)
        if rows.ndim != 2 or labels.shape != (rows.shape[0],) or rows.shape[0] > self.capacity:
            raise ArtifactError(
                f"replay: expected at most {self.capacity} rows with one code each, got shapes "
                f"{rows.shape} and {labels.shape}"
            )
        if seen < rows.shape[0]:
            raise ArtifactError(f"replay: seen: expected >= {rows.shape[0]}, got {seen}")
        self.clear()
        if rows.shape[0]:
            self._X = np.empty((self.capacity, rows.shape[1]), dtype=np.float64)
            self._X[: rows.shape[0]] = rows
        self._codes = labels
        self.seen = int(seen)


__all__ = ["ReservoirBuffer"]
