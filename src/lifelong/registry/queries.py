"""Statements the registry runs inside its transactions (each takes an open connection).

Examples
--------
>>> undo_target([("set", None, "1.0"), ("set", "1.0", "1.1"), ("set", "1.1", "1.2")])
'1.1'
>>> undo_target([("set", None, "1.0"), ("set", "1.0", "1.1"), ("rollback", "1.1", "1.0")]) is None
True
"""

from __future__ import annotations

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
    unless version ``:parent`` of the model exists. Every writer holds the database's write
    lock (SQLite ``BEGIN IMMEDIATE``) or the model's row lock (PostgreSQL ``FOR UPDATE``)
    while it runs, so the numbers are unique and gap-free.
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
    # Bare parameters carry their column's type: its bind processing (JSON, UTC timestamps)
    # runs, and PostgreSQL's driver renders the matching cast. No CAST is written for SQLite,
    # whose CAST to a type name such as JSON or DATETIME would convert the value.
    values = sa.select(
        model,
        number.c.major,
        number.c.minor,
        sa.cast(number.c.major, text) + "." + sa.cast(number.c.minor, text),
        *(sa.bindparam(name, type_=versions.c[name].type) for name in _INSERTED),
    ).select_from(number)
    if has_parent:
        parent = versions.alias("parent_version")
        values = values.where(
            sa.exists().where(
                parent.c.model == model,
                parent.c.version == sa.bindparam("parent", type_=versions.c.parent.type),
            )
        )
    statement = versions.insert().from_select(
        ["model", "major", "minor", "version", *_INSERTED], values
    )
    return statement.returning(*_RECORD) if returning else statement


_INSERTS = {
    (next_major, has_parent, returning): _insert_statement(
        next_major=next_major, has_parent=has_parent, returning=returning
    )
    for next_major in (False, True)
    for has_parent in (False, True)
    for returning in (False, True)
}
_GET_BY_ID = sa.select(*_RECORD).where(versions.c.id == sa.bindparam("id"))


def _lineage_statement() -> Any:
    """The chain of ``:model`` ``:major.:minor`` up to its root, one row per version.

    The recursive part walks only ``(id, parent)`` (one index lookup on ``(model, version)``
    per step); the records are then read by primary key. Rows carry their depth and come in
    no particular order.
    """
    step = versions.alias("step")
    chain = (
        sa.select(versions.c.id, versions.c.parent, sa.literal(0, sa.Integer).label("depth"))
        .where(*_BY_VERSION)
        .cte("chain", recursive=True)
    )
    chain = chain.union_all(
        sa.select(step.c.id, step.c.parent, (chain.c.depth + 1).label("depth")).where(
            step.c.model == sa.bindparam("model"), step.c.version == chain.c.parent
        )
    )
    return sa.select(*_RECORD, chain.c.depth).select_from(
        chain.join(versions, versions.c.id == chain.c.id)
    )


LINEAGE_QUERY: Final = _lineage_statement()
"""The statement behind :func:`lineage_records` (parameters ``model``, ``major``, ``minor``)."""


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


def lineage_records(conn: sa.Connection, model: str, version: str) -> list[ModelVersion]:
    """``version`` of ``model`` then its parent, grandparent... up to the root (one query)."""
    major, minor = parse_version(version)
    with collector_paused():
        rows = conn.execute(LINEAGE_QUERY, {"model": model, "major": major, "minor": minor}).all()
        rows.sort(key=_depth)  # linear: SQLite returns the chain in order already
        records = [version_from_values(*row[:-1]) for row in rows]
    if not records:
        raise missing(conn, model, version)
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
    result = conn.execute(_INSERTS[(major is None, parent is not None, returning)], params)
    if returning:
        row = result.first()
    elif result.rowcount == 1:  # pragma: no cover - SQLite before 3.35
        row = conn.execute(_GET_BY_ID, {"id": result.lastrowid}).first()
    else:  # pragma: no cover
        row = None
    if row is None:
        raise missing(conn, model, str(parent))
    return version_from_row(row)


def version_row(conn: sa.Connection, model: str, version: str, *, lock: bool = False) -> Any:
    """The ``versions`` row of ``model`` ``version``; NotFoundError if absent."""
    major, minor = parse_version(version)
    query = sa.select(versions).where(
        versions.c.model == model, versions.c.major == major, versions.c.minor == minor
    )
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise missing(conn, model, version)
    return row


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
    query = (
        sa.select(versions.c.version)
        .select_from(aliases.join(versions, aliases.c.version_id == versions.c.id))
        .where(aliases.c.model == model, aliases.c.alias == alias)
    )
    if lock:
        query = query.with_for_update(of=aliases)
    value = conn.execute(query).scalar_one_or_none()
    return None if value is None else str(value)


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
    where = (aliases.c.model == model, aliases.c.alias == alias)
    if target is None:
        if current is None:
            raise NotFoundError(f"alias {alias!r} of model {model!r}: no such alias")
        conn.execute(aliases.delete().where(*where))
    else:
        version_id = version_row(conn, model, target).id
        if current is None:
            conn.execute(
                aliases.insert().values(
                    model=model, alias=alias, version_id=version_id, updated_at=now
                )
            )
        else:
            conn.execute(
                aliases.update().where(*where).values(version_id=version_id, updated_at=now)
            )
    conn.execute(
        alias_history.insert().values(
            model=model,
            alias=alias,
            from_version=current,
            to_version=target,
            kind=kind,
            actor=actor,
            reason=reason,
            at=now,
        )
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
    "current_alias",
    "ensure_model",
    "get_version",
    "history_moves",
    "insert_version",
    "latest_major",
    "lineage_records",
    "lock_model",
    "missing",
    "move_alias",
    "undo_target",
    "version_row",
]
