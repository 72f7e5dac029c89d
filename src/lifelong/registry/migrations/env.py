"""Alembic environment of the registry: online only, on the connection handed in.

The caller (:func:`lifelong.registry.db.upgrade`) opens the transaction, takes the
migration lock and passes the connection as ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context

from lifelong.errors import ConfigError
from lifelong.registry.db import VERSION_TABLE
from lifelong.registry.schema import METADATA


def run() -> None:
    """Run the migrations on the connection from ``config.attributes``."""
    if context.is_offline_mode():
        raise ConfigError("registry migrations: offline (SQL script) mode is not supported")
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise ConfigError(
            "registry migrations: expected a connection in config.attributes['connection']"
        )
    context.configure(
        connection=connection,
        target_metadata=METADATA,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


# Alembic installs ``context.config`` while it runs this file; imported any other way
# (pytest --doctest-modules collects every module), the file does nothing.
if hasattr(context, "config"):
    run()
