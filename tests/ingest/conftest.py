"""Fixtures of the ingest tests: a tansu Kafka broker per session, and Redis stream keys."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from broker_support import REDIS_URL, Broker, port_open, require, start_tansu, unique


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A tansu broker (Kafka protocol) on a free port, in memory, for the whole session."""
    broker, why = start_tansu(tmp_path_factory.mktemp("tansu"))
    require(broker is not None, f"no Kafka-protocol broker: {why}")
    assert broker is not None
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def redis_url() -> str:
    """The Redis on 127.0.0.1:6379 (skips, or fails under CI, when absent)."""
    require(port_open("127.0.0.1", 6379), "Redis is not listening on 127.0.0.1:6379")
    return REDIS_URL


@pytest.fixture
def redis_key(redis_url: str) -> Iterator[str]:
    """A stream key of its own for one test, deleted (with its groups) afterwards."""
    import redis

    key = unique("lifelong-test")
    yield key
    client = redis.Redis.from_url(redis_url)
    client.delete(key)
    client.close()
