"""Which event ids a stream already stores, in 12 bytes per id: hashes, confirmed on a match.

The event store drops an event whose id it already holds. Keeping every id as a Python
string costs about 90 bytes each, so memory grows with the stream; :class:`IdIndex` keeps a
64-bit hash of each id instead, with the data file that holds the id (4 bytes). The hashes
live in a few sorted runs (merged as they grow, like a binary counter), looked up with
``searchsorted``. A hash match is only a candidate: the ids of the files that hold the
matching hashes are read back and compared, so two different ids with the same hash never
make a new event count as a duplicate. Hashes are Python's own string hash; they are never
written anywhere, and the index is rebuilt from the files in each process.

Examples
--------
>>> index = IdIndex()
>>> index.add(hash_ids(["a", "b"]), "part-1.parquet")
>>> index.candidates(hash_ids(["b", "c"])).tolist()
[True, False]
>>> index.owners(hash_ids(["b", "c"]))
{'part-1.parquet'}
>>> len(index)
2
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_Run = tuple[np.ndarray, np.ndarray]


def hash_ids(ids: Sequence[str]) -> np.ndarray:
    """64-bit hashes of ``ids`` (stable within a process only; never stored)."""
    return np.fromiter(map(hash, ids), dtype=np.int64, count=len(ids)).view(np.uint64)


def _merge(older: _Run, newer: _Run) -> _Run:
    """Two sorted runs as one (linear: each element of ``newer`` goes to its place in ``older``)."""
    hashes, owners = older
    new_hashes, new_owners = newer
    places = np.searchsorted(hashes, new_hashes) + np.arange(len(new_hashes))
    merged_hashes = np.empty(len(hashes) + len(new_hashes), dtype=np.uint64)
    merged_owners = np.empty(len(merged_hashes), dtype=np.uint32)
    rest = np.ones(len(merged_hashes), dtype=bool)
    rest[places] = False
    merged_hashes[places] = new_hashes
    merged_owners[places] = new_owners
    merged_hashes[rest] = hashes
    merged_owners[rest] = owners
    return merged_hashes, merged_owners


class IdIndex:
    """Hashes of the ids held by a set of data files, each with the file that holds it."""

    def __init__(self) -> None:
        self.files: set[str] = set()
        self._paths: list[str] = []
        self._runs: list[_Run] = []

    def __len__(self) -> int:
        return sum(len(hashes) for hashes, _ in self._runs)

    def add(self, hashes: np.ndarray, path: str) -> None:
        """Record the ids (by hash) of the data file ``path``."""
        self.files.add(path)
        if not len(hashes):
            return
        self._paths.append(path)
        order = np.argsort(hashes, kind="stable")
        run: _Run = (hashes[order], np.full(len(hashes), len(self._paths) - 1, dtype=np.uint32))
        while self._runs and len(self._runs[-1][0]) <= 2 * len(run[0]):
            run = _merge(self._runs.pop(), run)
        self._runs.append(run)

    def _found(self, hashes: np.ndarray) -> tuple[np.ndarray, set[int]]:
        # Sorted needles make the binary searches walk each run in order (few cache misses:
        # about 6x faster than unsorted ones against half a million ids).
        order = np.argsort(hashes)
        needles = hashes[order]
        found_sorted = np.zeros(len(needles), dtype=bool)
        owners: set[int] = set()
        for run_hashes, run_owners in self._runs:
            first = np.searchsorted(run_hashes, needles, side="left")
            hit = run_hashes[np.minimum(first, len(run_hashes) - 1)] == needles
            if not hit.any():
                continue
            found_sorted |= hit
            first = first[hit]
            last = np.searchsorted(run_hashes, needles[hit], side="right")
            if (last - first == 1).all():
                owners.update(run_owners[first].tolist())
            else:  # one hash held by several ids (a collision): every file that holds it
                for start, stop in zip(first.tolist(), last.tolist(), strict=True):
                    owners.update(run_owners[start:stop].tolist())
        found = np.empty(len(hashes), dtype=bool)
        found[order] = found_sorted
        return found, owners

    def candidates(self, hashes: np.ndarray) -> np.ndarray:
        """Whether each hash is one of a stored id (maybe another id with the same hash)."""
        return self._found(hashes)[0]

    def owners(self, hashes: np.ndarray) -> set[str]:
        """The files that hold an id with one of ``hashes``: where to confirm a candidate."""
        return {self._paths[owner] for owner in self._found(hashes)[1]}


__all__ = ["IdIndex", "hash_ids"]
