"""SQLAlchemy table definitions of the registry: models, versions, aliases, alias history.

The tables are created by the Alembic migrations in ``lifelong/registry/migrations``;
these definitions are what the queries use and must match the latest migration.

Examples
--------
>>> sorted(METADATA.tables)
['alias_history', 'aliases', 'models', 'versions']
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from lifelong.errors import ConfigError


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back timezone-aware UTC.

    SQLite keeps no zone, so values are converted to UTC before they are written (its
    text format then sorts in time order) and tagged UTC when read.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise ConfigError(f"timestamp: expected a datetime, got {value!r}")
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=True)


METADATA = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

models = sa.Table(
    "models",
    METADATA,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

versions = sa.Table(
    "versions",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(200), sa.ForeignKey("models.name"), nullable=False),
    sa.Column("major", sa.Integer, nullable=False),
    sa.Column("minor", sa.Integer, nullable=False),
    sa.Column("version", sa.String(32), nullable=False),
    sa.Column("parent", sa.String(32), nullable=True),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("iteration", sa.String(16), nullable=False),
    sa.Column("snapshot", _json(), nullable=True),
    sa.Column("config_hash", sa.String(128), nullable=False),
    sa.Column("code_version", sa.String(64), nullable=False),
    sa.Column("git_commit", sa.String(64), nullable=True),
    sa.Column("library_versions", _json(), nullable=False),
    sa.Column("trigger", _json(), nullable=False),
    sa.Column("metrics", _json(), nullable=False),
    sa.Column("evaluation", _json(), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("artifact_sha256", sa.String(64), nullable=False),
    sa.Column("learner_kind", sa.String(100), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    # Lineage segments (migration 0002): the parent's id, and the run of versions without a
    # branch that this version belongs to (``segment_id``, the id of its first version) with
    # its place in it. Set in the transaction that inserts the version, never changed after.
    sa.Column("parent_id", sa.Integer, nullable=True),
    sa.Column("segment_id", sa.Integer, nullable=True),
    sa.Column("segment_pos", sa.Integer, nullable=True),
    sa.UniqueConstraint("model", "major", "minor"),
    sa.UniqueConstraint("model", "version"),
    sa.Index(None, "model", "parent"),
    sa.Index("uq_versions_segment_id_segment_pos", "segment_id", "segment_pos", unique=True),
)

aliases = sa.Table(
    "aliases",
    METADATA,
    sa.Column("model", sa.String(200), sa.ForeignKey("models.name"), primary_key=True),
    sa.Column("alias", sa.String(100), primary_key=True),
    sa.Column("version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

alias_history = sa.Table(
    "alias_history",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(200), sa.ForeignKey("models.name"), nullable=False),
    sa.Column("alias", sa.String(100), nullable=False),
    sa.Column("from_version", sa.String(32), nullable=True),
    sa.Column("to_version", sa.String(32), nullable=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Index(None, "model", "alias", "at"),
    sa.Index(None, "model", "at"),
)

__all__ = ["METADATA", "UTCDateTime", "alias_history", "aliases", "models", "versions"]
