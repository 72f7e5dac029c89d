"""Dashboard actions: promote, roll back, start and stop an experiment (all kept in the alias history).

An experiment is a challenger alias pointing at a version: the test-in-production routers of
the prediction server (shadow, canary, A/B) send it traffic while it exists. Starting one
points the alias at a version that passed its gates; stopping one deletes the alias.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from lifelong.registry import Registry
>>> registry = Registry.open(Path(tempfile.mkdtemp()))
>>> stop_experiment(registry, "ctr", alias="challenger", actor="ana", reason="done")
Traceback (most recent call last):
...
lifelong.errors.NotFoundError: model 'ctr': no experiment is running (alias 'challenger' is not set)
>>> registry.close()
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lifelong.deployment import CHAMPION
from lifelong.errors import NotFoundError, RegistryError
from lifelong.registry import Registry
from lifelong.registry.types import AliasChange


class StartExperimentRequest(BaseModel):
    """``POST /api/models/{name}/experiment/start``.

    Examples
    --------
    >>> StartExperimentRequest(version="1.3").reason
    ''
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    version: str = Field(min_length=1, max_length=100)
    reason: str = Field(default="", max_length=2000)
    kind: Literal["shadow", "canary", "ab"] | None = None
    weight: float | None = Field(default=None, ge=0, le=1)


class StopExperimentRequest(BaseModel):
    """``POST /api/models/{name}/experiment/stop`` (the body may be omitted).

    Examples
    --------
    >>> StopExperimentRequest().reason
    ''
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    reason: str = Field(default="", max_length=2000)


def check_candidate(registry: Registry, model: str, version: str) -> None:
    """Refuse a version the gates rejected, or the champion itself, as an experiment's challenger."""
    candidate = registry.get(model, version)
    if candidate.status == "rejected":
        raise RegistryError(
            f"version {model} {version}: expected a version that passed its gates, got status 'rejected' "
            f"({candidate.evaluation.get('reason', 'no reason recorded')})"
        )
    if registry.alias_version(model, CHAMPION) == version:
        raise RegistryError(
            f"version {model} {version}: expected a challenger, got the current champion"
        )


def start_experiment(
    registry: Registry, model: str, version: str, *, alias: str, actor: str, reason: str
) -> AliasChange:
    """Point ``alias`` at ``version``: a version that passed its gates and is not the champion."""
    check_candidate(registry, model, version)
    current = registry.alias_version(model, alias)
    return registry.set_alias(
        model, alias, version, actor=actor, reason=reason or "experiment started", expected=current
    )


def stop_experiment(
    registry: Registry, model: str, *, alias: str, actor: str, reason: str
) -> AliasChange:
    """Delete ``alias``: its version stops receiving test traffic."""
    if registry.alias_version(model, alias) is None:
        raise NotFoundError(
            f"model {model!r}: no experiment is running (alias {alias!r} is not set)"
        )
    return registry.delete_alias(model, alias, actor=actor, reason=reason or "experiment stopped")


__all__ = [
    "StartExperimentRequest",
    "StopExperimentRequest",
    "check_candidate",
    "start_experiment",
    "stop_experiment",
]
