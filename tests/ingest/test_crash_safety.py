"""Acceptance: ``kill -9`` of ``lifelong ingest`` three times during a 100,000-event load.

The load (100,000 valid events, 300 of them re-sent by an at-least-once producer, and 50 bad
messages) is produced while real ``lifelong ingest`` processes read it; each is killed with
SIGKILL once it has stored something, at a random moment after, and a new one is started. The
last one is stopped with SIGTERM once it has caught up. Afterwards the store holds exactly the
produced set: no missing id, no duplicate, and every bad message once in the dead letters.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
from broker_support import KAFKA_TEST_OPTIONS, Broker, create_topic, events, produce, unique, xadd_all
from ingest_support import IngestChild, stored_count, stored_ids, wait_until, write_spec

from lifelong.events import ParquetEventStore

TOTAL = 100_000
RESENT = 300
BAD = 50
KILLS = 3


def _load(seed: int) -> Iterator[bytes]:
    """The produced messages: every valid event, some re-sent, some bad, in a seeded order."""
    rng = random.Random(seed)
    resent = set(rng.sample(range(TOTAL), RESENT))
    bad_at = set(rng.sample(range(TOTAL), BAD))
    for index, value in enumerate(events(0, TOTAL)):
        yield value
        if index in resent:
            yield value
        if index in bad_at:
            yield orjson.dumps({"id": f"bad{index}", "ts": "2024-01-01T00:00:00Z", "x1": "not-a-number", "y": 1})


def _crash_loop(tmp_path: Path, source: dict[str, Any], send: Callable[[], None], *, seed: int) -> dict[str, int]:
    spec = write_spec(tmp_path, source)
    rng = random.Random(seed)
    sent: list[object] = []

    def run_producer() -> None:
        try:
            send()
            sent.append("done")
        except Exception as exc:  # reported by the assertion below
            sent.append(exc)

    producer = threading.Thread(target=run_producer, daemon=True)
    producer.start()
    kills = mid_load = 0
    for _ in range(KILLS):
        before = stored_count(tmp_path)
        child = IngestChild.start(spec, "--max-in-flight", "2")
        try:  # a batch stored by this child (or, when the load is already in, everything)
            wait_until(lambda: stored_count(tmp_path) > before or stored_count(tmp_path) >= TOTAL, timeout=45, what="a stored batch", child=child)
        except AssertionError:
            child.kill9()
            raise
        threading.Event().wait(rng.uniform(0.0, 0.4))
        kills += child.kill9()
        mid_load += stored_count(tmp_path) < TOTAL
    producer.join(120)
    assert sent == ["done"], f"the producer did not finish: {sent}"
    final = IngestChild.start(spec)
    wait_until(lambda: stored_count(tmp_path) >= TOTAL, timeout=90, what=f"{TOTAL} stored events", child=final)
    with ParquetEventStore(tmp_path / "home" / "events") as store:
        wait_until(lambda: len(store.dead_letters("events")) >= BAD, timeout=20, what="the dead letters", child=final)
    assert final.terminate() == 0, final.output()[-3000:]
    ids = stored_ids(tmp_path)
    assert len(ids) == len(set(ids)), f"{len(ids) - len(set(ids))} events stored twice"
    expected = {f"e{index}" for index in range(TOTAL)}
    assert set(ids) == expected, f"lost {len(expected - set(ids))}, unexpected {len(set(ids) - expected)}"
    with ParquetEventStore(tmp_path / "home" / "events") as store:
        letters = store.dead_letters("events")
    assert len(letters) == BAD and letters["event_id"].is_unique
    assert all("x1: expected a number, got 'not-a-number'" in reason for reason in letters["reason"])
    return {"kills": kills, "kills_mid_load": mid_load, "totals_of_last_run": final.totals()["written"]}


def test_kafka_ingest_survives_three_kill_9(kafka: Broker, tmp_path: Path) -> None:
    topic = unique("crash")
    create_topic(kafka.bootstrap, topic, partitions=3)
    source = {
        "kind": "kafka", "bootstrap_servers": kafka.bootstrap, "topics": [topic], "group_id": unique("g"),
        "id_field": "id", "time_field": "ts", "batch_size": 2000, "options": KAFKA_TEST_OPTIONS,
    }
    result = _crash_loop(tmp_path, source, lambda: produce(kafka.bootstrap, topic, _load(1)) and None, seed=1)
    assert result["kills"] == KILLS and result["kills_mid_load"] >= 1


def test_redis_ingest_survives_three_kill_9(redis_url: str, redis_key: str, tmp_path: Path) -> None:
    source = {
        "kind": "redis_streams", "url": redis_url, "key": redis_key, "group": "lifelong", "consumer": "ingest-1",
        "id_field": "id", "time_field": "ts", "batch_size": 2000,
    }
    result = _crash_loop(tmp_path, source, lambda: xadd_all(redis_url, redis_key, _load(2)) and None, seed=2)
    assert result["kills"] == KILLS and result["kills_mid_load"] >= 1
