"""Promotion and rollback: one transaction each, kept in the alias history.

Examples
--------
>>> import tempfile, pathlib
>>> from lifelong.registry import Registry
>>> registry = Registry.open(pathlib.Path(tempfile.mkdtemp()))
>>> rollback(registry, "ctr", actor="alice", reason="bad")
Traceback (most recent call last):
...
lifelong.errors.NotFoundError: model 'ctr': no champion to roll back
"""

from __future__ import annotations

from lifelong.errors import NotFoundError, RegistryError
from lifelong.registry import Registry
from lifelong.registry.types import AliasChange

CHAMPION = "champion"


def promote(
    registry: Registry, model: str, version: str, *, actor: str, reason: str, force: bool = False
) -> AliasChange:
    """Make ``version`` the champion of ``model``; a version the gates rejected needs ``force``."""
    candidate = registry.get(model, version)
    if candidate.status == "rejected" and not force:
        raise RegistryError(
            f"version {model} {version}: expected a version that passed its gates, got status 'rejected' "
            f"({candidate.evaluation.get('reason', 'no reason recorded')}); pass --force to promote it anyway"
        )
    current = registry.alias_version(model, CHAMPION)
    return registry.set_alias(model, CHAMPION, version, actor=actor, reason=reason, expected=current)


def rollback(registry: Registry, model: str, *, actor: str, reason: str) -> AliasChange:
    """Restore the champion that served before the current one."""
    if registry.alias_version(model, CHAMPION) is None:
        raise NotFoundError(f"model {model!r}: no champion to roll back")
    return registry.rollback(model, CHAMPION, actor=actor, reason=reason)


__all__ = ["CHAMPION", "promote", "rollback"]
