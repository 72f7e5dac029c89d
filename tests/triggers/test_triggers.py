from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from lifelong.clock import ManualClock
from lifelong.config import TriggersConfig
from lifelong.errors import ConfigError
from lifelong.triggers import (
    CombinedTrigger,
    CronTrigger,
    IntervalTrigger,
    TriggerState,
    VolumeTrigger,
    build_trigger,
)

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def state(clock: ManualClock, *, last: datetime | None, rows: int = 0, rows_last: int = 0, fired: datetime | None = None) -> TriggerState:
    return TriggerState(now=clock.now(), last_trained_at=last, labeled_rows=rows, labeled_rows_at_last_training=rows_last, last_fired_at=fired)


def test_interval_fires_once_the_interval_has_passed() -> None:
    clock = ManualClock(T0)
    trigger = IntervalTrigger(every=timedelta(hours=6))
    assert trigger.check(state(clock, last=None)).fire
    clock.advance(timedelta(hours=5, minutes=59))
    assert not trigger.check(state(clock, last=T0)).fire
    clock.advance(timedelta(minutes=1))
    decision = trigger.check(state(clock, last=T0))
    assert decision.fire and "6h" in decision.reason


def test_cron_fires_after_each_scheduled_time() -> None:
    clock = ManualClock(T0 + timedelta(hours=1))
    trigger = CronTrigger(expression="0 3 * * *")
    last = T0 + timedelta(hours=1)
    clock.set(T0 + timedelta(hours=2, minutes=59))
    assert not trigger.check(state(clock, last=last)).fire
    clock.set(T0 + timedelta(hours=3))
    assert trigger.check(state(clock, last=last)).fire
    assert not trigger.check(state(clock, last=T0 + timedelta(hours=3))).fire


def test_cron_rejects_bad_expression() -> None:
    with pytest.raises(ConfigError, match="expression: expected a cron expression"):
        CronTrigger(expression="every tuesday")


def test_volume_counts_growth_and_minimum() -> None:
    clock = ManualClock(T0)
    trigger = VolumeTrigger(growth=0.5, min_rows=100)
    assert not trigger.check(state(clock, last=T0, rows=1099, rows_last=1000)).fire
    assert not trigger.check(state(clock, last=T0, rows=1499, rows_last=1000)).fire
    assert trigger.check(state(clock, last=T0, rows=1500, rows_last=1000)).fire
    assert not trigger.check(state(clock, last=None, rows=99, rows_last=0)).fire
    assert trigger.check(state(clock, last=None, rows=100, rows_last=0)).fire


def test_any_all_and_cooldown() -> None:
    clock = ManualClock(T0 + timedelta(days=1))
    interval = IntervalTrigger(every=timedelta(days=1))
    volume = VolumeTrigger(growth=1.0, min_rows=0)
    both = CombinedTrigger([interval, volume], combine="all")
    either = CombinedTrigger([interval, volume], combine="any", cooldown=timedelta(hours=2))
    s = state(clock, last=T0, rows=150, rows_last=100)
    assert not both.check(s).fire
    assert either.check(s).fire and either.check(s).kind == "interval"
    cooling = state(clock, last=T0, rows=150, rows_last=100, fired=clock.now() - timedelta(hours=1))
    decision = either.check(cooling)
    assert not decision.fire and "cooling down" in decision.reason
    clock.advance(timedelta(hours=1))
    assert either.check(state(clock, last=T0, rows=150, rows_last=100, fired=clock.now() - timedelta(hours=2))).fire


def test_build_from_config() -> None:
    config = TriggersConfig.model_validate(
        {"combine": "all", "cooldown": "1h", "triggers": [{"kind": "cron", "expression": "0 * * * *"}, {"kind": "volume", "growth": 0.1}]}
    )
    trigger = build_trigger(config)
    assert trigger.combine == "all" and trigger.cooldown == timedelta(hours=1)
    assert [t.kind for t in trigger.triggers] == ["cron", "volume"]
