"""Incremental pulls from a SQL table (PostgreSQL through SQLAlchemy, or a DuckDB file).

Rows are read in ``(watermark, id)`` order, ``batch_size`` at a time, with the keyset
predicate ``watermark > :w OR (watermark = :w AND id > :i)``: rows that share a watermark
are neither lost nor read twice across batches. The checkpoint is the last row's watermark
and id. The watermark must only grow for new rows (an insertion sequence, or an
``updated_at`` set when the row is committed); a row written later with an older watermark
than one already read is not seen.

Examples
--------
>>> import duckdb, tempfile
>>> from pathlib import Path
>>> path = Path(tempfile.mkdtemp()) / "events.duckdb"
>>> with duckdb.connect(str(path)) as db:
...     _ = db.execute("CREATE TABLE clicks AS SELECT i AS id, TIMESTAMP '2024-01-01' + i * INTERVAL 1 MINUTE AS ts, i * 0.5 AS x FROM range(5) t(i)")
>>> source = SqlSource(url=f"duckdb:///{path}", table="clicks", watermark="ts", id_column="id", batch_size=2)
>>> batches = list(source.read())
>>> [batch.rows for batch in batches], batches[-1].checkpoint.position
([2, 2, 1], {'watermark': '2024-01-01T00:04:00', 'id': 4, 'kind': 'timestamp'})
>>> list(source.read(since=batches[0].checkpoint))[0].frame["event_id"].tolist()
['2', '3']
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import sqlalchemy as sa

from lifelong.clock import Clock
from lifelong.errors import ConfigError
from lifelong.events.batch import EVENT_ID, EVENT_TIME, Batch, Checkpoint
from lifelong.events.normalize import check_stream_name
from lifelong.events.payload import rows_to_json
from lifelong.events.schema import EventSchema
from lifelong.sources.base import Source
from lifelong.sources.errors import SourceUnavailableError

_DUCKDB = "duckdb:///"


def quote_name(name: str) -> str:
    """A (possibly ``schema.``-qualified) table or column name, quoted for SQL."""
    if not isinstance(name, str) or not name:
        raise ConfigError(f"name: expected a non-empty table or column name, got {name!r}")
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


def _native(value: Any) -> Any:
    """A value of a fetched frame as a plain Python value, usable as a query parameter."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    return value


def _plain(value: Any) -> Any:
    """A watermark or id as a JSON value (timestamps as ISO-8601 text)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


class SqlSource(Source):
    """Rows of a table, pulled in watermark order, each row one event.

    Parameters
    ----------
    url
        A SQLAlchemy URL (``postgresql+psycopg://user@host/db``) or ``duckdb:///path/file.duckdb``
        (opened read-only for each pull).
    table
        Table or view to read (``schema.table`` allowed).
    watermark
        Column that grows with new rows (a timestamp or a number).
    id_column
        Unique row id: the tie-breaker among equal watermarks, and the event id.
    time_column
        Column of event times (default: ``watermark``).
    columns
        Columns to read (default: all).
    stream
        Stream name put on every batch.
    schema
        Checks each batch; failing rows become dead letters named ``sql:<table>#<id>``.
    batch_size
        Most rows in one batch.
    clock
        Reference time of the schema's ``max_future`` (default: the system time).
    """

    def __init__(
        self,
        *,
        url: str,
        table: str,
        watermark: str,
        id_column: str,
        time_column: str | None = None,
        columns: Sequence[str] | None = None,
        stream: str = "events",
        schema: EventSchema | None = None,
        batch_size: int = 2000,
        clock: Clock | None = None,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size: expected an integer >= 1, got {batch_size!r}")
        self._table = quote_name(table)
        self._table_name = table
        self._watermark = watermark
        self._id = id_column
        self._time = time_column or watermark
        wanted = list(columns) if columns is not None else None
        if wanted is not None:
            wanted += [name for name in (watermark, id_column, self._time) if name not in wanted]
        self._select = "*" if wanted is None else ", ".join(quote_name(name) for name in wanted)
        self._stream = check_stream_name(stream)
        self._schema = schema
        self._batch_size = batch_size
        self._clock = clock
        self._position: tuple[Any, Any] | None = None
        self._committed: Checkpoint | None = None
        self._duckdb: Path | None = None
        self._engine: sa.Engine | None = None
        if url.startswith(_DUCKDB):
            self._duckdb = Path(url[len(_DUCKDB) :])
        else:
            try:
                self._engine = sa.create_engine(url, pool_pre_ping=True)
            except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
                raise ConfigError(f"url: expected a SQLAlchemy URL or 'duckdb:///path', got {url!r}: {exc}") from exc

    @property
    def stream(self) -> str:
        """Stream name of the batches."""
        return self._stream

    @property
    def committed(self) -> Checkpoint | None:
        """The last checkpoint passed to :meth:`commit`."""
        return self._committed

    def _sql(self, after: tuple[Any, Any] | None, marker: str) -> str:
        w, i = quote_name(self._watermark), quote_name(self._id)
        where = f"WHERE {w} IS NOT NULL AND {i} IS NOT NULL"
        if after is not None:
            a, b, c = (f"{marker}{n}" if marker == ":" else "?" for n in ("w", "w2", "i"))
            where += f" AND ({w} > {a} OR ({w} = {b} AND {i} > {c}))"
        return f"SELECT {self._select} FROM {self._table} {where} ORDER BY {w}, {i} LIMIT {self._batch_size}"

    def _fetch(self, after: tuple[Any, Any] | None) -> pd.DataFrame:
        params = [after[0], after[0], after[1]] if after is not None else []
        if self._duckdb is not None:
            if not self._duckdb.is_file():
                raise ConfigError(f"url: expected an existing DuckDB file, got '{self._duckdb}'")
            try:
                with duckdb.connect(str(self._duckdb), read_only=True) as db:
                    return db.execute(self._sql(after, "?"), params).df()
            except (duckdb.BinderException, duckdb.CatalogException) as exc:
                raise ConfigError(f"table: expected {self._table_name!r} with columns {self._select} in '{self._duckdb}', got: {exc}") from exc
            except duckdb.Error as exc:
                raise SourceUnavailableError(f"sql: reading {self._table_name!r} from '{self._duckdb}' failed: {exc}") from exc
        engine = self._engine
        if engine is None:
            raise ConfigError("url: expected a database URL, got none")
        try:
            with engine.connect() as conn:
                named = dict(zip(("w", "w2", "i"), params, strict=True)) if after is not None else {}
                result = conn.execute(sa.text(self._sql(after, ":")), named)
                return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
        except sa.exc.ProgrammingError as exc:
            raise ConfigError(f"table: expected {self._table_name!r} with columns {self._select}, got: {exc.orig}") from exc
        except sa.exc.SQLAlchemyError as exc:
            raise SourceUnavailableError(f"sql: reading {self._table_name!r} failed: {exc}") from exc

    def _parse(self, checkpoint: Checkpoint) -> tuple[Any, Any]:
        position = checkpoint.position
        if "watermark" not in position or "id" not in position:
            raise ConfigError(f"checkpoint: expected {{'watermark': value, 'id': value}}, got {position!r}")
        watermark = position["watermark"]
        if position.get("kind") == "timestamp":
            try:
                watermark = datetime.fromisoformat(str(watermark))
            except ValueError as exc:
                raise ConfigError(f"checkpoint.watermark: expected an ISO-8601 time, got {watermark!r}") from exc
        return watermark, position["id"]

    def read(self, since: Checkpoint | None = None) -> Generator[Batch, None, None]:
        """Batches of the rows after ``since`` (None: after the last batch yielded), until none is left."""
        if since is not None:
            self._position = self._parse(since)
        while True:
            rows = self._fetch(self._position)
            if not len(rows):
                return
            for name in (self._watermark, self._id, self._time):
                if name not in rows.columns:
                    raise ConfigError(f"{name}: expected a column of {self._table_name!r}, got columns {list(rows.columns)}")
            last = rows.iloc[-1]
            self._position = (_native(last[self._watermark]), _native(last[self._id]))
            yield self._batch(rows)
            if len(rows) < self._batch_size:
                return

    def _batch(self, rows: pd.DataFrame) -> Batch:
        ids = rows[self._id]
        frame = rows.copy()
        frame[EVENT_ID] = [None if pd.isna(value) else str(_plain(value)) for value in ids]
        frame[EVENT_TIME] = rows[self._time]
        frame = frame[[EVENT_ID, EVENT_TIME, *(c for c in frame.columns if c not in (EVENT_ID, EVENT_TIME))]]
        schema = self._schema if self._schema is not None else EventSchema({})
        now = self._clock.now() if self._clock is not None else None
        payloads = rows_to_json(rows)
        valid, letters = schema.validate(frame, stream=self._stream, now=now, payloads=payloads)
        source = f"sql:{self._table_name}"
        letters = [
            type(letter)(letter.stream, letter.reason, letter.payload, letter.field, letter.event_id, f"{source}#{letter.event_id}")
            for letter in letters
        ]
        watermark, last_id = self._position if self._position is not None else (None, None)
        kind = "timestamp" if isinstance(watermark, (datetime, date, np.datetime64)) else "value"
        checkpoint = Checkpoint({"watermark": _plain(watermark), "id": _plain(last_id), "kind": kind})
        return Batch(self._stream, valid, checkpoint, tuple(letters))

    def commit(self, checkpoint: Checkpoint) -> None:
        """Remember ``checkpoint`` as stored (the ingest loop saves it in the home folder)."""
        self._parse(checkpoint)
        self._committed = checkpoint

    def close(self) -> None:
        """Dispose of the connection pool."""
        if self._engine is not None:
            self._engine.dispose()


__all__ = ["SqlSource", "quote_name"]
