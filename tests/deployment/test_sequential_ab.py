"""A/B testing with always-valid p-values: sticky units, early stopping on a real effect, A/A stays quiet."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from lifelong.config import ABDeploymentConfig
from lifelong.deployment import ABRouter, MixtureSPRT, always_valid_p_values, build_router, unit_fraction
from lifelong.errors import ConfigError

NOW = datetime(2024, 1, 1, tzinfo=timezone.utc)


def run_ab(seed: int, rate_a: float, rate_b: float, *, units: int = 40_000, tau: float = 0.05) -> tuple[ABRouter, int]:
    """Synthetic traffic: each unit is routed by its sticky hash and converts at its arm's rate."""
    rng = np.random.default_rng(seed)
    router = ABRouter("1.0", "1.1", weight=0.5, tau=tau, min_samples=200, salt=f"seed-{seed}")
    draws = rng.uniform(size=units)
    for index in range(units):
        version = router.route(f"user-{index}").answer
        router.reward(version, float(draws[index] < (rate_b if version == "1.1" else rate_a)))
        if router.decide(NOW) is not None:
            return router, index + 1
    return router, units


def test_sticky_hashing_keeps_a_unit_on_its_arm_and_splits_by_weight() -> None:
    router = ABRouter("1.0", "1.1", weight=0.3, salt="s")
    first = [router.route(f"u{i}").answer for i in range(5000)]
    again = [router.route(f"u{i}").answer for i in range(5000)]
    assert first == again
    assert abs(first.count("1.1") / 5000 - 0.3) < 0.03
    other_salt = ABRouter("1.0", "1.1", weight=0.3, salt="t")
    assert [other_salt.route(f"u{i}").answer for i in range(200)] != first[:200]
    assert 0 <= unit_fraction("u", "s") < 1


def test_a_known_effect_stops_early_with_the_right_winner() -> None:
    for seed, (a, b, action) in enumerate([(0.10, 0.15, "promote"), (0.15, 0.10, "rollback")]):
        router, used = run_ab(seed, a, b)
        decision = router.decide(NOW)
        assert decision is not None and decision.action == action and decision.version == "1.1", (seed, used)
        assert used < 40_000 and router.status()["p_value"] <= 0.05


def test_aa_tests_declare_no_winner_in_at_least_95_percent_of_seeds() -> None:
    # Through the real router for a few seeds...
    winners = sum(run_ab(100 + seed, 0.1, 0.1, units=6000)[0].decide(NOW) is not None for seed in range(20))
    assert winners <= 2
    # ...and the same statistic over 500 seeds, vectorised: every look counts.
    rng = np.random.default_rng(7)
    seeds, steps, warmup = 500, 8000, 200
    a = (rng.uniform(size=(seeds, steps)) < 0.1).astype(float)
    b = (rng.uniform(size=(seeds, steps)) < 0.1).astype(float)
    n = np.arange(1, steps + 1)
    mean_a, mean_b = a.cumsum(1) / n, b.cumsum(1) / n
    var_a = np.maximum(mean_a * (1 - mean_a), 1e-12) * n / np.maximum(n - 1, 1)
    var_b = np.maximum(mean_b * (1 - mean_b), 1e-12) * n / np.maximum(n - 1, 1)
    p = always_valid_p_values((mean_b - mean_a)[:, warmup:], (var_a / n + var_b / n)[:, warmup:], 0.05)
    false_winners = (p[:, -1] <= 0.05).mean()
    assert false_winners <= 0.05, false_winners


def test_the_router_and_the_vectorised_statistic_agree() -> None:
    test = MixtureSPRT(tau=0.05, alpha=0.05)
    p = test.update(mean_a=0.1, var_a=0.09, n_a=3000, mean_b=0.12, var_b=0.1056, n_b=3000)
    assert p == pytest.approx(always_valid_p_values(np.array([0.02]), np.array([0.09 / 3000 + 0.1056 / 3000]), 0.05)[0])


def test_ab_config_and_router_refuse_bad_weights() -> None:
    with pytest.raises(ConfigError, match="weight"):
        ABRouter("1.0", "1.1", weight=1.0)
    router = build_router(ABDeploymentConfig(kind="ab", max_samples=300, min_samples=100), "1.0", ["1.1"], now=NOW)
    for _ in range(300):
        router.reward("1.0", 0.0)
        router.reward("1.1", 0.0)
    decision = router.decide(NOW)
    assert decision is not None and decision.action == "rollback" and "no significant difference" in decision.reason
