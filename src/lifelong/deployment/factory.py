"""Routers built from the deployment section of the spec.

Examples
--------
>>> from datetime import datetime, timezone
>>> from lifelong.config import CanaryDeploymentConfig
>>> router = build_router(CanaryDeploymentConfig(kind="canary", weight=0.1), "1.0", ["1.1"],
...                       now=datetime(2024, 1, 1, tzinfo=timezone.utc))
>>> router.kind, router.weight
('canary', 0.1)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from lifelong.config import (
    ABDeploymentConfig,
    BanditDeploymentConfig,
    CanaryDeploymentConfig,
    InterleavingDeploymentConfig,
    ShadowDeploymentConfig,
    TestInProductionConfig,
)
from lifelong.deployment.ab import ABRouter
from lifelong.deployment.bandit import ThompsonRouter
from lifelong.deployment.canary import CanaryRouter
from lifelong.deployment.interleaving import InterleavingRouter
from lifelong.deployment.router import Router
from lifelong.deployment.shadow import ShadowRouter
from lifelong.errors import ConfigError


def _one(kind: str, challengers: Sequence[str]) -> str:
    if len(challengers) != 1:
        raise ConfigError(f"challengers: expected exactly one challenger version for {kind}, got {list(challengers)!r}")
    return challengers[0]


def build_router(config: TestInProductionConfig, champion: str, challengers: Sequence[str], *, now: datetime) -> Router:
    """The router of ``config`` between ``champion`` and ``challengers`` (versions), started at ``now``."""
    if isinstance(config, ShadowDeploymentConfig):
        return ShadowRouter(champion, challengers)
    if isinstance(config, CanaryDeploymentConfig):
        return CanaryRouter(
            champion,
            _one("canary", challengers),
            weight=config.weight,
            bake=config.bake,
            started=now,
            min_requests=config.min_requests,
            max_error_rate_increase=config.max_error_rate_increase,
            max_latency_ratio=config.max_latency_ratio,
            max_p99_ms=config.max_p99_ms,
            max_metric_drop=config.max_metric_drop,
            min_feedback=config.min_feedback,
        )
    if isinstance(config, ABDeploymentConfig):
        return ABRouter(
            champion,
            _one("ab", challengers),
            weight=config.weight,
            alpha=config.alpha,
            tau=config.tau,
            min_samples=config.min_samples,
            max_samples=config.max_samples,
            salt=config.salt,
        )
    if isinstance(config, BanditDeploymentConfig):
        return ThompsonRouter(
            champion,
            challengers,
            prior_alpha=config.prior_alpha,
            prior_beta=config.prior_beta,
            promote_probability=config.promote_probability,
            min_samples=config.min_samples,
            seed=config.seed,
        )
    if isinstance(config, InterleavingDeploymentConfig):
        return InterleavingRouter(
            champion,
            _one("interleaving", challengers),
            alpha=config.alpha,
            min_impressions=config.min_impressions,
            tau=config.tau,
            seed=config.seed,
        )
    raise ConfigError(f"deployment.kind: expected a test-in-production kind, got {config!r}")


__all__ = ["build_router"]
