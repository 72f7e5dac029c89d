"""A lineage as a sequence: which versions it holds is fixed at once, records read on access.

Examples
--------
>>> pages = []
>>> def fetch(parts):
...     pages.append(parts)
...     return [f"{segment}:{position}" for segment, low, high in parts
...             for position in range(high, low - 1, -1)]
>>> chain = VersionChain([(7, 2), (1, 4)], fetch, block=3)
>>> len(chain), chain[0], chain[-1]
(8, '7:2', '1:0')
>>> list(chain)
['7:2', '7:1', '7:0', '1:4', '1:3', '1:2', '1:1', '1:0']
>>> pages  # chain[0], chain[-1], then iterating reads the one block still missing
[[(7, 0, 2)], [(1, 0, 1)], [(1, 2, 4)]]
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar, overload

T = TypeVar("T")
BLOCK = 256
"""Records read per database round trip when indexing."""
_MAX_RUN = 32

Fetch = Callable[[list[tuple[int, int, int]]], list[T]]


class VersionChain(Sequence[T]):
    """A version, then its parent, grandparent... up to the root.

    Which versions the chain holds is settled when it is made (a list of lineage segments:
    ``(segment, top position)``, each covering positions ``top`` down to 0). The records
    themselves are read on first access, ``block`` at a time (iterating reads growing runs of
    blocks), in chain order; each read is a transaction of its own, so a record's mutable fields (metrics, evaluation, status) are
    those of the moment it is read. Versions are never deleted, so every record is found.

    Parameters
    ----------
    segments
        ``(segment id, top position)`` from the version's own segment to the root's.
    fetch
        Reads ``[(segment, low, high), ...]`` and returns the records of positions ``high``
        down to ``low`` of each, in that order.
    block
        Records per read.
    """

    def __init__(
        self, segments: Sequence[tuple[int, int]], fetch: Fetch[T], *, block: int = BLOCK
    ) -> None:
        if block < 1:
            raise ValueError(f"block: expected an integer >= 1, got {block!r}")
        self._segments = [(int(segment), int(top)) for segment, top in segments]
        self._starts: list[int] = []
        total = 0
        for _, top in self._segments:
            self._starts.append(total)
            total += top + 1
        self._length = total
        self._fetch = fetch
        self._block = block
        self._blocks: dict[int, list[T]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._length))]
        if not isinstance(index, int) or isinstance(index, bool):
            raise TypeError(f"index: expected an integer or a slice, got {type(index).__name__}")
        position = index + self._length if index < 0 else index
        if not 0 <= position < self._length:
            raise IndexError(f"index {index}: the chain holds {self._length} versions")
        number, offset = divmod(position, self._block)
        return self._load(number)[offset]

    def __iter__(self) -> Iterator[T]:
        """Every record in order; blocks not read yet are read a growing run at a time (1, 2,
        4... up to 32 blocks per query), so a long chain takes a few queries."""
        count = -(-self._length // self._block)
        number, run = 0, 1
        while number < count:
            found = self._blocks.get(number)
            if found is not None:
                yield from found
                number += 1
                continue
            end = number + 1
            while end < count and end - number < run and end not in self._blocks:
                end += 1
            for loaded in self._load_run(number, end):
                yield from loaded
            number, run = end, min(run * 2, _MAX_RUN)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (VersionChain, list, tuple)):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"VersionChain({self._length} versions, {len(self._segments)} segments)"

    def _load(self, number: int) -> list[T]:
        found = self._blocks.get(number)
        if found is not None:
            return found
        return self._load_run(number, number + 1)[0]

    def _load_run(self, start: int, end: int) -> list[list[T]]:
        """Blocks ``start`` to ``end - 1``, read in one query unless already read."""
        with self._lock:
            if any(number not in self._blocks for number in range(start, end)):
                first = start * self._block
                last = min(end * self._block, self._length) - 1
                found = self._fetch(self._parts(first, last))
                if len(found) != last - first + 1:
                    raise RuntimeError(
                        f"lineage read: expected {last - first + 1} records, got {len(found)}"
                    )
                for number in range(start, end):
                    offset = (number - start) * self._block
                    self._blocks.setdefault(number, found[offset : offset + self._block])
            return [self._blocks[number] for number in range(start, end)]

    def _parts(self, first: int, last: int) -> list[tuple[int, int, int]]:
        """``(segment, low, high)`` ranges covering chain positions ``first``..``last``."""
        parts = []
        index = bisect.bisect_right(self._starts, first) - 1
        position = first
        while position <= last:
            segment, top = self._segments[index]
            start = self._starts[index]
            high = top - (position - start)
            end = min(last, start + top)  # the last chain position inside this segment
            low = top - (end - start)
            parts.append((segment, low, high))
            position = end + 1
            index += 1
        return parts


__all__ = ["BLOCK", "VersionChain"]
