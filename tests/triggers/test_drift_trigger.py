"""Drift trigger: fires on persistent drift of important inputs that costs performance, not on noise."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from trigger_support import T0, trained_pipeline

from lifelong.clock import ManualClock
from lifelong.errors import ConfigError
from lifelong.monitoring.cbpe import Estimate
from lifelong.monitoring.drift import DriftAssessment, Impact, WindowDrift
from lifelong.triggers import DriftTrigger, TriggerState


def _assessment(trigger: DriftTrigger, at: datetime, drifted: list[bool], estimate: float | None) -> DriftAssessment:
    windows = tuple(
        WindowDrift(at - (len(drifted) - i) * trigger.policy.window, at - (len(drifted) - i - 1) * trigger.policy.window,
                    500, None, 0.7 if flag else 0.0, None, flag, "hand-made")
        for i, flag in enumerate(drifted)
    )
    est = Estimate("roc_auc", estimate, 0.01, 500, 0.9, False) if estimate is not None else None
    return DriftAssessment(at, "1.0", trigger.policy, windows, {"x1": 0.7, "x2": 0.3}, Impact("roc_auc", 0.9, est, None))


def _state(clock: ManualClock, trigger: DriftTrigger, assessment: DriftAssessment | None, *, trained: datetime = T0) -> TriggerState:
    extra = {} if assessment is None else {trigger.key: assessment}
    return TriggerState(now=clock.now(), last_trained_at=trained, labeled_rows=0, labeled_rows_at_last_training=0, extra=extra)


def test_fires_only_when_persistent_and_costly() -> None:
    clock = ManualClock(T0 + timedelta(days=3))
    trigger = DriftTrigger(window=timedelta(hours=12), persistence=2, min_impact=0.02)
    fired = trigger.check(_state(clock, trigger, _assessment(trigger, clock.now(), [True, True], estimate=0.85)))
    assert fired.fire and fired.kind == "drift"
    assert "2 consecutive 12h windows drifted against champion 1.0's training rows" in fired.reason
    assert "estimated roc_auc drop +0.0500" in fired.reason and fired.details["impact"]["baseline"] == 0.9
    one = trigger.check(_state(clock, trigger, _assessment(trigger, clock.now(), [False, True], estimate=0.85)))
    assert not one.fire and one.reason == "1 of the last 2 12h windows drifted (needs all)"
    cheap = trigger.check(_state(clock, trigger, _assessment(trigger, clock.now(), [True, True], estimate=0.895)))
    assert not cheap.fire and "below min_impact 0.02" in cheap.reason
    unknown = trigger.check(_state(clock, trigger, _assessment(trigger, clock.now(), [True, True], estimate=None)))
    assert not unknown.fire and "no impact measurable yet" in unknown.reason
    retried = trigger.check(_state(clock, trigger, _assessment(trigger, clock.now(), [True, True], estimate=0.85),
                                   trained=clock.now() - timedelta(hours=18)))
    assert not retried.fire and "began before the last training" in retried.reason  # a rejected update is not retried at once
    anyway = DriftTrigger(window=timedelta(hours=12), require_impact=False)
    assert anyway.check(_state(clock, anyway, _assessment(anyway, clock.now(), [True, True], estimate=None))).fire


def test_ignores_a_missing_or_stale_assessment() -> None:
    clock = ManualClock(T0)
    trigger = DriftTrigger()
    assert "no drift assessment" in trigger.check(_state(clock, trigger, None)).reason
    old = _assessment(trigger, clock.now(), [True, True], estimate=0.5)
    clock.advance(timedelta(hours=1))
    stale = trigger.check(_state(clock, trigger, old))
    assert not stale.fire and stale.reason.startswith("stale drift assessment")


def test_bad_parameters_name_the_field() -> None:
    with pytest.raises(ConfigError, match="persistence: expected an integer >= 1, got 0"):
        DriftTrigger(persistence=0)
    with pytest.raises(ConfigError, match="min_importance: expected a share in \\[0, 1\\], got 2"):
        DriftTrigger(min_importance=2)


def test_on_a_real_pipeline_fires_after_the_shift_and_not_before(tmp_path: Path) -> None:
    leaf = {"kind": "drift", "window": "12h", "persistence": 2, "min_rows": 100, "min_impact": 0.02}
    pipeline, orchestrator = trained_pipeline(tmp_path, triggers=[leaf])
    try:
        clock = ManualClock(T0 + timedelta(days=3))  # the shift happens at day 3: nothing yet
        before = pipeline.trigger.check(orchestrator.trigger_state(clock.now()))
        assert not before.fire, before.reason
        clock.advance(timedelta(hours=12))  # one drifted window: not persistent yet
        assert not pipeline.trigger.check(orchestrator.trigger_state(clock.now())).fire
        clock.advance(timedelta(hours=12))
        decision = pipeline.trigger.check(orchestrator.trigger_state(clock.now()))
        assert decision.fire and decision.kind == "drift", decision.reason
        assert "x1 (ks p=" in decision.reason and "roc_auc drop" in decision.reason
        latest = decision.details["decisions"][0]["details"]["windows"][-1]
        assert latest["features"]["drifted"][0] == "x1" and latest["importance_share"] > 0.5
        outcome = orchestrator.step(clock.now())
        assert outcome is not None and pipeline.registry.versions("churn")[-1].lineage.trigger["kind"] == "drift"
        recorded = pipeline.registry.versions("churn")[-1].lineage.trigger
        assert recorded["firing_id"] and "consecutive 12h windows drifted" in recorded["reason"]
    finally:
        pipeline.close()


def test_a_harmless_input_shift_does_not_fire(tmp_path: Path) -> None:
    """x3 is not used by the concept: its drift carries little importance and costs nothing."""
    leaf = {"kind": "drift", "window": "12h", "persistence": 2, "min_rows": 100}
    pipeline, orchestrator = trained_pipeline(tmp_path, triggers=[leaf], flip=False, shift_column=2)
    try:
        decision = pipeline.trigger.check(orchestrator.trigger_state(T0 + timedelta(days=4)))
        assert not decision.fire, decision.reason
        windows = decision.details["decisions"][0]["details"]["windows"]
        assert all(w["features"]["drifted"] == ["x3"] and w["importance_share"] < 0.2 for w in windows)
    finally:
        pipeline.close()
