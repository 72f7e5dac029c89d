"""Deployment: promotion, rollback, and the routers that test challengers in production."""

from __future__ import annotations

from lifelong.deployment.ab import ABRouter
from lifelong.deployment.bandit import ThompsonRouter
from lifelong.deployment.canary import CanaryRouter
from lifelong.deployment.factory import build_router
from lifelong.deployment.interleaving import InterleavingRouter, credit, team_draft
from lifelong.deployment.promotion import CHAMPION, promote, rollback
from lifelong.deployment.router import ArmStats, Assignment, Decision, Router, unit_fraction
from lifelong.deployment.sequential import MixtureSPRT, always_valid_p_values
from lifelong.deployment.shadow import ShadowRouter

__all__ = [
    "CHAMPION",
    "ABRouter",
    "ArmStats",
    "Assignment",
    "CanaryRouter",
    "Decision",
    "InterleavingRouter",
    "MixtureSPRT",
    "Router",
    "ShadowRouter",
    "ThompsonRouter",
    "always_valid_p_values",
    "build_router",
    "credit",
    "promote",
    "rollback",
    "team_draft",
    "unit_fraction",
]
