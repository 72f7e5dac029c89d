"""Initial registry schema: models, versions, aliases, alias history.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=True)


def _timestamp() -> sa.types.TypeEngine[Any]:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the four tables and their indexes."""
    op.create_table(
        "models",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_models"),
    )
    op.create_table(
        "versions",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
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
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_versions"),
        sa.ForeignKeyConstraint(["model"], ["models.name"], name="fk_versions_model_models"),
        sa.UniqueConstraint("model", "major", "minor", name="uq_versions_model_major_minor"),
        sa.UniqueConstraint("model", "version", name="uq_versions_model_version"),
    )
    op.create_index("ix_versions_model_parent", "versions", ["model", "parent"])
    op.create_table(
        "aliases",
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("alias", sa.String(100), nullable=False),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("model", "alias", name="pk_aliases"),
        sa.ForeignKeyConstraint(["model"], ["models.name"], name="fk_aliases_model_models"),
        sa.ForeignKeyConstraint(
            ["version_id"], ["versions.id"], name="fk_aliases_version_id_versions"
        ),
    )
    op.create_table(
        "alias_history",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("alias", sa.String(100), nullable=False),
        sa.Column("from_version", sa.String(32), nullable=True),
        sa.Column("to_version", sa.String(32), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alias_history"),
        sa.ForeignKeyConstraint(["model"], ["models.name"], name="fk_alias_history_model_models"),
    )
    op.create_index("ix_alias_history_model_alias_at", "alias_history", ["model", "alias", "at"])
    op.create_index("ix_alias_history_model_at", "alias_history", ["model", "at"])


def downgrade() -> None:
    """Drop everything ``upgrade`` created."""
    op.drop_table("alias_history")
    op.drop_table("aliases")
    op.drop_table("versions")
    op.drop_table("models")
