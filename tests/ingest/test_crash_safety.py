"""Acceptance: ``kill -9`` of ``lifelong ingest`` three times during a 100,000-event load.

The load (100,000 valid events, 300 of them re-sent by an at-least-once producer, and 50 bad
messages) is produced in four parts while real ``lifelong ingest`` processes read it; each is
killed with SIGKILL once it has stored something, at a random moment after, and a new one is
started. The next part of the load is produced only after each kill, so every kill lands while
the load is still being ingested (checked: the process was alive, and the store held less
than the whole load). The last process is stopped with SIGTERM once it has caught up.
Afterwards the store holds exactly the produced set: no missing id, no duplicate, and every bad
message once in the dead letters.
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


def _parts(seed: int) -> list[list[bytes]]:
    """The load in ``KILLS + 1`` consecutive parts of about the same size."""
    messages = list(_load(seed))
    size = -(-len(messages) // (KILLS + 1))
    return [messages[start : start + size] for start in range(0, len(messages), size)]


def _crash_loop(tmp_path: Path, source: dict[str, Any], send: Callable[[list[bytes]], object], *, seed: int) -> dict[str, int]:
    spec = write_spec(tmp_path, source)
    rng = random.Random(seed)
    parts = _parts(seed)
    gates = [threading.Event() for _ in parts]
    gates[0].set()
    sent: list[object] = []

    def run_producer() -> None:
        try:
            for gate, part in zip(gates, parts, strict=True):
                if not gate.wait(300):
                    raise TimeoutError("the next part of the load was never released")
                send(part)
            sent.append("done")
        except Exception as exc:  # reported by the assertion below
            sent.append(exc)

    producer = threading.Thread(target=run_producer, daemon=True)
    producer.start()
    kills: list[tuple[bool, int]] = []
    try:
        for kill in range(KILLS):
            before = stored_count(tmp_path)
            child = IngestChild.start(spec, "--max-in-flight", "2")
            try:  # a batch stored by this child
                wait_until(lambda: stored_count(tmp_path) > before, timeout=60, what="a stored batch", child=child)
            except AssertionError:
                child.kill9()
                raise
            threading.Event().wait(rng.uniform(0.0, 0.4))
            killed = child.kill9()
            kills.append((killed, stored_count(tmp_path)))  # a dead process stores nothing more: the store at the kill
            gates[kill + 1].set()  # only now does the next part of the load arrive
    finally:
        for gate in gates:
            gate.set()
    assert all(killed for killed, _ in kills), f"a process had exited before its kill: {kills}"
    assert all(stored < TOTAL for _, stored in kills), f"a kill landed after the whole load was stored: {kills}"
    final = IngestChild.start(spec)
    producer.join(120)
    assert sent == ["done"], f"the producer did not finish: {sent}"
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
    return {"kills": sum(killed for killed, _ in kills), "kills_mid_load": sum(stored < TOTAL for _, stored in kills),
            "totals_of_last_run": final.totals()["written"]}


def test_kafka_ingest_survives_three_kill_9(kafka: Broker, tmp_path: Path) -> None:
    topic = unique("crash")
    create_topic(kafka.bootstrap, topic, partitions=3)
    source = {
        "kind": "kafka", "bootstrap_servers": kafka.bootstrap, "topics": [topic], "group_id": unique("g"),
        "id_field": "id", "time_field": "ts", "batch_size": 2000, "options": KAFKA_TEST_OPTIONS,
    }
    result = _crash_loop(tmp_path, source, lambda part: produce(kafka.bootstrap, topic, part), seed=1)
    assert result["kills"] == result["kills_mid_load"] == KILLS


def test_redis_ingest_survives_three_kill_9(redis_url: str, redis_key: str, tmp_path: Path) -> None:
    source = {
        "kind": "redis_streams", "url": redis_url, "key": redis_key, "group": "lifelong", "consumer": "ingest-1",
        "id_field": "id", "time_field": "ts", "batch_size": 2000,
    }
    result = _crash_loop(tmp_path, source, lambda part: xadd_all(redis_url, redis_key, part), seed=2)
    assert result["kills"] == result["kills_mid_load"] == KILLS
