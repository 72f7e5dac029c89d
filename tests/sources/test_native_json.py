"""The whole-batch Arrow JSON path gives the per-message path's table, and hands back every batch it cannot vouch for."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pyarrow as pa
import pytest

from lifelong.events import EventSchema, FieldSpec
from lifelong.sources.messages import decode_each, decode_table
from lifelong.sources.native_json import read_clean_batch

SCHEMA = EventSchema(
    {
        "x1": FieldSpec("float", min=-50.0, max=50.0),
        "n": FieldSpec("int", min=0, max=1000),
        "flag": FieldSpec("bool", required=False),
        "device": FieldSpec("category", categories=("desktop", "mobile")),
        "note": FieldSpec("str", required=False),
        "seen": FieldSpec("timestamp", required=False),
    },
    max_future=timedelta(hours=1),
    max_payload_bytes=1024,
)
NOW = datetime(2024, 6, 1, tzinfo=UTC)
BASE = datetime(2024, 1, 1, tzinfo=UTC)
EXTRAS: dict[str, list[Any]] = {
    "count": [1, 2, 3, None],
    "score": [0.5, 1, -2.25, None],
    "label": ["a", "b", "é", None],
    "ok": [True, False, None],
    "when": ["2024-01-01T00:00:00Z", "2024-02-03", None],
    "nothing": [None],
}


def _event(rng: random.Random, index: int, extras: list[str]) -> dict[str, Any]:
    times = [BASE + timedelta(seconds=index), BASE + timedelta(milliseconds=index * 7)]
    event: dict[str, Any] = {
        "id": f"e{index}",
        "ts": rng.choice([t.isoformat() for t in times] + [times[0].strftime("%Y-%m-%dT%H:%M:%SZ"), "2024-01-01T05:30:00+05:30"]),
        "x1": rng.choice([1.5, -2, 0, 49.75, rng.uniform(-50, 50)]),
        "n": rng.randint(0, 1000),
        "device": rng.choice(["desktop", "mobile"]),
    }
    if rng.random() < 0.7:
        event["flag"] = rng.choice([True, False, None])
    if rng.random() < 0.5:
        event["note"] = rng.choice(["hello", "", "ünïcode", None])
    if rng.random() < 0.5:
        event["seen"] = rng.choice(["2024-01-01T00:00:00Z", "2024-01-02T03:04:05.123456+00:00", None])
    for name in extras:
        if rng.random() < 0.8:
            event[name] = rng.choice(EXTRAS[name])
    keys = list(event)
    rng.shuffle(keys)
    return {key: event[key] for key in keys} if rng.random() < 0.3 else event


def _same(fast: pa.Table, slow: pa.Table) -> None:
    assert sorted(fast.column_names) == sorted(slow.column_names)
    for name in slow.column_names:
        assert fast.column(name).type == slow.column(name).type, name
        assert fast.column(name).to_pylist() == slow.column(name).to_pylist(), name


@pytest.mark.parametrize("seed", range(12))
def test_a_batch_of_valid_events_gives_the_per_message_table(seed: int) -> None:
    rng = random.Random(seed)
    extras = rng.sample(sorted(EXTRAS), rng.randint(0, len(EXTRAS)))
    events = [_event(rng, index, extras) for index in range(rng.randint(1, 300))]
    values = [orjson.dumps(event) for event in events]
    origins = [f"t[0]@{index}" for index in range(len(values))]
    slow, letters = decode_each(values, origins, SCHEMA, stream="s", id_field="id", time_field="ts", now=NOW)
    fast = read_clean_batch(values, SCHEMA, id_field="id", time_field="ts", now=NOW)
    if letters:  # a random optional text field with an empty id, say: both agree it is not a clean batch
        assert fast is None
        return
    assert fast is not None, "a clean batch was handed back"
    _same(fast, slow)
    if len({tuple(event) for event in events}) == 1:  # same keys in the same order: the same column order too
        assert fast.column_names == slow.column_names


def _good(index: int) -> dict[str, Any]:
    return {"id": f"g{index}", "ts": "2024-01-01T00:00:00Z", "x1": 1.0, "n": 1, "device": "mobile"}


BAD: dict[str, bytes | str | None] = {
    "bad json": b'{"id": "b1", "ts": ',
    "not an object": b'["b2"]',
    "two objects in one message": orjson.dumps(_good(90)) + b" " + orjson.dumps(_good(91)),
    "a newline inside": b'{"id": "b3",\n"ts": "2024-01-01T00:00:00Z", "x1": 1.0, "n": 1, "device": "mobile"}',
    "wrong type": orjson.dumps({**_good(4), "x1": "abc"}),
    "text for an int": orjson.dumps({**_good(5), "n": "7"}),
    "float for an int": orjson.dumps({**_good(6), "n": 2.5}),
    "out of range": orjson.dumps({**_good(7), "x1": 51.0}),
    "not a category": orjson.dumps({**_good(8), "device": "tv"}),
    "missing id": orjson.dumps({key: value for key, value in _good(9).items() if key != "id"}),
    "empty id": orjson.dumps({**_good(10), "id": ""}),
    "missing required field": orjson.dumps({key: value for key, value in _good(11).items() if key != "device"}),
    "oversized": orjson.dumps({**_good(12), "pad": "x" * 2000}),
    "future": orjson.dumps({**_good(13), "ts": "2999-01-01T00:00:00Z"}),
    "NaN literal": b'{"id": "b14", "ts": "2024-01-01T00:00:00Z", "x1": NaN, "n": 1, "device": "mobile"}',
    "Infinity in an extra field": b'{"id": "b15", "ts": "2024-01-01T00:00:00Z", "x1": 1, "n": 1, "device": "mobile", "z": Infinity}',
    "integer beyond 64 bits": b'{"id": "b16", "ts": "2024-01-01T00:00:00Z", "x1": 1, "n": 1, "device": "mobile", "z": 18446744073709551615}',
    "invalid UTF-8": b'{"id": "b17\xff", "ts": "2024-01-01T00:00:00Z", "x1": 1, "n": 1, "device": "mobile"}',
    "mixed extra types": orjson.dumps({**_good(18), "count": "many"}),
    "empty message": None,
    "text message": orjson.dumps(_good(20)).decode(),
    "nanosecond time": orjson.dumps({**_good(21), "ts": "2024-01-01T00:00:00.1234567Z"}),
}


ACCEPTED = {"a newline inside", "text for an int", "text message", "nanosecond time"}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_batch_with_any_doubtful_message_is_decoded_message_by_message(case: str) -> None:
    values: list[bytes | str | None] = [orjson.dumps(_good(index)) for index in range(5)]
    values.insert(2, BAD[case])
    if case == "mixed extra types":
        values = [orjson.dumps({**_good(index), "count": index}) for index in range(5)] + [BAD[case]]
    assert read_clean_batch(values, SCHEMA, id_field="id", time_field="ts", now=NOW) is None
    origins = [f"t[0]@{index}" for index in range(len(values))]
    table, letters = decode_table(values, origins, SCHEMA, stream="s", id_field="id", time_field="ts", now=NOW)
    expected = decode_each(values, origins, SCHEMA, stream="s", id_field="id", time_field="ts", now=NOW)
    assert table.equals(expected[0]) and letters == expected[1]
    if case in ACCEPTED:  # valid events the whole-batch reader does not vouch for: stored all the same
        assert not letters and table.num_rows == len(values)
    else:
        assert [letter.source for letter in letters] == [f"t[0]@{values.index(BAD[case])}"], letters
        assert table.num_rows == len(values) - 1


def test_names_that_collide_with_the_stored_columns_take_the_per_message_path() -> None:
    values = [orjson.dumps({"id": "a", "ts": "2024-01-01T00:00:00Z", "event_id": "other"})]
    schema = EventSchema({"event_time": FieldSpec("timestamp")})
    assert read_clean_batch(values, schema, id_field="id", time_field="ts", now=NOW) is None
    stray = read_clean_batch(values, EventSchema({}), id_field="id", time_field="ts", now=NOW)
    assert stray is not None and stray.column_names == ["event_id", "event_time"]  # a stray event_id is not stored
    assert stray.column("event_id").to_pylist() == ["a"]


def test_events_with_the_same_keys_give_the_same_table_column_for_column() -> None:
    rng = random.Random(5)
    values = [
        orjson.dumps({"x1": rng.uniform(-50, 50), "id": f"e{index}", "n": index % 1000, "ts": (BASE + timedelta(seconds=index)).isoformat(),
                      "device": "mobile", "tag": f"t{index % 3}", "count": index})
        for index in range(2000)
    ]
    fast = read_clean_batch(values, SCHEMA, id_field="id", time_field="ts", now=NOW)
    slow, letters = decode_each(values, ["o"] * len(values), SCHEMA, stream="s", id_field="id", time_field="ts", now=NOW)
    assert fast is not None and not letters
    assert fast.column_names == slow.column_names == ["x1", "event_id", "n", "event_time", "device", "tag", "count"]
    assert fast.equals(slow)
