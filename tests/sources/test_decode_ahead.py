"""DecodeAhead: batches come back in the order polled, errors surface at their batch, and the depth bounds the work ahead."""

from __future__ import annotations

import random
import threading
import time

import pytest

from lifelong.errors import ConfigError
from lifelong.sources.ahead import DecodeAhead


def test_batches_come_back_in_order_and_never_more_than_depth_ahead() -> None:
    rng = random.Random(3)
    ahead: DecodeAhead[int] = DecodeAhead(depth=2)
    taken: list[int] = []
    for index in range(40):
        pause = rng.uniform(0, 0.003)
        taken += ahead.push(lambda i, p: time.sleep(p) or i, index, pause)
        assert len(ahead) <= 2 and taken == list(range(len(taken)))
    taken += list(ahead.drain())
    ahead.close()
    assert taken == list(range(40)) and len(ahead) == 0


def test_an_error_surfaces_at_its_batch_and_close_drops_the_rest() -> None:
    started = threading.Event()
    release = threading.Event()

    def decode(index: int) -> int:
        if index == 1:
            raise ValueError("bad batch 1")
        if index == 3:
            started.set()
            release.wait(5)
        return index

    ahead: DecodeAhead[int] = DecodeAhead(depth=4)
    assert list(ahead.drain()) == [] and ahead.push(decode, 0) in ([], [0])
    with pytest.raises(ValueError, match="bad batch 1"):  # when batch 1 is taken: in push if it is done already
        ahead.push(decode, 1)
        list(ahead.drain())
    ahead.push(decode, 3)
    ahead.push(decode, 4)
    assert started.wait(5)
    release.set()
    ahead.close()  # 4 was never taken: dropped, as a batch never committed
    assert len(ahead) == 0


def test_depth_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="depth: expected an integer >= 1, got 0"):
        DecodeAhead(depth=0)
