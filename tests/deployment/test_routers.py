"""Canary guardrails and bake time, Thompson sampling, team-draft interleaving, shadow bookkeeping."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from lifelong.clock import ManualClock
from lifelong.config import BanditDeploymentConfig, CanaryDeploymentConfig, InterleavingDeploymentConfig
from lifelong.deployment import CanaryRouter, InterleavingRouter, ShadowRouter, ThompsonRouter, build_router, credit, team_draft
from lifelong.errors import ConfigError

START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def canary(**kwargs: object) -> CanaryRouter:
    options: dict[str, object] = {"weight": 0.2, "bake": timedelta(minutes=10), "started": START, "min_requests": 50}
    options.update(kwargs)
    return CanaryRouter("1.0", "1.1", **options)  # type: ignore[arg-type]


def test_canary_sends_its_weight_and_promotes_after_the_bake_time() -> None:
    clock = ManualClock(START)
    router = canary()
    share = np.mean([router.route().answer == "1.1" for _ in range(5000)])
    assert abs(share - 0.2) < 0.03
    for _ in range(100):
        router.observe("1.0", error=False, seconds=0.002)
        router.observe("1.1", error=False, seconds=0.002)
    clock.advance(timedelta(minutes=5))
    assert router.decide(clock.now()) is None  # still baking
    clock.advance(timedelta(minutes=5))
    decision = router.decide(clock.now())
    assert decision is not None and decision.action == "promote" and decision.version == "1.1"


@pytest.mark.parametrize(
    ("challenger", "options", "expected"),
    [
        ({"error": True, "seconds": 0.002}, {}, "error rate"),
        ({"error": False, "seconds": 0.050}, {}, "p99 latency"),
        ({"error": False, "seconds": 0.003}, {"max_p99_ms": 2.5, "max_latency_ratio": 10.0}, "> 2.5 ms"),
    ],
)
def test_canary_rolls_back_on_a_breached_guardrail(challenger: dict[str, object], options: dict[str, object], expected: str) -> None:
    router = canary(**options)
    for _ in range(60):
        router.observe("1.0", error=False, seconds=0.002)
        router.observe("1.1", **challenger)  # type: ignore[arg-type]
    decision = router.decide(START + timedelta(seconds=1))
    assert decision is not None and decision.action == "rollback" and expected in decision.reason


def test_canary_reward_guardrail_needs_enough_feedback() -> None:
    router = canary(max_metric_drop=0.05, min_feedback=100)
    for _ in range(60):
        router.observe("1.0", error=False, seconds=0.002)
        router.observe("1.1", error=False, seconds=0.002)
    for index in range(100):
        router.reward("1.0", float(index % 5 == 0))  # 20 %
        router.reward("1.1", float(index % 10 == 0))  # 10 %
        if index == 50:
            assert router.decide(START) is None  # not enough feedback yet
    decision = router.decide(START)
    assert decision is not None and "reward" in decision.reason


def test_canary_weight_must_be_a_share() -> None:
    with pytest.raises(ConfigError, match=r"weight: expected a share of traffic in \[0, 1\], got 1.5"):
        canary(weight=1.5)
    with pytest.raises(ValueError, match="less than or equal to 1"):
        CanaryDeploymentConfig(kind="canary", weight=1.5)
    assert build_router(CanaryDeploymentConfig(kind="canary", weight=0.0), "1.0", ["1.1"], now=START).route().answer == "1.0"


def test_thompson_sampling_moves_traffic_to_the_better_arm_and_promotes_it() -> None:
    router = build_router(BanditDeploymentConfig(kind="bandit", challengers=("a", "b"), min_samples=300, seed=3), "1.0", ["1.1", "1.2"], now=START)
    assert isinstance(router, ThompsonRouter)
    rates = {"1.0": 0.05, "1.1": 0.05, "1.2": 0.15}
    rng = np.random.default_rng(0)
    served = []
    decision = None
    for step in range(6000):
        version = router.route().answer
        served.append(version)
        router.reward(version, float(rng.uniform() < rates[version]))
        if step % 100 == 99 and (decision := router.decide(START)) is not None:
            break
    assert decision is not None and decision.action == "promote" and decision.version == "1.2"
    late = served[len(served) // 2 :]
    assert late.count("1.2") / len(late) > 0.6
    status = router.status()
    assert status["probability_best"]["1.2"] >= 0.95 and status["posterior"]["1.2"]["alpha"] > 1
    with pytest.raises(ConfigError, match="reward"):
        router.reward("1.0", 2.0)


def test_team_draft_interleaving_is_balanced_and_credits_clicks() -> None:
    rng = random.Random(0)
    for _ in range(200):
        a = rng.sample(range(20), 10)
        b = rng.sample(range(20), 10)
        merged, teams = team_draft(a, b, rng)
        assert len(merged) == len(set(merged)) == len(set(a) | set(b))
        for prefix in range(1, len(teams) + 1):
            if set(merged[:prefix]) <= set(a) & set(b):
                assert abs(teams[:prefix].count("A") - teams[:prefix].count("B")) <= 1
        for position, item in enumerate(merged):
            owner = a if teams[position] == "A" else b
            assert item in owner
    assert credit(["A", "B", "A"], [0, 2]) == "A" and credit(["A", "B"], []) is None and credit(["A", "B"], [0, 1]) is None


def simulate_interleaving(router: InterleavingRouter, better: str, seed: int, impressions: int = 2000) -> None:
    """Users click relevant items near the top; the ``better`` ranker puts relevant items first."""
    rng = np.random.default_rng(seed)
    for index in range(impressions):
        relevant = set(rng.choice(20, 4, replace=False).tolist())
        good = sorted(range(20), key=lambda i: (i not in relevant, rng.uniform()))
        poor = [int(i) for i in rng.permutation(20)]
        a, b = (poor, good) if better == "B" else (good, poor) if better == "A" else (poor, poor)
        merged, _ = router.interleave(f"r{index}", a, b, length=10)
        clicks = [p for p, item in enumerate(merged) if item in relevant and rng.uniform() < 0.7 / (1 + 0.3 * p)]
        router.clicks(f"r{index}", clicks)
        if router.decide(START) is not None:
            return


def test_interleaving_detects_the_preferred_ranker_and_stays_quiet_on_equal_ones() -> None:
    better = build_router(InterleavingDeploymentConfig(kind="interleaving", min_impressions=100), "1.0", ["1.1"], now=START)
    assert isinstance(better, InterleavingRouter)
    simulate_interleaving(better, "B", seed=1)
    decision = better.decide(START)
    assert decision is not None and decision.action == "promote" and better.status()["preference"] > 0
    worse = InterleavingRouter("1.0", "1.1", min_impressions=100, seed=2)
    simulate_interleaving(worse, "A", seed=2)
    assert (d := worse.decide(START)) is not None and d.action == "rollback"
    false_preferences = 0
    for seed in range(40):
        equal = InterleavingRouter("1.0", "1.1", min_impressions=100, seed=seed)
        simulate_interleaving(equal, "same", seed=seed, impressions=400)
        false_preferences += equal.decide(START) is not None
    assert false_preferences <= 2  # always-valid at alpha 0.05, looked at after every impression
    with pytest.raises(KeyError):
        equal.clicks("unknown", [0])


def test_shadow_router_answers_with_the_champion_only() -> None:
    router = ShadowRouter("1.0", ["1.1", "2.0"])
    assert {router.route(str(i)).answer for i in range(50)} == {"1.0"}
    router.compare("2.0", rows=10, agreeing=9, score_gap=0.5)
    router.drop()
    status = router.status()
    assert status["agreement"]["2.0"] == {"rows": 10, "agreement": 0.9, "mean_abs_score_gap": 0.05}
    assert status["dropped"] == 1 and router.decide(START) is None
    with pytest.raises(ConfigError, match="other than the champion"):
        ShadowRouter("1.0", ["1.0"])
