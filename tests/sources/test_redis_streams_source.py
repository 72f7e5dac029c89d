"""The Redis Streams source against the Redis on 127.0.0.1:6379: groups, XACK, XAUTOCLAIM."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
import redis
from broker_support import events, ids, xadd_all

from lifelong.errors import ConfigError
from lifelong.events import EventSchema, FieldSpec, ParquetEventStore
from lifelong.sources import RedisStreamsSource

SCHEMA = EventSchema(
    {"x1": FieldSpec("float"), "y": FieldSpec("int")}, max_future=timedelta(hours=1), max_payload_bytes=512
)


def _source(url: str, key: str, consumer: str, **overrides: object) -> RedisStreamsSource:
    settings: dict[str, object] = {
        "url": url, "key": key, "group": "lifelong", "consumer": consumer, "schema": SCHEMA,
        "id_field": "id", "time_field": "ts", "batch_size": 100, "block": 0.2, **overrides,
    }
    return RedisStreamsSource(**settings)  # type: ignore[arg-type]


def _pending(url: str, key: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        return int(client.xpending(key, "lifelong")["pending"])
    finally:
        client.close()


def test_entries_are_stored_bad_ones_dead_lettered_and_acked_after_store(redis_url: str, redis_key: str, tmp_path: Path) -> None:
    good = list(events(0, 250))
    bad = [
        b"{oops",
        orjson.dumps({"id": "b2", "ts": "2024-01-01T00:00:00Z", "x1": "abc", "y": 1}),
        orjson.dumps({"ts": "2024-01-01T00:00:00Z", "x1": 1.0, "y": 0}),
        orjson.dumps({"id": "b4", "ts": "2024-01-01T00:00:00Z", "x1": 1.0, "y": 0, "pad": "x" * 600}),
        orjson.dumps({"id": "b5", "ts": "2999-01-01T00:00:00Z", "x1": 1.0, "y": 0}),
    ]
    xadd_all(redis_url, redis_key, good[:100] + bad + good[100:])
    client = redis.Redis.from_url(redis_url)
    client.xadd(redis_key, {"other": "no data field"})
    client.close()
    with ParquetEventStore(tmp_path / "events") as store, _source(redis_url, redis_key, "c1") as source:
        for batch in source.read():
            store.append(batch.stream, batch.frame)
            store.add_dead_letters(list(batch.dead_letters))
            assert batch.checkpoint is not None
            source.commit(batch.checkpoint)
        stored = store.window("events", columns=["event_id"])
        letters = store.dead_letters("events")
        lag = source.lag()
    assert sorted(stored["event_id"]) == sorted(f"e{i}" for i in range(250))
    reasons = " | ".join(letters["reason"])
    for expected in ("invalid JSON", "x1: expected a number", "id: required field is missing",
                     "expected at most 512 bytes", "in the future", "data: required field is missing"):
        assert expected in reasons, reasons
    assert len(letters) == 6 and all(s.startswith(f"redis:{redis_key}@") for s in letters["source"])
    assert _pending(redis_url, redis_key) == 0 and lag == 0


def test_a_restarted_consumer_rereads_its_pending_entries(redis_url: str, redis_key: str) -> None:
    xadd_all(redis_url, redis_key, events(0, 300))
    with _source(redis_url, redis_key, "c1") as source:
        reader = source.read()
        first = next(reader)
        assert first.checkpoint is not None
        source.commit(first.checkpoint)
        lost = next(reader)  # delivered, never stored: it stays pending
        reader.close()
    assert _pending(redis_url, redis_key) >= 100  # the lost batch, and any entries read ahead of it
    with _source(redis_url, redis_key, "c1") as source:
        again = []
        for batch in source.read():
            again.append(batch)
            assert batch.checkpoint is not None
            source.commit(batch.checkpoint)
    assert ids(again) == [f"e{i}" for i in range(100, 300)]
    assert ids([lost]) == ids(again)[:100]
    assert _pending(redis_url, redis_key) == 0


def test_entries_left_pending_by_a_crashed_consumer_are_claimed(redis_url: str, redis_key: str) -> None:
    xadd_all(redis_url, redis_key, events(0, 150))
    with _source(redis_url, redis_key, "crashed") as source:
        crashed = next(source.read())  # never acknowledged
    time.sleep(0.3)
    with _source(redis_url, redis_key, "survivor", claim_idle=0.2) as source:
        taken = []
        for batch in source.read():
            taken.append(batch)
            assert batch.checkpoint is not None
            source.commit(batch.checkpoint)
    assert sorted(ids(taken)) == sorted(f"e{i}" for i in range(150))
    assert set(ids([crashed])) <= set(ids(taken))
    assert _pending(redis_url, redis_key) == 0


def test_entries_trimmed_before_they_were_stored_become_dead_letters(redis_url: str, redis_key: str) -> None:
    xadd_all(redis_url, redis_key, events(0, 10))
    with _source(redis_url, redis_key, "crashed") as source:
        next(source.read())
    client = redis.Redis.from_url(redis_url)
    client.xtrim(redis_key, maxlen=0)
    client.close()
    time.sleep(0.3)
    with _source(redis_url, redis_key, "survivor", claim_idle=0.2) as source:
        batches = list(source.read())
    letters = [letter for batch in batches for letter in batch.dead_letters]
    assert len(letters) == 10 and all("deleted (trimmed)" in letter.reason for letter in letters)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match="start_id: expected '0' or '\\$'"):
        RedisStreamsSource(url="redis://127.0.0.1:6379/0", key="k", group="g", start_id="1-0")
    with pytest.raises(ConfigError, match="batch_size: expected an integer >= 1"):
        RedisStreamsSource(url="redis://127.0.0.1:6379/0", key="k", group="g", batch_size=0)
