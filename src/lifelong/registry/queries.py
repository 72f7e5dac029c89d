"""Statements the registry runs inside its transactions (each takes an open connection).

Examples
--------
>>> undo_target([("set", None, "1.0"), ("set", "1.0", "1.1"), ("set", "1.1", "1.2")])
'1.1'
>>> undo_target([("set", None, "1.0"), ("set", "1.0", "1.1"), ("rollback", "1.1", "1.0")]) is None
True
"""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from lifelong.clock import utc
from lifelong.errors import NotFoundError, RegistryError
from lifelong.registry.codec import (
    RECORD_COLUMNS,
    collector_paused,
    record_columns,
    version_from_row,
    version_from_values,
)
from lifelong.registry.names import parse_version
from lifelong.registry.schema import alias_history, aliases, models, versions
from lifelong.registry.types import AliasChange, ModelVersion

UNSET: Final[Any] = object()
"""Default of ``set_alias(expected=...)``: no compare-and-set."""

# Statements built once: building a SQLAlchemy statement costs more than running it on SQLite.
_RECORD = record_columns(versions)
_BY_VERSION = (
    versions.c.model == sa.bindparam("model"),
    versions.c.major == sa.bindparam("major"),
    versions.c.minor == sa.bindparam("minor"),
)
_GET_RECORD = sa.select(*_RECORD).where(*_BY_VERSION)
_LOCK_MODEL = (
    sa.select(models.c.name).where(models.c.name == sa.bindparam("model")).with_for_update()
)
_INSERTED: Final = tuple(name for name in RECORD_COLUMNS if name not in {"model", "major", "minor"})
"""The columns an insert binds besides the model and the number it allocates."""


def _insert_statement(*, next_major: bool, has_parent: bool, returning: bool) -> Any:
    """``INSERT INTO versions ... SELECT``: the version number is allocated in the insert itself.

    ``next_major``: the model's highest MAJOR plus one, MINOR 0 (a model iteration, or a
    first version); otherwise MAJOR ``:major`` and that MAJOR's highest MINOR plus one (a
    data iteration of a parent in ``:major``). With ``has_parent``, nothing is inserted
    unless version ``:parent`` of the model exists; the row records the parent's id and
    extends the parent's lineage segment when the parent is its last version (else it starts
    a segment, whose id :func:`insert_version` sets). Every writer holds the database's write
    lock (SQLite ``BEGIN IMMEDIATE``) or the model's row lock (PostgreSQL ``FOR UPDATE``)
    while it runs, so the numbers and segment places are unique and gap-free.
    """
    model = sa.bindparam("model", type_=versions.c.model.type)
    if next_major:
        top = sa.func.coalesce(sa.func.max(versions.c.major), 0) + 1
        allocated = sa.select(top.label("major"), sa.literal(0, sa.Integer).label("minor"))
        allocated = allocated.where(versions.c.model == model)
    else:
        top = sa.func.coalesce(sa.func.max(versions.c.minor), -1) + 1
        major = sa.bindparam("major", type_=sa.Integer)
        allocated = sa.select(sa.cast(major, sa.Integer).label("major"), top.label("minor"))
        allocated = allocated.where(versions.c.model == model, versions.c.major == major)
    number = allocated.subquery("allocated")
    text = sa.String(32)
    source: Any = number
    if has_parent:
        parent = versions.alias("parent_version")
        following = versions.alias("following")
        extends = ~sa.exists().where(
            following.c.segment_id == parent.c.segment_id,
            following.c.segment_pos == parent.c.segment_pos + 1,
        )
        place = (
            parent.c.id,
            sa.case((extends, parent.c.segment_id), else_=sa.null()),
            sa.case((extends, parent.c.segment_pos + 1), else_=0),
        )
        source = number.join(
            parent,
            sa.and_(
                parent.c.model == model,
                parent.c.version == sa.bindparam("parent", type_=versions.c.parent.type),
            ),
        )
    else:
        none = sa.null()
        place = (sa.cast(none, sa.Integer), sa.cast(none, sa.Integer), sa.literal(0, sa.Integer))
    # Bare parameters carry their column's type: its bind processing (JSON, UTC timestamps)
    # runs, and PostgreSQL's driver renders the matching cast. No CAST is written for SQLite,
    # whose CAST to a type name such as JSON or DATETIME would convert the value.
    values = sa.select(
        model,
        number.c.major,
        number.c.minor,
        sa.cast(number.c.major, text) + "." + sa.cast(number.c.minor, text),
        *place,
        *(sa.bindparam(name, type_=versions.c[name].type) for name in _INSERTED),
    ).select_from(source)
    statement = versions.insert().from_select(
        ["model", "major", "minor", "version", *_PLACE, *_INSERTED], values
    )
    return statement.returning(*_RETURNED) if returning else statement


_PLACE: Final = ("parent_id", "segment_id", "segment_pos")
_RETURNED: Final = (*_RECORD, versions.c.id, versions.c.segment_id)
_INSERTS = {
    (next_major, has_parent, returning): _insert_statement(
        next_major=next_major, has_parent=has_parent, returning=returning
    )
    for next_major in (False, True)
    for has_parent in (False, True)
    for returning in (False, True)
}
_INSERTS_NUMBERED = {
    (next_major, has_parent): _insert_statement(
        next_major=next_major, has_parent=has_parent, returning=False
    ).returning(versions.c.id, versions.c.major, versions.c.minor, versions.c.segment_id)
    for next_major in (False, True)
    for has_parent in (False, True)
}
"""The inserts run prepared on SQLite: they return the row's id, number and segment only."""
_VERSION_ROW = sa.select(versions).where(*_BY_VERSION)
_VERSION_ROW_LOCKED = _VERSION_ROW.with_for_update()
_VERSION_ID = sa.select(versions.c.id).where(*_BY_VERSION)
_ALIAS_KEY = (aliases.c.model == sa.bindparam("model"), aliases.c.alias == sa.bindparam("alias"))
_ALIAS = (
    sa.select(versions.c.version)
    .select_from(aliases.join(versions, aliases.c.version_id == versions.c.id))
    .where(*_ALIAS_KEY)
)
_ALIAS_LOCKED = _ALIAS.with_for_update(of=aliases)
_DELETE_ALIAS = aliases.delete().where(*_ALIAS_KEY)
_POINTER = {
    "version_id": sa.bindparam("version_id", type_=aliases.c.version_id.type),
    "updated_at": sa.bindparam("updated_at", type_=aliases.c.updated_at.type),
}
_INSERT_ALIAS = aliases.insert().values(
    model=sa.bindparam("model", type_=aliases.c.model.type),
    alias=sa.bindparam("alias", type_=aliases.c.alias.type),
    **_POINTER,
)
_UPDATE_ALIAS = (
    aliases.update()
    .where(aliases.c.model == sa.bindparam("where_model"), aliases.c.alias == sa.bindparam("where_alias"))
    .values(**_POINTER)
)
_INSERT_MOVE = alias_history.insert().values(
    {
        name: sa.bindparam(name, type_=alias_history.c[name].type)
        for name in ("model", "alias", "from_version", "to_version", "kind", "actor", "reason", "at")
    }
)
_GET_BY_ID = sa.select(*_RETURNED).where(versions.c.id == sa.bindparam("id"))
_START_SEGMENT = (
    versions.update()
    .where(versions.c.id == sa.bindparam("row_id"))
    .values(segment_id=sa.bindparam("row_id"))
)


_START_SEGMENT_SQL: Final = "UPDATE versions SET segment_id = ? WHERE id = ?"


def run_on_driver(conn: sa.Connection, sql: str, params: tuple[Any, ...]) -> Any:
    """The first row of ``sql`` run on ``conn``'s driver connection, inside its transaction.

    On SQLite the statement goes to the ``sqlite3`` connection directly (SQLAlchemy's
    execution path costs several times a small statement); errors are raised as SQLAlchemy's
    own (``DBAPIError`` subclasses), so retries see them as they see any other. Other
    dialects run it with :meth:`sa.Connection.exec_driver_sql`.
    """
    if conn.dialect.name != "sqlite":
        return conn.exec_driver_sql(sql, params).first()
    try:
        return conn.connection.driver_connection.execute(sql, params).fetchone()  # type: ignore[union-attr]
    except sqlite3.Error as error:
        raise sa.exc.DBAPIError.instance(sql, params, error, sqlite3.Error) from error


class PreparedStatement:
    """A statement compiled once for a dialect, run on the driver (:func:`run_on_driver`).

    The column types' own bind processing (JSON, UTC timestamps) still runs, and errors are
    SQLAlchemy's, but statement caching, parameter assembly and result typing are skipped:
    for the registry's insert on SQLite they cost more than the statement itself. Results
    come as the driver gives them (JSON and timestamps as text on SQLite).

    Examples
    --------
    >>> import sqlalchemy as sa
    >>> engine = sa.create_engine("sqlite://")
    >>> statement = sa.select(sa.bindparam("x", type_=sa.Integer) + 1)
    >>> with engine.connect() as conn:
    ...     PreparedStatement(statement, conn.dialect).first(conn, {"x": 41})
    (42,)
    """

    def __init__(self, statement: Any, dialect: sa.Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        if compiled.positiontup is None:
            raise RegistryError(f"dialect {dialect.name}: expected positional parameters")
        self.sql: str = compiled.string
        self._slots = [
            (name, bind.required, bind.value, bind.type.bind_processor(dialect))
            for name in compiled.positiontup
            for bind in (compiled.binds[name],)
        ]

    def first(self, conn: sa.Connection, values: dict[str, Any]) -> Any:
        """The first row of the statement run with ``values`` (its required parameters)."""
        params = tuple(
            (values[name] if required else fixed)
            if process is None
            else process(values[name] if required else fixed)
            for name, required, fixed, process in self._slots
        )
        return run_on_driver(conn, self.sql, params)


_PREPARED: weakref.WeakKeyDictionary[sa.Dialect, dict[int, PreparedStatement]] = (
    weakref.WeakKeyDictionary()
)


def _prepared(statement: Any, dialect: sa.Dialect) -> PreparedStatement:
    """``statement`` (one of this module's) compiled for ``dialect`` (an engine's: its JSON
    serializer is the engine's), once per engine."""
    compiled = _PREPARED.setdefault(dialect, {})
    found = compiled.get(id(statement))
    if found is None:
        found = compiled[id(statement)] = PreparedStatement(statement, dialect)
    return found


def _segments_statement() -> Any:
    """The lineage segments of ``:model`` ``:major.:minor``: ``(segment, top, depth)`` rows.

    The version's own segment first (depth 0, ``top`` its position), then the segment of the
    parent of that segment's first version, and so on up to the root: one row per segment
    (a linear chain of any length is one row), each step two primary-key lookups.
    """
    start = (
        sa.select(
            versions.c.segment_id.label("segment"),
            versions.c.segment_pos.label("top"),
            sa.literal(0, sa.Integer).label("depth"),
        )
        .where(*_BY_VERSION)
        .cte("segments", recursive=True)
    )
    head = versions.alias("head")
    above = versions.alias("above")
    step = sa.select(
        above.c.segment_id, above.c.segment_pos, (start.c.depth + 1).label("depth")
    ).select_from(
        start.join(head, head.c.id == start.c.segment).join(above, above.c.id == head.c.parent_id)
    )
    segments = start.union_all(step)
    return sa.select(segments.c.segment, segments.c.top, segments.c.depth)


LINEAGE_QUERY: Final = _segments_statement()
"""The statement behind :func:`lineage_segments` (parameters ``model``, ``major``, ``minor``)."""

_SEGMENT_RANGE = (
    sa.select(*_RECORD)
    .where(
        versions.c.segment_id == sa.bindparam("segment"),
        versions.c.segment_pos >= sa.bindparam("low"),
        versions.c.segment_pos <= sa.bindparam("high"),
    )
    .order_by(versions.c.segment_pos.desc())
)


def ensure_model(conn: sa.Connection, model: str, now: datetime) -> None:
    """Insert the ``models`` row of ``model`` unless it exists (race-free on both databases)."""
    values = {"name": model, "created_at": now}
    backend = conn.dialect.name
    if backend == "postgresql":
        conn.execute(postgresql.insert(models).values(**values).on_conflict_do_nothing())
    elif backend == "sqlite":
        conn.execute(sqlite.insert(models).values(**values).on_conflict_do_nothing())
    else:  # pragma: no cover - other databases: a race ends in a retried unique violation
        found = conn.execute(sa.select(models.c.name).where(models.c.name == model)).first()
        if found is None:
            conn.execute(models.insert().values(**values))


def get_version(conn: sa.Connection, model: str, version: str) -> ModelVersion:
    """The record of ``model`` ``version``; NotFoundError if absent."""
    major, minor = parse_version(version)
    row = conn.execute(_GET_RECORD, {"model": model, "major": major, "minor": minor}).first()
    if row is None:
        raise missing(conn, model, version)
    return version_from_row(row)


def lineage_segments(conn: sa.Connection, model: str, version: str) -> list[tuple[int, int]]:
    """``(segment, top position)`` of each lineage segment of ``model`` ``version``, from the
    version's own segment up to the root's; NotFoundError if the version is absent."""
    major, minor = parse_version(version)
    rows = conn.execute(LINEAGE_QUERY, {"model": model, "major": major, "minor": minor}).all()
    if not rows:
        raise missing(conn, model, version)
    rows.sort(key=_depth)
    found = [(row[0], row[1]) for row in rows]
    if any(segment is None or top is None for segment, top in found):
        raise RegistryError(
            f"model {model!r} version {version!r}: a version of its lineage has no segment "
            "(the registry schema was not upgraded)"
        )
    return [(int(segment), int(top)) for segment, top in found]


def segment_records(
    conn: sa.Connection, parts: Iterable[tuple[int, int, int]]
) -> list[ModelVersion]:
    """The records of positions ``high`` down to ``low`` of each ``(segment, low, high)``."""
    records: list[ModelVersion] = []
    with collector_paused():
        for segment, low, high in parts:
            rows = conn.execute(_SEGMENT_RANGE, {"segment": segment, "low": low, "high": high})
            found = [version_from_values(*row) for row in rows]
            if len(found) != high - low + 1:
                raise RegistryError(
                    f"lineage segment {segment}: expected positions {low}..{high}, "
                    f"found {len(found)} versions"
                )
            records.extend(found)
    return records


def _depth(row: Any) -> int:
    return int(row[-1])


def lock_model(conn: sa.Connection, model: str) -> None:
    """Lock the ``models`` row of ``model`` until the transaction ends (PostgreSQL).

    On SQLite the write transaction (``BEGIN IMMEDIATE``) already excludes other writers, and
    SQLite has no row locks, so nothing is sent.
    """
    if conn.dialect.name != "sqlite":
        conn.execute(_LOCK_MODEL, {"model": model}).one()


def latest_major(conn: sa.Connection, model: str) -> int | None:
    """The highest MAJOR of ``model``'s versions, or ``None`` when it has none."""
    found = conn.execute(
        sa.select(sa.func.max(versions.c.major)).where(versions.c.model == model)
    ).scalar_one()
    return None if found is None else int(found)


def insert_version(
    conn: sa.Connection, model: str, major: int | None, values: dict[str, Any]
) -> ModelVersion:
    """Insert a version of ``model`` and return its record, numbered in the same statement.

    ``major`` ``None`` starts the next MAJOR at MINOR 0; an integer takes the next MINOR of
    that MAJOR. ``values`` holds the other columns; NotFoundError if its ``parent`` is not a
    version of ``model``. The caller holds the model's write lock (:func:`lock_model`).
    """
    params = {"model": model, **values}
    if major is not None:
        params["major"] = major
    parent = values["parent"]
    returning = bool(conn.dialect.insert_returning)
    if returning and conn.dialect.name == "sqlite":
        statement = _INSERTS_NUMBERED[(major is None, parent is not None)]
        allocated = _prepared(statement, conn.dialect).first(conn, params)
        if allocated is None:
            raise missing(conn, model, str(parent))
        row_id, number_major, number_minor, segment_id = allocated
        if segment_id is None:  # the first version of a new lineage segment
            run_on_driver(conn, _START_SEGMENT_SQL, (row_id, row_id))
        # The record of what was just written: the values bound, as a read gives them back.
        return version_from_values(
            model, number_major, number_minor, *(values[name] for name in _INSERTED)
        )
    result = conn.execute(_INSERTS[(major is None, parent is not None, returning)], params)
    if returning:
        row = result.first()
    elif result.rowcount == 1:  # pragma: no cover - SQLite before 3.35
        row = conn.execute(_GET_BY_ID, {"id": result.lastrowid}).first()
    else:  # pragma: no cover
        row = None
    if row is None:
        raise missing(conn, model, str(parent))
    if row.segment_id is None:  # the first version of a new lineage segment
        conn.execute(_START_SEGMENT, {"row_id": row.id})
    return version_from_row(row)


def version_row(conn: sa.Connection, model: str, version: str, *, lock: bool = False) -> Any:
    """The ``versions`` row of ``model`` ``version``; NotFoundError if absent."""
    major, minor = parse_version(version)
    query = _VERSION_ROW_LOCKED if lock else _VERSION_ROW
    row = conn.execute(query, {"model": model, "major": major, "minor": minor}).first()
    if row is None:
        raise missing(conn, model, version)
    return row


def _version_id(conn: sa.Connection, model: str, version: str) -> int:
    """The row id of ``model`` ``version``; NotFoundError if absent."""
    major, minor = parse_version(version)
    row = _first(conn, _VERSION_ID, {"model": model, "major": major, "minor": minor})
    if row is None:
        raise missing(conn, model, version)
    return int(row[0])


def _first(conn: sa.Connection, statement: Any, values: dict[str, Any]) -> Any:
    """The first row of one of this module's statements (``None`` for none, or a write):
    prepared on SQLite (:class:`PreparedStatement`), else executed."""
    if conn.dialect.name == "sqlite":
        return _prepared(statement, conn.dialect).first(conn, values)
    result = conn.execute(statement, values)
    return result.first() if result.returns_rows else None


def missing(conn: sa.Connection, model: str, version: str) -> NotFoundError:
    """A NotFoundError naming the model and version, with the count and latest version."""
    count = conn.execute(
        sa.select(sa.func.count()).select_from(versions).where(versions.c.model == model)
    ).scalar_one()
    if not count:
        return NotFoundError(f"model {model!r}: no such model (version {version!r} asked)")
    latest = conn.execute(
        sa.select(versions.c.version)
        .where(versions.c.model == model)
        .order_by(versions.c.major.desc(), versions.c.minor.desc())
        .limit(1)
    ).scalar_one()
    return NotFoundError(
        f"model {model!r}: no version {version!r} ({count} versions, latest {latest})"
    )


def current_alias(conn: sa.Connection, model: str, alias: str, *, lock: bool) -> str | None:
    """The version ``alias`` points at; with ``lock``, its row stays locked (PostgreSQL)."""
    row = _first(conn, _ALIAS_LOCKED if lock else _ALIAS, {"model": model, "alias": alias})
    return None if row is None else str(row[0])


def move_alias(
    conn: sa.Connection,
    model: str,
    alias: str,
    target: str | None,
    *,
    now: datetime,
    actor: str,
    reason: str,
    kind: str,
    expected: Any = UNSET,
) -> AliasChange:
    """Point ``alias`` at ``target`` (``None`` deletes it) and append the history row.

    With ``expected`` other than :data:`UNSET`, RegistryError unless the alias currently
    points at ``expected``.
    """
    current = current_alias(conn, model, alias, lock=True)
    if expected is not UNSET and current != expected:
        raise RegistryError(
            f"alias {alias!r} of model {model!r}: expected it at {expected!r}, "
            f"found {current!r} (moved meanwhile)"
        )
    key = {"model": model, "alias": alias}
    if target is None:
        if current is None:
            raise NotFoundError(f"alias {alias!r} of model {model!r}: no such alias")
        _first(conn, _DELETE_ALIAS, key)
    else:
        pointer = {"version_id": _version_id(conn, model, target), "updated_at": now}
        if current is None:
            _first(conn, _INSERT_ALIAS, {**key, **pointer})
        else:  # the WHERE names differ from the columns the SET binds
            _first(conn, _UPDATE_ALIAS, {"where_model": model, "where_alias": alias, **pointer})
    _first(
        conn,
        _INSERT_MOVE,
        {
            **key,
            "from_version": current,
            "to_version": target,
            "kind": kind,
            "actor": actor,
            "reason": reason,
            "at": now,
        },
    )
    return AliasChange(model, alias, current, target, actor, reason, utc(now))


def history_moves(conn: sa.Connection, model: str, alias: str) -> list[tuple[str, Any, Any]]:
    """``(kind, from_version, to_version)`` of every move of ``alias``, oldest first."""
    rows = conn.execute(
        sa.select(alias_history.c.kind, alias_history.c.from_version, alias_history.c.to_version)
        .where(alias_history.c.model == model, alias_history.c.alias == alias)
        .order_by(alias_history.c.id)
    ).all()
    return [(str(kind), source, target) for kind, source, target in rows]


def undo_target(moves: Iterable[tuple[str, str | None, str | None]]) -> str | None:
    """The version a rollback restores: the undo stack of moves, rollbacks popping it.

    Moves that changed nothing are skipped; ``None`` when nothing is left to undo or the
    alias did not exist before the move being undone.
    """
    undo: list[str | None] = []
    for kind, source, target in moves:
        if kind == "rollback":
            if undo:
                undo.pop()
        elif source != target:
            undo.append(source)
    return undo[-1] if undo else None


__all__ = [
    "LINEAGE_QUERY",
    "UNSET",
    "PreparedStatement",
    "current_alias",
    "ensure_model",
    "get_version",
    "history_moves",
    "insert_version",
    "latest_major",
    "lineage_segments",
    "lock_model",
    "missing",
    "move_alias",
    "segment_records",
    "undo_target",
    "version_row",
]
