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
from lifelong.registry.names import parse_version
from lifelong.registry.schema import alias_history, aliases, models, versions
from lifelong.registry.types import AliasChange

UNSET: Final[Any] = object()
"""Default of ``set_alias(expected=...)``: no compare-and-set."""


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
    "UNSET",
    "current_alias",
    "ensure_model",
    "history_moves",
    "missing",
    "move_alias",
    "undo_target",
    "version_row",
]
