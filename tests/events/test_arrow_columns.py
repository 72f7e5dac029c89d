"""The Arrow checks of parsed messages agree with the pandas checks of EventSchema.validate."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pandas as pd
import pytest

from lifelong.events import EventSchema, FieldSpec
from lifelong.events.columns import check_columns

POOLS: dict[str, list[Any]] = {
    "float": [1.5, 2, -3, 0.0, 1e300, None, "4.5", "abc", True, [1], {"a": 1}, 10**30, 7, 12.0],
    "int": [1, 2, -5, 2.0, 2.5, None, "3", "x", False, 2**63, 1e19, 9, 10.0],
    "str": ["a", "", "é", None, 5, 1.5, True, ["x"], "b"],
    "bool": [True, False, None, "yes", "no", 0, 1, 2, "maybe", 1.0],
    "category": ["desktop", "mobile", "tv", None, 1, "1", 1.5, True],
    "timestamp": [
        "2024-01-01T00:00:00+00:00", "2024-01-01T00:00:00Z", "2024-01-01T05:30:00+05:30",
        "2024-01-01T00:00:00.123456Z", "2024-01-01T00:00:00.1234567Z", "2024-01-01", "2024-01-01T00:00:00",
        "2024-01-01 00:00:00+00:00", "later", "2024-13-01T00:00:00Z", None, 5, "2999-01-01T00:00:00Z",
        "2024-01-01T00Z", "2024-01-01T00:00+01:00",
    ],
}
SPECS = {
    "float": FieldSpec("float", min=-1.0, max=100.0),
    "int": FieldSpec("int", min=0, max=9),
    "str": FieldSpec("str", required=False),
    "bool": FieldSpec("bool"),
    "category": FieldSpec("category", categories=("desktop", "mobile", "1")),
    "timestamp": FieldSpec("timestamp", required=False),
}
NOW = pd.Timestamp("2024-06-01", tz="UTC").to_pydatetime()


def _rows(rng: random.Random, kinds: list[str], count: int, pure: bool) -> list[dict[str, Any]]:
    """Rows of random values; ``pure`` keeps to the values the Arrow path takes (numbers, text)."""
    rows = []
    for index in range(count):
        row: dict[str, Any] = {"event_id": f"e{index}", "event_time": "2024-01-01T00:00:00Z"}
        for kind in kinds:
            pool = POOLS[kind]
            if pure:
                plain = {"float": (int, float), "int": (int,), "str": (str,), "bool": (bool,),
                         "category": (str,), "timestamp": (str,)}[kind]
                pool = [v for v in pool if v is None or (type(v) in plain and v != 2**63)]
            row[kind] = rng.choice(pool)
        rows.append(row)
    return rows


def _compare(schema: EventSchema, rows: list[dict[str, Any]]) -> None:
    frame = pd.DataFrame.from_records(rows)
    frame["__position__"] = range(len(frame))
    valid, letters = schema.validate(frame, stream="s", now=NOW)
    expected_bad = sorted(set(range(len(rows))) - set(valid["__position__"]))
    columns = {name: [row.get(name) for row in rows] for name in frame.columns if name != "__position__"}
    checked = check_columns(schema, columns, len(rows), now=NOW)
    assert sorted(checked.problems) == expected_bad
    assert ["; ".join(checked.problems[position]) for position in expected_bad] == [letter.reason for letter in letters]
    good = [position for position in range(len(rows)) if position not in checked.problems]
    for name in checked.table.column_names:
        ours = checked.table.column(name).take(good).to_pylist()
        theirs = [None if pd.isna(value) else value for value in valid[name].tolist()]
        if name in ("timestamp", "event_time"):
            theirs = [None if value is None else value.to_pydatetime() for value in theirs]
        assert ours == theirs, name


@pytest.mark.parametrize("pure", [True, False])
@pytest.mark.parametrize("seed", range(6))
def test_arrow_checks_match_the_pandas_checks(seed: int, pure: bool) -> None:
    rng = random.Random(seed)
    kinds = rng.sample(sorted(SPECS), k=rng.randint(1, len(SPECS)))
    schema = EventSchema({kind: SPECS[kind] for kind in kinds}, max_future=timedelta(days=1))
    _compare(schema, _rows(rng, kinds, 60, pure))


def test_columns_of_one_kind_take_the_arrow_path_and_still_report_each_value() -> None:
    schema = EventSchema({"x": FieldSpec("float", min=0.0), "n": FieldSpec("int", max=3)})
    rows = [{"event_id": "a", "event_time": "2024-01-01T00:00:00Z", "x": 1.5, "n": 2},
            {"event_id": "b", "event_time": "2024-01-01T00:00:00Z", "x": -2, "n": 7},
            {"event_id": "", "event_time": "2024-01-01T00:00:00Z", "x": None, "n": None}]
    _compare(schema, rows)
    checked = check_columns(schema, {name: [row[name] for row in rows] for name in rows[0]}, 3, now=NOW)
    assert checked.problems == {
        1: ["x: expected a value >= 0.0, got -2.0", "n: expected a value <= 3, got 7.0"],  # as pandas shows them
        2: ["x: required field is missing", "n: required field is missing", "event_id: expected a non-empty string, got ''"],
    }


def test_timestamps_with_offsets_take_the_arrow_path_and_match() -> None:
    schema = EventSchema({"t": FieldSpec("timestamp")}, max_future=timedelta(days=1))
    offsets = [value for value in POOLS["timestamp"] if isinstance(value, str) and value[-1] in "Z0" and "T" in value
               and "13-" not in value and ".1234567" not in value]
    rows = [{"event_id": f"e{i}", "event_time": value, "t": value} for i, value in enumerate(offsets * 3)]
    _compare(schema, rows)
    checked = check_columns(schema, {name: [row[name] for row in rows] for name in rows[0]}, len(rows), now=NOW)
    assert any("in the future" in message for messages in checked.problems.values() for message in messages)
