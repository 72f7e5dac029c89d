"""The Kafka source against a real Kafka-protocol broker (tansu): groups, commits, dead letters."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from broker_support import KAFKA_TEST_OPTIONS, Broker, create_topic, events, ids, produce, unique

from lifelong.errors import ConfigError
from lifelong.events import EventSchema, FieldSpec, ParquetEventStore
from lifelong.sources import KafkaSource, SourceUnavailableError

SCHEMA = EventSchema(
    {"x1": FieldSpec("float"), "y": FieldSpec("int")}, max_future=timedelta(hours=1), max_payload_bytes=512
)


def _source(kafka: Broker, topic: str, group: str, **overrides: object) -> KafkaSource:
    settings: dict[str, object] = {
        "bootstrap_servers": kafka.bootstrap,
        "topics": [topic],
        "group_id": group,
        "schema": SCHEMA,
        "id_field": "id",
        "time_field": "ts",
        "batch_size": 100,
        "idle": 0.5,
        "join_timeout": 30.0,
        "options": KAFKA_TEST_OPTIONS,
        **overrides,
    }
    return KafkaSource(**settings)  # type: ignore[arg-type]


BAD = {
    "bad json": b'{"id": "b1", "ts": ',
    "not an object": b'["b2"]',
    "wrong type": orjson.dumps({"id": "b3", "ts": "2024-01-01T00:00:00Z", "x1": "abc", "y": 1}),
    "missing id": orjson.dumps({"ts": "2024-01-01T00:00:00Z", "x1": 1.0, "y": 0}),
    "oversized": orjson.dumps({"id": "b5", "ts": "2024-01-01T00:00:00Z", "x1": 1.0, "y": 0, "pad": "x" * 600}),
    "future": orjson.dumps({"id": "b6", "ts": "2999-01-01T00:00:00Z", "x1": 1.0, "y": 0}),
    "empty": None,
}


def test_records_are_stored_bad_ones_dead_lettered_and_offsets_committed_after_store(
    kafka: Broker, tmp_path: Path
) -> None:
    topic, group = unique("t"), unique("g")
    create_topic(kafka.bootstrap, topic, partitions=3)
    good = list(events(0, 450))
    produce(kafka.bootstrap, topic, good[:200] + list(BAD.values()) + good[200:])
    with ParquetEventStore(tmp_path / "events") as store, _source(kafka, topic, group) as source:
        batches = list(source.read())
        for batch in batches:
            store.append(batch.stream, batch.frame)
            store.add_dead_letters(list(batch.dead_letters))
            assert batch.checkpoint is not None
            source.commit(batch.checkpoint)
        stored = store.window("events", columns=["event_id", "x1", "y"])
        letters = store.dead_letters("events")
    assert sorted(stored["event_id"]) == sorted(f"e{i}" for i in range(450))
    assert str(stored["x1"].dtype) == "float64" and str(stored["y"].dtype) == "int64"
    assert len(letters) == len(BAD)
    reasons = " | ".join(letters["reason"])
    for expected in ("invalid JSON", "got list", "x1: expected a number, got 'abc'", "id: required field is missing",
                     "payload: expected at most 512 bytes", "in the future", "got an empty message"):
        assert expected in reasons, reasons
    assert all(source.startswith(f"kafka:{topic}[") for source in letters["source"])
    assert '{"id": "b1", "ts": ' in set(letters["payload"])  # the raw payload is kept
    # Everything was committed: the group has nothing left to read.
    with _source(kafka, topic, group) as again:
        assert list(again.read()) == []


def test_a_batch_not_committed_is_read_again_by_the_group(kafka: Broker) -> None:
    topic, group = unique("t"), unique("g")
    create_topic(kafka.bootstrap, topic, partitions=1)
    produce(kafka.bootstrap, topic, events(0, 300))
    with _source(kafka, topic, group) as source:
        reader = source.read()
        first = next(reader)
        assert first.checkpoint is not None
        source.commit(first.checkpoint)
        second = next(reader)  # read, never stored: a crash here must not lose it
        reader.close()
    assert first.checkpoint.position == {"offsets": {f"{topic}/0": 100}}
    with _source(kafka, topic, group) as source:
        again = list(source.read())
        # since= moves back to a checkpoint's offsets, for the partitions it names
        rewound = next(source.read(since=first.checkpoint))
    assert ids(again) == [f"e{i}" for i in range(100, 300)]
    assert ids([second]) == ids(again)[:100]
    assert ids([rewound]) == [f"e{i}" for i in range(100, 200)]


def test_an_unreachable_broker_fails_with_the_reason() -> None:
    source = KafkaSource(
        bootstrap_servers="127.0.0.1:9", topics=["t"], group_id="g", join_timeout=1.0, options={"socket.connection.setup.timeout.ms": 1000}
    )
    with source, pytest.raises(SourceUnavailableError, match="expected partitions of \\['t'\\] assigned"):
        list(source.read())


def test_settings_that_break_the_guarantees_are_refused() -> None:
    with pytest.raises(ConfigError, match="options.enable.auto.offset.store"):
        KafkaSource(bootstrap_servers="x:1", topics=["t"], group_id="g", options={"enable.auto.offset.store": True})
    with pytest.raises(ConfigError, match="topics: expected a non-empty list"):
        KafkaSource(bootstrap_servers="x:1", topics=[], group_id="g")
    with pytest.raises(ConfigError, match="idle: expected a number of seconds > 0"):
        KafkaSource(bootstrap_servers="x:1", topics=["t"], group_id="g", idle=0)
