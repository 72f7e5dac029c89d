"""Alembic migrations of the registry schema, run by :func:`lifelong.registry.db.upgrade`."""
