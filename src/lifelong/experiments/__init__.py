"""Experiments: policy simulation on historical streams."""

from __future__ import annotations

from lifelong.experiments.policies import POLICIES, policy_config
from lifelong.experiments.profile import StreamProfile, profile_stream
from lifelong.experiments.simulate import PolicyResult, simulate, simulate_policy

__all__ = ["POLICIES", "PolicyResult", "StreamProfile", "policy_config", "profile_stream", "simulate", "simulate_policy"]
