"""Event schemas: coercion of valid rows, and a dead letter with a precise reason for each bad row."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lifelong.errors import ConfigError
from lifelong.events import EventSchema, FieldSpec, validate_records

NOW = datetime(2024, 1, 1, 12, tzinfo=UTC)


def _frame(**columns: list[Any]) -> pd.DataFrame:
    rows = len(next(iter(columns.values())))
    base = {
        "event_id": [f"e{index}" for index in range(rows)],
        "event_time": pd.to_datetime(["2024-01-01 10:00"] * rows, utc=True),
    }
    return pd.DataFrame(
        {**base, **{name: pd.Series(values, dtype=object) for name, values in columns.items()}}
    )


def _reasons(schema: EventSchema, frame: pd.DataFrame) -> list[str]:
    return [letter.reason for letter in schema.validate(frame, stream="s", now=NOW)[1]]


def test_valid_rows_come_back_coerced() -> None:
    schema = EventSchema(
        {
            "x": FieldSpec("float"),
            "n": FieldSpec("int"),
            "name": FieldSpec("str"),
            "flag": FieldSpec("bool"),
            "device": FieldSpec("category", categories=("desktop", "mobile")),
            "seen": FieldSpec("timestamp"),
        }
    )
    frame = _frame(
        x=["1.5", 2],
        n=[3, "4"],
        name=["a", 7],
        flag=["yes", 0],
        device=["mobile", "desktop"],
        seen=["2024-01-01T00:00:00+01:00", datetime(2024, 1, 2)],
        extra=[[1], {"k": 2}],
    )
    valid, letters = schema.validate(frame, stream="s", now=NOW)
    assert letters == []
    assert valid["x"].tolist() == [1.5, 2.0] and valid["x"].dtype == np.float64
    assert valid["n"].tolist() == [3, 4] and valid["n"].dtype == np.int64
    assert valid["name"].tolist() == ["a", "7"]
    assert valid["flag"].tolist() == [True, False] and valid["flag"].dtype == bool
    assert valid["device"].tolist() == ["mobile", "desktop"]
    assert valid["seen"].tolist() == [
        pd.Timestamp("2023-12-31 23:00", tz="UTC"),
        pd.Timestamp("2024-01-02", tz="UTC"),
    ]
    assert valid["extra"].tolist() == [[1], {"k": 2}]


@pytest.mark.parametrize(
    ("spec", "values", "reason"),
    [
        (FieldSpec("float"), [1.0, "abc"], "x: expected a number, got 'abc'"),
        (FieldSpec("float"), [1.0, True], "x: expected a number, got True"),
        (FieldSpec("float"), [1.0, float("inf")], "x: expected a finite number, got inf"),
        (FieldSpec("float"), [1.0, None], "x: required field is missing"),
        (FieldSpec("float", min=0.0), [1.0, -2.5], "x: expected a value >= 0.0, got -2.5"),
        (FieldSpec("float", max=10), [1.0, 11.0], "x: expected a value <= 10, got 11.0"),
        (FieldSpec("int"), [1, 1.5], "x: expected an integer, got 1.5"),
        (FieldSpec("int", min=0, max=5), [1, 6], "x: expected a value <= 5, got 6"),
        (FieldSpec("str"), ["a", [1, 2]], "x: expected a string, got [1, 2]"),
        (FieldSpec("str"), ["a", False], "x: expected a string, got False"),
        (FieldSpec("bool"), [True, "maybe"], "x: expected a boolean, got 'maybe'"),
        (
            FieldSpec("category", categories=("desktop", "mobile")),
            ["mobile", "tv"],
            "x: expected one of ['desktop', 'mobile'], got 'tv'",
        ),
        (FieldSpec("timestamp"), ["2024-01-01", "soon"], "x: expected a timestamp, got 'soon'"),
        (FieldSpec("timestamp"), ["2024-01-01", 17], "x: expected a timestamp, got 17"),
    ],
)
def test_each_bad_value_has_a_precise_reason(
    spec: FieldSpec, values: list[Any], reason: str
) -> None:
    schema = EventSchema({"x": spec})
    valid, letters = schema.validate(_frame(x=values), stream="clicks", source="test", now=NOW)
    assert [letter.reason for letter in letters] == [reason]
    letter = letters[0]
    assert (letter.stream, letter.field, letter.event_id, letter.source) == (
        "clicks",
        "x",
        "e1",
        "test",
    )
    assert valid["event_id"].tolist() == ["e0"]


def test_a_missing_required_column_dead_letters_every_row_and_an_optional_one_is_added() -> None:
    schema = EventSchema(
        {
            "x1": FieldSpec("float"),
            "x2": FieldSpec("float"),
            "note": FieldSpec("str", required=False),
        }
    )
    frame = _frame(x1=[1.0, 2.0])
    assert _reasons(schema, frame) == ["x2: required field is missing"] * 2
    lenient = EventSchema({"x1": FieldSpec("float"), "note": FieldSpec("str", required=False)})
    valid, letters = lenient.validate(frame, stream="s")
    assert letters == [] and valid["note"].isna().all()


def test_optional_fields_accept_missing_values_but_not_bad_ones() -> None:
    schema = EventSchema({"x": FieldSpec("int", required=False)})
    valid, letters = schema.validate(_frame(x=[1, None, "z"]), stream="s")
    assert [letter.reason for letter in letters] == ["x: expected an integer, got 'z'"]
    assert valid["x"].tolist()[0] == 1 and pd.isna(valid["x"].tolist()[1])


def test_every_failing_field_of_a_row_is_named() -> None:
    schema = EventSchema(
        {
            "x1": FieldSpec("float"),
            "device": FieldSpec("category", categories=("desktop", "mobile")),
        }
    )
    letters = schema.validate(_frame(x1=["abc"], device=["tv"]), stream="s")[1]
    assert (
        letters[0].reason
        == "x1: expected a number, got 'abc'; device: expected one of ['desktop', 'mobile'], got 'tv'"
    )
    assert letters[0].field == "x1"


def test_the_payload_is_the_raw_row_as_json() -> None:
    schema = EventSchema({"x": FieldSpec("float")})
    letter = schema.validate(_frame(x=[1.0, "abc"]), stream="s")[1][0]
    assert json.loads(letter.payload) == {
        "event_id": "e1",
        "event_time": "2024-01-01T10:00:00+00:00",
        "x": "abc",
    }


def test_future_timestamps_beyond_max_future() -> None:
    schema = EventSchema({}, max_future=timedelta(hours=1))
    frame = _frame(x=[1, 2, 3])
    frame["event_time"] = pd.to_datetime(
        ["2024-01-01 12:59", "2024-01-01 13:00:01", "2031-01-01"], utc=True, format="ISO8601"
    )
    assert _reasons(schema, frame) == [
        "event_time: 2024-01-01T13:00:01+00:00 is more than 1:00:00 in the future",
        "event_time: 2031-01-01T00:00:00+00:00 is more than 1:00:00 in the future",
    ]


def test_event_id_and_event_time_are_checked_when_present() -> None:
    frame = _frame(x=[1, 2, 3])
    frame["event_id"] = pd.Series(["a", None, ""], dtype=object)
    frame["event_time"] = pd.Series(
        [datetime(2024, 1, 1), datetime(2024, 1, 1), "later"], dtype=object
    )
    assert _reasons(EventSchema({}), frame) == [
        "event_id: required field is missing",
        "event_id: expected a non-empty string, got ''; event_time: expected a timestamp, got 'later'",
    ]


def test_payload_size_limit() -> None:
    schema = EventSchema({}, max_payload_bytes=120)
    frame = _frame(text=["short", "x" * 200])
    letters = schema.validate(frame, stream="s")[1]
    assert len(letters) == 1 and letters[0].reason.startswith(
        "payload: expected at most 120 bytes, got "
    )


def test_an_empty_frame_validates_to_an_empty_frame() -> None:
    schema = EventSchema({"x": FieldSpec("float")})
    valid, letters = schema.validate(_frame(x=[]), stream="s")
    assert valid.empty and letters == [] and "x" in valid.columns


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: FieldSpec("decimal"), "type: expected one of"),  # type: ignore[arg-type]
        (lambda: FieldSpec("category"), "categories: expected a non-empty tuple"),
        (lambda: FieldSpec("float", categories=("a",)), "categories: expected None"),
        (lambda: FieldSpec("str", min=1), "min: expected None for a 'str' field"),
        (lambda: FieldSpec("int", min=5, max=1), "min: expected a value <= max"),
        (lambda: EventSchema({"x": "float"}), "fields.x: expected a FieldSpec"),  # type: ignore[dict-item]
        (
            lambda: EventSchema({}, max_future=timedelta(-1)),
            "max_future: expected a timedelta >= 0",
        ),
        (
            lambda: EventSchema({}, max_payload_bytes=0),
            "max_payload_bytes: expected an integer > 0",
        ),
    ],
)
def test_bad_schemas_are_refused(build: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build()


def test_validate_records_handles_raw_messages() -> None:
    schema = EventSchema({"x": FieldSpec("float")})
    records: list[Mapping[str, Any] | str | bytes] = [
        '{"event_id": "a", "event_time": "2024-01-01T10:00:00Z", "x": 1.5}',
        b'{"event_id": 7, "event_time": "2024-01-01T11:00:00", "x": "2"}',
        "{not json",
        "[1, 2]",
        '{"event_time": "2024-01-01T10:00:00Z", "x": 1}',
        '{"event_id": "b", "x": 1}',
        '{"event_id": "c", "event_time": "2024-01-01T10:00:00Z", "x": "abc"}',
        {"event_id": "d", "event_time": "2024-01-01T12:00:00Z", "x": 3},
    ]
    frame, letters = validate_records(records, schema, stream="clicks", source="kafka:t/0")
    assert frame["event_id"].tolist() == ["a", "7", "d"]
    assert frame["x"].tolist() == [1.5, 2.0, 3.0]
    assert str(frame["event_time"].dtype) == "datetime64[us, UTC]"
    reasons = [letter.reason for letter in letters]
    assert reasons[0].startswith("payload: expected a JSON object, got invalid JSON")
    assert reasons[1:] == [
        "payload: expected a JSON object, got list",
        "event_id: required field is missing",
        "event_time: required field is missing",
        "x: expected a number, got 'abc'",
    ]
    assert letters[0].payload == "{not json"
    assert letters[4].payload == records[6] and letters[4].event_id == "c"
    assert {letter.source for letter in letters} == {"kafka:t/0"}
