"""Experiments: policy simulation on historical streams, the value of fresh data, model vs data iteration."""

from __future__ import annotations

from lifelong.experiments.context import StreamContext
from lifelong.experiments.dataset import StreamData, load_stream
from lifelong.experiments.freshness import FreshnessResult, measure_freshness
from lifelong.experiments.iteration import IterationResult, compare_iterations
from lifelong.experiments.policies import POLICIES, Policy, policy_config
from lifelong.experiments.profile import StreamProfile, profile_stream
from lifelong.experiments.simulate import PolicyResult, simulate, simulate_policy

__all__ = [
    "POLICIES",
    "FreshnessResult",
    "IterationResult",
    "Policy",
    "PolicyResult",
    "StreamContext",
    "StreamData",
    "StreamProfile",
    "compare_iterations",
    "load_stream",
    "measure_freshness",
    "policy_config",
    "profile_stream",
    "simulate",
    "simulate_policy",
]
