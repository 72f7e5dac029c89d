"""Deployment: how a challenger reaches traffic."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from lifelong.config.base import Strict


class DirectDeploymentConfig(Strict):
    """Promote a challenger as soon as it passes the gates."""

    kind: Literal["direct"]


class ManualDeploymentConfig(Strict):
    """Register and evaluate, but leave promotion to a person (``lifelong promote``)."""

    kind: Literal["manual"]


DeploymentConfig = Annotated[
    DirectDeploymentConfig | ManualDeploymentConfig, Field(discriminator="kind")
]


__all__ = ["DeploymentConfig", "DirectDeploymentConfig", "ManualDeploymentConfig"]
