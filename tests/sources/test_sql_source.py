"""The SQL source on a DuckDB file and on PostgreSQL: watermark + id pulls, no row lost or repeated."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from lifelong.errors import ConfigError
from lifelong.events import Batch, EventSchema, FieldSpec
from lifelong.sources import SqlSource, SourceUnavailableError

START = datetime(2024, 1, 1, tzinfo=UTC)
SCHEMA = EventSchema({"x": FieldSpec("float"), "kind": FieldSpec("str")}, max_future=timedelta(hours=1))
Insert = Callable[[list[tuple[int, datetime, object, str]]], None]


@pytest.fixture(params=["duckdb", "postgres"])
def table(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Insert]]:
    """A ``clicks(id, ts, x, kind)`` table and a function that inserts rows into it."""
    if request.param == "duckdb":
        path = tmp_path / "warehouse.duckdb"
        with duckdb.connect(str(path)) as db:
            db.execute("CREATE TABLE clicks (id INTEGER, ts TIMESTAMPTZ, x VARCHAR, kind VARCHAR)")

        def insert_duckdb(rows: list[tuple[int, datetime, object, str]]) -> None:
            with duckdb.connect(str(path)) as db:
                db.executemany("INSERT INTO clicks VALUES (?, ?, ?, ?)", [(i, t, None if x is None else str(x), k) for i, t, x, k in rows])

        yield f"duckdb:///{path}", insert_duckdb
        return
    url = str(request.getfixturevalue("postgres_url"))
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE clicks (id INTEGER PRIMARY KEY, ts TIMESTAMPTZ NOT NULL, x TEXT, kind TEXT)"))

    def insert_postgres(rows: list[tuple[int, datetime, object, str]]) -> None:
        with engine.begin() as conn:
            conn.execute(
                sa.text("INSERT INTO clicks VALUES (:i, :t, :x, :k)"),
                [{"i": i, "t": t, "x": None if x is None else str(x), "k": k} for i, t, x, k in rows],
            )

    try:
        yield url, insert_postgres
    finally:
        engine.dispose()


def _rows(ids: range, minute: Callable[[int], int]) -> list[tuple[int, datetime, object, str]]:
    return [(i, START + timedelta(minutes=minute(i)), i * 0.5, "click") for i in ids]


def _ids(batches: list[Batch]) -> list[str]:
    return [event_id for batch in batches for event_id in batch.frame["event_id"]]


def test_equal_watermarks_across_batches_are_neither_lost_nor_repeated(table: tuple[str, Insert]) -> None:
    url, insert = table
    insert(_rows(range(10), lambda i: i // 4))  # watermarks 0,0,0,0,1,1,1,1,2,2: batches of 3 cut inside
    source = SqlSource(url=url, table="clicks", watermark="ts", id_column="id", batch_size=3, schema=SCHEMA)
    with source:
        batches = list(source.read())
        assert _ids(batches) == [str(i) for i in range(10)]
        assert [batch.rows for batch in batches] == [3, 3, 3, 1]
        last = batches[-1].checkpoint
        assert last is not None and last.position["id"] == 9
        insert(_rows(range(10, 16), lambda i: 2))  # same watermark as the last row read, higher ids
        newer = list(source.read(since=last))
        assert _ids(newer) == [str(i) for i in range(10, 16)]
        frame = newer[0].frame
        assert str(frame["event_time"].dtype) == "datetime64[us, UTC]" and frame["x"].tolist()[:2] == [5.0, 5.5]
        assert list(source.read()) == []  # caught up


def test_bad_rows_become_dead_letters_with_the_row_as_payload(table: tuple[str, Insert]) -> None:
    url, insert = table
    rows = _rows(range(6), lambda i: i)
    rows[2] = (2, rows[2][1], "abc", "click")
    rows[4] = (4, START + timedelta(days=3650), 1.0, "click")
    insert(rows)
    with SqlSource(url=url, table="clicks", watermark="ts", id_column="id", schema=SCHEMA) as source:
        (batch,) = list(source.read())
    assert batch.frame["event_id"].tolist() == ["0", "1", "3", "5"]
    reasons = {letter.event_id: letter.reason for letter in batch.dead_letters}
    assert "x: expected a number, got 'abc'" in reasons["2"] and "in the future" in reasons["4"]
    assert {letter.source for letter in batch.dead_letters} == {"sql:clicks#2", "sql:clicks#4"}
    assert all('"id":' in letter.payload for letter in batch.dead_letters)


def _read_all(source: SqlSource) -> list[Batch]:
    with source:
        return list(source.read())


def test_a_missing_table_or_column_fails_with_its_name(tmp_path: Path, postgres_url: str) -> None:
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as db:
        db.execute("CREATE TABLE t (id INTEGER, ts TIMESTAMP)")
        db.execute("INSERT INTO t VALUES (1, TIMESTAMP '2024-01-01')")
    with pytest.raises(ConfigError, match="table: expected 'absent'"):
        _read_all(SqlSource(url=f"duckdb:///{path}", table="absent", watermark="ts", id_column="id"))
    with pytest.raises(ConfigError, match="event_ts"):
        _read_all(SqlSource(url=f"duckdb:///{path}", table="t", watermark="ts", id_column="id", time_column="event_ts", columns=["id"]))
    with pytest.raises(ConfigError, match="url: expected an existing DuckDB file"):
        _read_all(SqlSource(url=f"duckdb:///{tmp_path / 'none.duckdb'}", table="t", watermark="ts", id_column="id"))
    with pytest.raises(ConfigError, match="table: expected 'absent'"):
        _read_all(SqlSource(url=postgres_url, table="absent", watermark="ts", id_column="id"))
    with pytest.raises(SourceUnavailableError, match="sql: reading 't' failed"):
        _read_all(SqlSource(url="postgresql+psycopg://postgres@127.0.0.1:9/x", table="t", watermark="ts", id_column="id"))
