"""Incremental pulls by watermark of a table Spark reads, for windows too large for one process (extra ``spark``).

The semantics are :class:`~lifelong.sources.sql.SqlSource`'s, and so is the bookkeeping:
rows in ``(watermark, id)`` order, the keyset predicate ``watermark > w OR (watermark = w AND
id > i)`` after the checkpoint, the checkpoint the last row's watermark and id, bad rows as
dead letters. Only the pull differs: the filter, the projection and the sort run in Spark
(on a Parquet, ORC, JSON or CSV folder, or on the result of a Spark SQL query), and the
sorted rows come to the driver one partition at a time (``toLocalIterator``), cut into
batches of ``batch_size``: the driver never holds the whole window, only a partition and a
batch. More partitions (``spark.sql.shuffle.partitions``) mean smaller pieces on the driver.

Timestamps are moved as UTC microseconds, so the session's time zone never shifts them;
``TIMESTAMP_NTZ`` values are read as UTC, like naive times everywhere in lifelong.

Examples
--------
Every row of a Parquet folder after the saved checkpoint (a JVM starts, so it is not run here):

>>> source = SparkSource(path="/data/clicks", watermark="ts", id_column="id", master="local[*]")  # doctest: +SKIP
>>> for batch in source.read(since=checkpoint):  # doctest: +SKIP
...     store.append(batch.stream, batch.frame)
...     save(batch.checkpoint)

Both a path and a query is a mistake, told before any JVM starts:

>>> SparkSource(path="s3a://lake/clicks", query="SELECT 1", watermark="ts", id_column="id")
Traceback (most recent call last):
...
lifelong.errors.ConfigError: path, query: expected exactly one of them, got both
"""

from __future__ import annotations

import itertools
from collections.abc import Generator, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import pandas as pd

from lifelong.clock import Clock
from lifelong.errors import ConfigError
from lifelong.events.batch import Batch, Checkpoint
from lifelong.events.schema import EventSchema
from lifelong.sources.errors import SourceUnavailableError
from lifelong.sources.sql import SqlSource

Format = Literal["parquet", "orc", "json", "csv"]
# SqlSource keeps the positions and checkpoints; it opens no database here (rows come from Spark).
_NO_DATABASE = "duckdb:///"


def _pyspark() -> Any:
    """``pyspark.sql``, or a ConfigError naming the extra."""
    try:
        import pyspark.sql
        import pyspark.sql.functions
        import pyspark.sql.types
    except ImportError as exc:
        raise ConfigError(f"source.kind: 'spark' needs the 'spark' extra (pip install 'lifelong[spark]'), got {exc}") from exc
    return pyspark.sql


def _name(column: str) -> str:
    """A column name quoted for Spark (backticks), so dots and spaces stay part of it."""
    return "`" + column.replace("`", "``") + "`"


class SparkSource(SqlSource):
    """Rows of a Spark table or query, pulled in watermark order, each row one event.

    Parameters
    ----------
    path
        A folder (or file) Spark reads in ``format``: local, ``hdfs://``, ``s3a://``...
    query
        A Spark SQL query whose result is the table (instead of ``path``).
    format
        Format of ``path``.
    watermark
        Column that grows with new rows (a timestamp or a number).
    id_column
        Unique row id: the tie-breaker among equal watermarks, and the event id.
    time_column
        Column of event times (default: ``watermark``).
    columns
        Columns to read (default: all); the projection runs in Spark.
    stream
        Stream name put on every batch.
    schema
        Checks each batch; failing rows become dead letters named ``spark:<path or query>#<id>``.
    batch_size
        Most rows in one batch.
    spark
        A running ``SparkSession`` to use (left running by :meth:`close`); None starts one on
        ``master`` when none is active, stopped by :meth:`close`.
    master
        Spark master of the session started here (``local[*]``, ``spark://host:7077``, ``yarn``).
    options
        Settings of the session started here (``spark.executor.memory``...), and reader
        options of ``path`` under ``read.`` (``read.header``: ``true`` for CSV).
    clock
        Reference time of the schema's ``max_future`` (default: the system time).
    """

    def __init__(
        self,
        *,
        path: str | None = None,
        query: str | None = None,
        format: Format = "parquet",
        watermark: str,
        id_column: str,
        time_column: str | None = None,
        columns: Sequence[str] | None = None,
        stream: str = "events",
        schema: EventSchema | None = None,
        batch_size: int = 2000,
        spark: Any = None,
        master: str = "local[*]",
        options: Mapping[str, str] | None = None,
        clock: Clock | None = None,
    ) -> None:
        if (path is None) == (query is None):
            raise ConfigError(f"path, query: expected exactly one of them, got {'both' if path is not None else 'neither'}")
        for field, given in (("path", path), ("query", query)):
            if given is not None and (not isinstance(given, str) or not given.strip()):
                raise ConfigError(f"{field}: expected a non-empty string, got {given!r}")
        if format not in ("parquet", "orc", "json", "csv"):
            raise ConfigError(f"format: expected one of ['csv', 'json', 'orc', 'parquet'], got {format!r}")
        label = path if path is not None else f"query({query})"
        super().__init__(
            url=_NO_DATABASE, table=label, watermark=watermark, id_column=id_column, time_column=time_column,
            columns=columns, stream=stream, schema=schema, batch_size=batch_size, clock=clock,
        )
        self._sql_module = _pyspark()
        self._path = path
        self._query = query
        self._format = format
        self._columns = None if columns is None else list(dict.fromkeys([*columns, watermark, id_column, self._time]))
        self._spark = spark
        self._owned = False
        self._master = master
        self._options = dict(options or {})
        self._rows: Iterator[Any] | None = None
        self._names: list[str] = []
        self._converters: dict[str, str] = {}

    # -- the Spark side ----------------------------------------------------------------

    def session(self) -> Any:
        """The SparkSession: the one given, the active one, or one started on ``master``."""
        if self._spark is None:
            sql = self._sql_module
            active = sql.SparkSession.getActiveSession()
            if active is not None:
                self._spark = active
            else:
                builder = sql.SparkSession.builder.master(self._master).appName("lifelong-ingest")
                settings = {"spark.sql.session.timeZone": "UTC", "spark.ui.showConsoleProgress": "false"}
                settings |= {k: v for k, v in self._options.items() if not k.startswith("read.")}
                for key, value in settings.items():
                    builder = builder.config(key, value)
                try:
                    self._spark = builder.getOrCreate()
                except Exception as exc:  # py4j and JVM start failures have no common base
                    raise SourceUnavailableError(f"spark: cannot start a session on {self._master!r}: {exc}") from exc
                self._owned = True
        return self._spark

    def _dataframe(self) -> Any:
        spark = self.session()
        if self._query is not None:
            return spark.sql(self._query)
        reader = spark.read.format(self._format)
        for key, value in self._options.items():
            if key.startswith("read."):
                reader = reader.option(key[len("read.") :], value)
        return reader.load(self._path)

    def _literal(self, value: Any, kind: Any) -> Any:
        """A checkpoint value as a Spark literal of the column's type (timestamps exact in UTC)."""
        functions, types = self._functions()
        if isinstance(value, datetime):
            aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
            if isinstance(kind, types.TimestampNTZType):
                return functions.lit(aware.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")).cast(kind)
            return functions.lit(aware).cast(kind)
        return functions.lit(value).cast(kind)

    def _functions(self) -> tuple[Any, Any]:
        from pyspark.sql import functions, types

        return functions, types

    def _pull(self, after: tuple[Any, Any] | None) -> Iterator[Any]:
        """The rows after ``after``, filtered, projected and sorted by Spark, one partition at a time."""
        functions, types = self._functions()
        table = self._dataframe()
        if self._columns is not None:
            missing = [name for name in self._columns if name not in table.columns]
            if missing:
                raise ConfigError(f"columns: expected columns of {self._table_name!r}, got {missing} (it has {table.columns})")
            table = table.select(*(functions.col(_name(name)) for name in self._columns))
        for name in (self._watermark, self._id, self._time):
            if name not in table.columns:
                raise ConfigError(f"{name}: expected a column of {self._table_name!r}, got columns {table.columns}")
        kinds = {field.name: field.dataType for field in table.schema.fields}
        w, i = functions.col(_name(self._watermark)), functions.col(_name(self._id))
        table = table.where(w.isNotNull() & i.isNotNull())
        if after is not None:
            lw, li = self._literal(after[0], kinds[self._watermark]), self._literal(after[1], kinds[self._id])
            table = table.where((w > lw) | ((w == lw) & (i > li)))
        self._names = list(table.columns)
        self._converters = {}
        selected = []
        for name in self._names:
            column = functions.col(_name(name))
            if isinstance(kinds[name], types.TimestampType):
                self._converters[name] = "micros"
                column = functions.unix_micros(column).alias(name)
            elif isinstance(kinds[name], types.TimestampNTZType):
                self._converters[name] = "naive"
            selected.append(column)
        ordered = table.orderBy(w, i).select(*selected)
        return iter(ordered.toLocalIterator(prefetchPartitions=False))

    def _frame(self, rows: list[Any]) -> pd.DataFrame:
        frame = pd.DataFrame.from_records([tuple(row) for row in rows], columns=self._names)
        for name, how in self._converters.items():
            if how == "micros":
                frame[name] = pd.to_datetime(frame[name], unit="us", utc=True)
            else:
                frame[name] = pd.to_datetime(frame[name]).dt.tz_localize("UTC")
        return frame

    # -- SqlSource's keyset loop, fed from Spark -----------------------------------------

    def _fetch(self, after: tuple[Any, Any] | None) -> pd.DataFrame:
        """The next ``batch_size`` rows of this read's pull (started at ``after`` on the first call)."""
        if self._rows is None:
            self._rows = self._pull(after)
        rows = list(itertools.islice(self._rows, self._batch_size))
        if len(rows) < self._batch_size:
            self._rows = None
        return self._frame(rows)

    def read(self, since: Checkpoint | None = None) -> Generator[Batch, None, None]:
        """Batches of the rows after ``since`` (None: after the last batch yielded), until none is left."""
        from py4j.protocol import Py4JError
        from pyspark.errors import AnalysisException, ParseException, PySparkException

        self._rows = None
        try:
            for batch in super().read(since):
                letters = tuple(
                    type(letter)(letter.stream, letter.reason, letter.payload, letter.field, letter.event_id,
                                 f"spark:{self._table_name}#{letter.event_id}")
                    for letter in batch.dead_letters
                )
                yield Batch(batch.stream, batch.frame, batch.checkpoint, letters)
        except (AnalysisException, ParseException) as exc:
            field = "query" if self._query is not None else "path"
            raise ConfigError(f"{field}: expected a table Spark can read, got {self._table_name!r}: {exc}") from exc
        except (PySparkException, Py4JError) as exc:
            raise SourceUnavailableError(f"spark: reading {self._table_name!r} failed: {exc}") from exc
        finally:
            self._rows = None

    def close(self) -> None:
        """Stop the session started here (a session given or found active keeps running)."""
        self._rows = None
        if self._owned and self._spark is not None:
            spark, self._spark, self._owned = self._spark, None, False
            spark.stop()


__all__ = ["SparkSource"]
