"""Decoding a broker source's batches on a worker thread while the next ones are polled.

A source polls its transport (Kafka ``consume``, Redis ``XREADGROUP``) on the caller's thread
and hands each raw batch to :class:`DecodeAhead`, which decodes it on one worker thread (Arrow's
JSON reader releases the GIL while it parses) and gives the decoded batches back in the order
they were polled, at most ``depth`` batches behind the poll. Nothing is committed here: a batch
still decoding when the reader stops is simply read again later.

Examples
--------
>>> ahead = DecodeAhead(depth=2)
>>> done = [*ahead.push(str.upper, "a"), *ahead.push(str.upper, "b"), *ahead.push(str.upper, "c"), *ahead.drain()]
>>> done
['A', 'B', 'C']
>>> ahead.close()
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

from lifelong.errors import ConfigError

T = TypeVar("T")


class DecodeAhead(Generic[T]):
    """One worker thread that decodes polled batches, in order, at most ``depth`` behind.

    Parameters
    ----------
    depth
        Batches decoding or decoded and not yet taken, at most; :meth:`push` waits beyond it.
    """

    def __init__(self, *, depth: int = 2) -> None:
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise ConfigError(f"depth: expected an integer >= 1, got {depth!r}")
        self._depth = depth
        self._pending: deque[Future[T]] = deque()
        self._pool: ThreadPoolExecutor | None = None

    def __len__(self) -> int:
        """Batches decoding or decoded and not yet taken."""
        return len(self._pending)

    def push(self, decode: Callable[..., T], *arguments: object) -> list[T]:
        """Start decoding one batch; the batches before it that are done (waiting for those over ``depth``)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lifelong-decode")
        self._pending.append(self._pool.submit(decode, *arguments))
        done: list[T] = []
        while self._pending and (len(self._pending) > self._depth or self._pending[0].done()):
            done.append(self._pending.popleft().result())
        return done

    def drain(self) -> Iterator[T]:
        """Every batch still decoding, in order, as each is done."""
        while self._pending:
            yield self._pending.popleft().result()

    def close(self) -> None:
        """Drop the batches not taken (they were never committed) and stop the worker."""
        for future in self._pending:
            future.cancel()
        self._pending.clear()
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.shutdown(wait=True)


__all__ = ["DecodeAhead"]
