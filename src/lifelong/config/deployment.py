"""Deployment: how a challenger reaches traffic (directly, by hand, or tested in production).

The test-in-production kinds are followed by the prediction server: it routes live traffic
between the champion and the versions the ``challenger`` aliases point at (those that passed
their offline gates), reports live numbers, and promotes or rolls back on its own.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field

from lifelong.config.base import Duration, Strict

Alias = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_\-]{0,99}$")]


class DirectDeploymentConfig(Strict):
    """Promote a challenger as soon as it passes the gates."""

    kind: Literal["direct"]


class ManualDeploymentConfig(Strict):
    """Register and evaluate, but leave promotion to a person (``lifelong promote``)."""

    kind: Literal["manual"]


class ShadowDeploymentConfig(Strict):
    """Challengers answer copies of live traffic off the request path; only the champion's answer is returned."""

    kind: Literal["shadow"]
    challengers: tuple[Alias, ...] = Field(default=("challenger",), min_length=1, max_length=8)
    queue: int = Field(default=1000, gt=0, le=1_000_000)


class CanaryDeploymentConfig(Strict):
    """Send ``weight`` of traffic to the challenger for ``bake``; roll back on a breached guardrail.

    Guardrails (judged once each arm has ``min_requests``): the challenger's error rate may exceed
    the champion's by ``max_error_rate_increase``; its p99 latency may reach ``max_latency_ratio``
    times the champion's (and ``max_p99_ms`` when set); with feedback, its reward rate may fall
    below the champion's by ``max_metric_drop`` (judged after ``min_feedback`` rewards per arm).
    """

    kind: Literal["canary"]
    challenger: Alias = "challenger"
    weight: float = Field(default=0.05, ge=0, le=1)
    bake: Duration = timedelta(minutes=30)
    min_requests: int = Field(default=100, gt=0)
    max_error_rate_increase: float = Field(default=0.01, ge=0, le=1)
    max_latency_ratio: float = Field(default=2.0, ge=1)
    max_p99_ms: float | None = Field(default=None, gt=0)
    max_metric_drop: float | None = Field(default=0.05, ge=0, le=1)
    min_feedback: int = Field(default=100, gt=0)


class ABDeploymentConfig(Strict):
    """Split units (sticky hash of a unit id) between champion and challenger; stop on significance.

    The test is a mixture sequential probability ratio test (mSPRT) with always-valid p-values
    on the difference of reward rates; it may stop at any time with type I error at most
    ``alpha``, promoting the challenger when it wins.
    """

    kind: Literal["ab"]
    challenger: Alias = "challenger"
    weight: float = Field(default=0.5, gt=0, lt=1)
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    tau: float = Field(default=0.05, gt=0)
    min_samples: int = Field(default=100, gt=0)
    max_samples: int | None = Field(default=None, gt=0)
    salt: str = Field(default="", max_length=100)


class BanditDeploymentConfig(Strict):
    """Thompson sampling over champion and challengers on a binary reward (Beta-Bernoulli)."""

    kind: Literal["bandit"]
    challengers: tuple[Alias, ...] = Field(default=("challenger",), min_length=1, max_length=8)
    prior_alpha: float = Field(default=1.0, gt=0)
    prior_beta: float = Field(default=1.0, gt=0)
    promote_probability: float = Field(default=0.95, gt=0.5, lt=1)
    min_samples: int = Field(default=500, gt=0)
    seed: int = 0


class InterleavingDeploymentConfig(Strict):
    """Team-draft interleaving of champion and challenger rankings; preference from clicks (always-valid test)."""

    kind: Literal["interleaving"]
    challenger: Alias = "challenger"
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    min_impressions: int = Field(default=100, gt=0)
    tau: float = Field(default=0.1, gt=0)
    seed: int = 0


TestInProductionConfig = (
    ShadowDeploymentConfig
    | CanaryDeploymentConfig
    | ABDeploymentConfig
    | BanditDeploymentConfig
    | InterleavingDeploymentConfig
)

DeploymentConfig = Annotated[
    DirectDeploymentConfig | ManualDeploymentConfig | TestInProductionConfig,
    Field(discriminator="kind"),
]

RoutingConfig = Annotated[TestInProductionConfig, Field(discriminator="kind")]


__all__ = [
    "ABDeploymentConfig",
    "BanditDeploymentConfig",
    "CanaryDeploymentConfig",
    "DeploymentConfig",
    "DirectDeploymentConfig",
    "InterleavingDeploymentConfig",
    "ManualDeploymentConfig",
    "RoutingConfig",
    "ShadowDeploymentConfig",
    "TestInProductionConfig",
]
