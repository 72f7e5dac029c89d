"""A long stationary stream: neither the drift trigger nor the detector triggers fire, check after check."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from trigger_support import T0, trained_pipeline

from lifelong.clock import ManualClock

DAYS = 10
LEAVES = [
    {"kind": "drift", "window": "12h", "persistence": 2, "min_rows": 100},
    {"kind": "detector", "detector": "adwin", "stream": "error"},
    {"kind": "detector", "detector": "page_hinkley", "stream": "feature:x1"},
]


def test_a_long_stationary_stream_fires_no_trigger(tmp_path: Path) -> None:
    """8 days (7,680 rows) after training, checked every 12 hours: no firing, and every check looked at data."""
    pipeline, orchestrator = trained_pipeline(tmp_path, triggers=LEAVES, days=DAYS, shift_day=None, seed=7)
    try:
        clock = ManualClock(T0 + timedelta(days=3))
        checks = 0
        while clock.now() <= T0 + timedelta(days=DAYS):
            decision = pipeline.trigger.check(orchestrator.trigger_state(clock.now()))
            assert not decision.fire, f"{clock.now()}: {decision.reason}"
            leaves = decision.details["decisions"]
            drift = leaves[0]["details"]
            assert [w["rows"] for w in drift["windows"]] == [480, 480]  # both windows were tested
            assert not any(w["prediction"]["drifted"] for w in drift["windows"])  # the scores stay put too
            assert all(leaf["details"]["until"] > leaf["details"]["start"] for leaf in leaves[1:])
            checks += 1
            clock.advance(timedelta(hours=12))
        assert checks == 2 * (DAYS - 3) + 1
        seen = [leaf["details"]["seen"] for leaf in leaves[1:]]
        assert seen == [(DAYS - 2) * 24 * 40] * len(seen)  # every row since the training was fed to every detector
    finally:
        pipeline.close()
