"""Performance trigger (a significant rise of the loss on complete windows) and cost-aware trigger."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from trigger_support import T0, trained_pipeline

from lifelong.clock import ManualClock
from lifelong.errors import ConfigError
from lifelong.labels import ColumnLabeler
from lifelong.monitoring.costs import CostHistory, UpdateRecord, cost_history
from lifelong.monitoring.degradation import PerformanceAssessment, one_sided_welch
from lifelong.monitoring.performance import PerformanceMonitor, WindowPerformance
from lifelong.triggers import CostAwareTrigger, PerformanceTrigger, TriggerState


def _state(clock: ManualClock, key: str, value: object) -> TriggerState:
    return TriggerState(now=clock.now(), last_trained_at=T0, labeled_rows=0, labeled_rows_at_last_training=0, extra={key: value})


def _window(clock: ManualClock, losses: np.ndarray) -> WindowPerformance:
    start = clock.now() - timedelta(hours=6)
    return WindowPerformance(start, clock.now(), len(losses), 0, True, "accuracy", 1 - float(losses.mean()), float(losses.mean()), losses)


def test_performance_trigger_needs_a_significant_and_large_enough_rise() -> None:
    clock = ManualClock(T0 + timedelta(days=2))
    trigger = PerformanceTrigger(window=timedelta(hours=6), loss="error", alpha=0.01, min_increase=0.05)
    baseline = np.r_[np.ones(100), np.zeros(900)]  # 10% errors

    def assessment(rate: float, n: int = 800) -> PerformanceAssessment:
        errors = int(round(rate * n))
        current = np.r_[np.ones(errors), np.zeros(n - errors)]
        statistic, p_value = one_sided_welch(current, baseline)
        return PerformanceAssessment(clock.now(), "1.0", "error", 1000, float(baseline.mean()), 0.9, _window(clock, current), statistic, p_value)

    worse = trigger.check(_state(clock, trigger.key, assessment(0.25)))
    assert worse.fire and worse.reason.startswith("performance dropped: error 0.2500 on 800 rows")
    assert "one-sided Welch t-test p=" in worse.reason and worse.details["p_value"] < 0.01
    same = trigger.check(_state(clock, trigger.key, assessment(0.1)))
    assert not same.fire and "not significant" in same.reason
    slightly = trigger.check(_state(clock, trigger.key, assessment(0.13, n=20_000)))
    assert not slightly.fire and "below min_increase 0.05" in slightly.reason
    fresh_only = TriggerState(now=clock.now(), last_trained_at=clock.now() - timedelta(hours=1), labeled_rows=0,
                              labeled_rows_at_last_training=0, extra={trigger.key: assessment(0.25)})
    assert "waiting for fresh evidence" in trigger.check(fresh_only).reason
    earlier = assessment(0.5)
    clock.advance(timedelta(minutes=1))
    assert trigger.check(_state(clock, trigger.key, earlier)).reason.startswith("stale performance assessment")


def test_performance_trigger_on_a_real_pipeline(tmp_path: Path) -> None:
    leaf = {"kind": "performance", "window": "12h", "loss": "error", "min_rows": 100}
    pipeline, orchestrator = trained_pipeline(tmp_path, triggers=[leaf], input_shift=0.0)
    try:
        clock = ManualClock(T0 + timedelta(days=3))
        quiet = pipeline.trigger.check(orchestrator.trigger_state(clock.now()))
        assert not quiet.fire, quiet.reason
        clock.advance(timedelta(hours=12))  # the concept turned over at day 3; [3d, 3d12h) is complete
        decision = pipeline.trigger.check(orchestrator.trigger_state(clock.now()))
        assert decision.fire and decision.kind == "performance", decision.reason
        window = decision.details["decisions"][0]["details"]["window"]
        assert window["start"] == "2024-01-04T00:00:00+00:00" and window["complete"]
    finally:
        pipeline.close()


def test_only_windows_with_complete_labels_are_scored(tmp_path: Path) -> None:
    """With labels arriving 12h late, the latest windows are pending and not scored."""
    pipeline, orchestrator = trained_pipeline(tmp_path, triggers=[{"kind": "interval", "every": "1d"}])
    try:
        context = orchestrator.monitor_context()
        version = context.champion()
        assert version is not None
        monitor = PerformanceMonitor(labeler=ColumnLabeler("y", delay=timedelta(hours=12)), store=pipeline.store,
                                     scorer=context.scorer(version), metric="accuracy", loss="error")
        now = T0 + timedelta(days=3, hours=1)
        windows = monitor.windows(now, size=timedelta(hours=6), count=4)
        assert [w.complete for w in windows] == [True, True, False, False]
        assert windows[-1].pending > 0 and windows[-1].value is None and windows[0].value is not None
        assert monitor.latest_complete(now, size=timedelta(hours=6)) == windows[1]
    finally:
        pipeline.close()


def test_cost_trigger_weighs_expected_gain_against_training_cost() -> None:
    clock = ManualClock(T0 + timedelta(days=2))
    trigger = CostAwareTrigger(value_per_point=2.0, cost_per_cpu_second=0.5, min_history=2)
    records = (UpdateRecord("1.1", T0 + timedelta(hours=12), T0, 8.0, 0.01), UpdateRecord("1.2", T0 + timedelta(days=1), T0 + timedelta(hours=12), 12.0, 0.01))
    history = CostHistory(clock.now(), T0 + timedelta(days=1), records)  # 0.01/12h; 24h stale: +2 points = 4.0 vs cost 5.0
    wait = trigger.check(_state(clock, trigger.key, history))
    assert not wait.fire and wait.reason.startswith("not worth it yet: expected gain +2.00 points after 24.0h")
    clock.advance(timedelta(hours=12))  # 36h stale: +3 points = 6.0 > 5.0
    later = CostHistory(clock.now(), T0 + timedelta(days=1), records)
    fired = trigger.check(_state(clock, trigger.key, later))
    assert fired.fire and fired.details["expected_value"] == pytest.approx(6.0) and fired.details["expected_cost"] == pytest.approx(5.0)
    short = trigger.check(_state(clock, trigger.key, CostHistory(clock.now(), T0, records[:1])))
    assert not short.fire and "expected at least 2 recorded updates with gains, got 1" in short.reason
    with pytest.raises(ConfigError, match="value_per_point: expected a number > 0, got 0"):
        CostAwareTrigger(value_per_point=0, cost_per_cpu_second=1.0)


def test_cost_history_reads_gains_and_cpu_from_the_registry(tmp_path: Path) -> None:
    pipeline, orchestrator = trained_pipeline(tmp_path, triggers=[{"kind": "interval", "every": "12h"}], input_shift=0.0)
    try:
        for hours in (60, 72):
            orchestrator.step(T0 + timedelta(hours=hours))
        history = cost_history(pipeline.registry.versions("churn"), now=T0 + timedelta(hours=80))
        assert [r.version for r in history.records] == ["1.1", "1.2"]
        first = history.records[0]
        version = pipeline.registry.get("churn", "1.1")
        assert first.train_cpu_s == version.metrics["train_cpu_s"] > 0
        assert first.gain == pytest.approx(version.evaluation["challenger"] - version.evaluation["champion"])
        assert first.hours == 12 and history.staleness_hours == 8
    finally:
        pipeline.close()
