"""Database access of the registry: engines, serialized write transactions, migrations.

SQLite runs in WAL mode with a 30 s busy timeout and foreign keys on; every write
transaction starts with ``BEGIN IMMEDIATE`` so writers queue instead of failing, and lock
errors that still surface are retried with backoff. PostgreSQL (``postgresql+psycopg://``)
serializes migrations with an advisory lock; conflicts (unique violations, serialization
failures, deadlocks) are retried the same way.

Examples
--------
>>> database = Database("sqlite://")
>>> database.run(lambda conn: conn.exec_driver_sql("SELECT 1").scalar_one(), write=False)
1
>>> database.close()
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.pool import StaticPool

from lifelong.errors import ConfigError, RegistryError

T = TypeVar("T")

VERSION_TABLE = "lifelong_alembic_version"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
RETRY_SECONDS = 120.0
_PG_MIGRATION_LOCK = 0x6C6966656C6F6E67  # "lifelong" as a 64-bit key
_WRITE = "lifelong_write"
_PG_RETRY_STATES = {"40001", "40P01", "55P03", "23505"}


def parse_url(url: str) -> sa.URL:
    """Parse a database URL; plain ``postgresql://`` selects the psycopg (3) driver."""
    if not isinstance(url, str) or not url:
        raise ConfigError(f"url: expected a database URL such as 'sqlite:///x.db', got {url!r}")
    try:
        parsed = sa.make_url(url)
    except exc.ArgumentError as error:
        raise ConfigError(f"url: expected a database URL, got {url!r}") from error
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def dump_json(value: Any) -> str:
    """JSON text of a column value: orjson, or the standard library for what orjson refuses
    (integers beyond 64 bits)."""
    try:
        return orjson.dumps(value).decode("utf-8")
    except TypeError:
        return json.dumps(value)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN instead of the sqlite3 module.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _sqlite_begin(connection: sa.Connection) -> None:
    immediate = connection.get_execution_options().get(_WRITE, False)
    statement = "BEGIN IMMEDIATE" if immediate else "BEGIN"
    # Sent on the driver's connection: the same statement, without SQLAlchemy's execution
    # path (several times the cost of the statement); errors are raised as SQLAlchemy's own.
    try:
        connection.connection.driver_connection.execute(statement)  # type: ignore[union-attr]
    except sqlite3.Error as error:
        raise exc.DBAPIError.instance(statement, (), error, sqlite3.Error) from error


def is_retryable(error: BaseException) -> bool:
    """Whether ``error`` is a lock or a write conflict that a fresh transaction may avoid."""
    if not isinstance(error, exc.DBAPIError):
        return False
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in _PG_RETRY_STATES
    message = str(error.orig).lower()
    if isinstance(error, exc.OperationalError):
        return "locked" in message or "busy" in message
    if isinstance(error, exc.IntegrityError):
        return "unique constraint failed" in message
    return False


class Database:
    """An engine plus transactions that retry on locks and write conflicts.

    Parameters
    ----------
    url
        SQLAlchemy URL: ``sqlite:///path.db``, ``sqlite://`` (in memory, one process) or
        ``postgresql+psycopg://user@host/db``.
    """

    def __init__(self, url: str) -> None:
        parsed = parse_url(url)
        self.backend = parsed.get_backend_name()
        self._lock: threading.RLock | None = None
        if self.backend == "sqlite":
            memory = parsed.database in {None, "", ":memory:"}
            if memory:
                # One shared connection; transactions on it are serialized by a lock.
                self._lock = threading.RLock()
                self.engine = sa.create_engine(
                    parsed,
                    poolclass=StaticPool,
                    connect_args={"check_same_thread": False},
                    json_deserializer=orjson.loads,
                    json_serializer=dump_json,
                )
            else:
                Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
                self.engine = sa.create_engine(
                    parsed, json_deserializer=orjson.loads, json_serializer=dump_json
                )
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        else:
            try:
                self.engine = sa.create_engine(
                    parsed,
                    pool_pre_ping=True,
                    json_deserializer=orjson.loads,
                    json_serializer=dump_json,
                )
            except (exc.ArgumentError, exc.NoSuchModuleError, ImportError) as error:
                raise ConfigError(
                    f"url: cannot use {parsed.render_as_string(hide_password=True)!r}: {error}"
                ) from error

    @property
    def url(self) -> str:
        """The URL, with any password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[sa.Connection]:
        lock = self._lock if self._lock is not None else nullcontext()
        with lock, self.engine.connect() as connection:
            if write:
                connection.execution_options(**{_WRITE: True})
            with connection.begin():
                yield connection

    def run(self, work: Callable[[sa.Connection], T], *, write: bool) -> T:
        """Run ``work(connection)`` in one transaction, retried on locks and conflicts.

        ``work`` must be safe to run again: it is re-run from the start in a new
        transaction after a retryable failure. Other errors propagate unchanged.
        """
        deadline = time.monotonic() + RETRY_SECONDS
        delay = 0.005
        while True:
            try:
                with self._transaction(write=write) as connection:
                    return work(connection)
            except exc.DBAPIError as error:
                if not is_retryable(error):
                    raise
                if time.monotonic() > deadline:
                    raise RegistryError(
                        f"registry database {self.url}: still locked or conflicting after "
                        f"{RETRY_SECONDS:.0f} s of retries: {error.orig}"
                    ) from error
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.5)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def upgrade(database: Database) -> None:
    """Bring the schema to the latest migration; idempotent and safe across processes."""
    from alembic import command
    from alembic.config import Config

    def migrate(connection: sa.Connection) -> None:
        if database.backend == "postgresql":
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
            )
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("path_separator", "os")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    database.run(migrate, write=True)


def current_revision(database: Database) -> str | None:
    """The schema's migration revision, or ``None`` before the first upgrade."""

    def read(connection: sa.Connection) -> str | None:
        if not sa.inspect(connection).has_table(VERSION_TABLE):
            return None
        rows = connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
        return ",".join(sorted(str(row[0]) for row in rows)) or None

    return database.run(read, write=False)


__all__ = ["Database", "current_revision", "dump_json", "is_retryable", "parse_url", "upgrade"]
