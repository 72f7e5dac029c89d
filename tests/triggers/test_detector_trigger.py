"""Detector trigger: River's streaming detectors fed by the loop, firing on a change that costs performance."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from service_support import DATASETS, require
from pipeline_support import write_spec
from pydantic import ValidationError
from trigger_support import T0, trained_pipeline, write_shifting_stream

from lifelong.clock import ManualClock
from lifelong.config import DetectorTriggerConfig, TriggersConfig, load_config
from lifelong.errors import ConfigError
from lifelong.ingest import ingest_once
from lifelong.monitoring.cbpe import Estimate
from lifelong.monitoring.drift import Impact
from lifelong.monitoring.performance import WindowPerformance
from lifelong.monitoring.streaming import DDMDetector, KSWINDetector
from lifelong.monitoring.watch import Detection, DetectorAssessment
from lifelong.orchestrator import Orchestrator
from lifelong.runtime import Pipeline
from lifelong.triggers import Decision, DetectorTrigger, TriggerState, build_trigger

SEA_DRIFTS = (12_500, 25_000, 37_500)
"""The rows where SEA's concept changes (one row a minute from 2024-01-01)."""


def _assessment(at: datetime, detections: list[int], *, estimated: float | None = None, measured: float | None = None,
                p_value: float | None = None, warmup: int = 200) -> DetectorAssessment:
    start = at - timedelta(days=2)
    found = tuple(Detection(index, start + timedelta(minutes=index)) for index in detections)
    est = Estimate("accuracy", estimated, 0.01, 500, 0.9, False) if estimated is not None else None
    window = WindowPerformance(start, at, 500, 0, True, "accuracy", measured, 0.2) if measured is not None else None
    impact = Impact("accuracy", 0.9, est, window) if found else None
    return DetectorAssessment(at, "1.0", "adwin", "error", start, at, 2880, found, start, impact, warmup, p_value)


def _state(clock: ManualClock, trigger: DetectorTrigger, assessment: DetectorAssessment | None, *, trained: datetime) -> TriggerState:
    extra = {} if assessment is None else {trigger.key: assessment}
    return TriggerState(now=clock.now(), last_trained_at=trained, labeled_rows=0, labeled_rows_at_last_training=0, extra=extra)


def test_fires_on_fresh_detections_that_cost_and_says_where() -> None:
    clock = ManualClock(T0 + timedelta(days=3))
    trained = clock.now() - timedelta(days=2)
    trigger = DetectorTrigger(detector="adwin", stream="error", min_impact=0.02)
    fired = trigger.check(_state(clock, trigger, _assessment(clock.now(), [900], measured=0.85, p_value=1e-4), trained=trained))
    assert fired.fire and fired.kind == "detector", fired.reason
    assert fired.reason.startswith("adwin detected a change in the error stream of champion 1.0 at row 900 (2024-01-02T15:00:00+00:00)")
    assert "measured accuracy drop +0.0500" in fired.reason and fired.details["detections"] == [{"index": 900, "at": "2024-01-02T15:00:00+00:00"}]
    quiet = trigger.check(_state(clock, trigger, _assessment(clock.now(), []), trained=trained))
    assert not quiet.fire and quiet.reason.startswith("adwin on the error stream of champion 1.0: 0 detection(s) since the last training (needs 1)")
    warming = trigger.check(_state(clock, trigger, _assessment(clock.now(), [57], measured=0.5, p_value=1e-9), trained=trained))
    assert not warming.fire, "a detection in the stream's first min_rows rows is warm-up"
    noisy = trigger.check(_state(clock, trigger, _assessment(clock.now(), [900], measured=0.85, p_value=0.2), trained=trained))
    assert not noisy.fire and "is not significant or below min_impact 0.02" in noisy.reason
    cheap = trigger.check(_state(clock, trigger, _assessment(clock.now(), [900], measured=0.89, p_value=1e-4), trained=trained))
    assert not cheap.fire and "measured accuracy drop +0.0100" in cheap.reason
    estimated = trigger.check(_state(clock, trigger, _assessment(clock.now(), [900], estimated=0.8), trained=trained))
    assert estimated.fire and "estimated accuracy drop +0.1000" in estimated.reason
    unknown = trigger.check(_state(clock, trigger, _assessment(clock.now(), [900]), trained=trained))
    assert not unknown.fire and "no impact measurable yet" in unknown.reason
    old = trigger.check(_state(clock, trigger, _assessment(clock.now(), [900], measured=0.8, p_value=1e-6), trained=clock.now() - timedelta(hours=1)))
    assert not old.fire and "0 detection(s) since the last training" in old.reason  # a rejected update is not retried at once
    anyway = DetectorTrigger(require_impact=False)
    assert anyway.check(_state(clock, anyway, _assessment(clock.now(), [900]), trained=trained)).fire
    twice = DetectorTrigger(persistence=2, require_impact=False)
    assert not twice.check(_state(clock, twice, _assessment(clock.now(), [900]), trained=trained)).fire
    both = twice.check(_state(clock, twice, _assessment(clock.now(), [900, 1300]), trained=trained))
    assert both.fire and "at row 1300" in both.reason and "2 detections since the last training, the first at row 900" in both.reason


def test_ignores_a_missing_or_stale_assessment() -> None:
    clock = ManualClock(T0)
    trigger = DetectorTrigger(detector="ddm")
    assert trigger.check(_state(clock, trigger, None, trained=T0)).reason == "no ddm assessment of the error stream: no champion yet"
    old = _assessment(clock.now(), [900], measured=0.5, p_value=1e-9)
    clock.advance(timedelta(hours=1))
    stale = trigger.check(_state(clock, trigger, old, trained=T0 - timedelta(days=3)))
    assert not stale.fire and stale.reason.startswith("stale ddm assessment of the error stream")


def test_bad_parameters_name_the_field() -> None:
    with pytest.raises(ConfigError, match="stream: expected 'error' for the binary ddm detector .* got 'feature:x1'"):
        DetectorTrigger(detector=DDMDetector(), stream="feature:x1")
    with pytest.raises(ConfigError, match="stream: expected 'error', 'prediction' or 'feature:NAME', got 'errors'"):
        DetectorTrigger(stream="errors")
    with pytest.raises(ConfigError, match="persistence: expected an integer >= 1, got 0"):
        DetectorTrigger(persistence=0)
    with pytest.raises(ConfigError, match="alpha: expected a level in \\(0, 1\\) such as 0.01, got 1.5"):
        DetectorTrigger(alpha=1.5)
    with pytest.raises(ValidationError, match="stream: expected 'error' for the hddm_w detector"):
        DetectorTriggerConfig.model_validate({"kind": "detector", "detector": "hddm_w", "stream": "prediction"})
    with pytest.raises(ValidationError, match="stat_size: expected fewer than window_size \\(100\\), got 100"):
        DetectorTriggerConfig.model_validate({"kind": "detector", "detector": {"kind": "kswin", "stat_size": 100}})


def test_the_config_selects_the_detector_and_its_typed_parameters() -> None:
    config = TriggersConfig.model_validate({"triggers": [
        {"kind": "detector", "detector": "ddm"},
        {"kind": "detector", "detector": {"kind": "kswin", "alpha": 0.001, "window_size": 200}, "stream": "feature:x1"},
    ]})
    ddm, kswin = build_trigger(config).triggers
    assert isinstance(ddm, DetectorTrigger) and isinstance(ddm.detector, DDMDetector) and ddm.stream == "error"
    assert isinstance(kswin, DetectorTrigger) and isinstance(kswin.detector, KSWINDetector)
    assert kswin.detector.params() == {"alpha": 0.001, "window_size": 200, "stat_size": 30, "seed": 0} and kswin.stream == "feature:x1"
    assert ddm.key != kswin.key


def test_the_commented_example_of_lifelong_init_is_valid_when_uncommented() -> None:
    import yaml

    from lifelong.example_config import EXAMPLE_CONFIG

    lines = EXAMPLE_CONFIG.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("    # - kind: detector"))
    block = [lines[first].replace("# ", "", 1)]
    block += [line.replace("#   ", "  ", 1) for line in lines[first + 1:] if line.startswith("    #   ")][:3]
    leaf = yaml.safe_load("\n".join(line[4:] for line in block))[0]
    config = DetectorTriggerConfig.model_validate(leaf)
    assert config.detector.kind == "adwin" and config.stream == "error" and config.min_impact == 0.02


def _sea_pipeline(tmp_path: Path, rows: int, triggers: list[dict[str, object]]) -> tuple[Pipeline, Orchestrator]:
    require((DATASETS / "sea.csv").exists(), f"SEA is not at {DATASETS / 'sea.csv'}")
    pd.read_csv(DATASETS / "sea.csv", nrows=rows).to_csv(tmp_path / "sea.csv", index=False)
    spec = write_spec(tmp_path, source={"kind": "file", "path": str(tmp_path / "sea.csv"), "timestamp": "timestamp", "batch_size": 5000},
                      labels={"kind": "column", "column": "label"}, features={"kind": "tabular", "numeric": ["f1", "f2", "f3"]},
                      evaluation={"metric": "accuracy", "gates": [{"kind": "not_worse", "tolerance": 0.01}]},
                      triggers={"triggers": triggers}, training={"mode": "stateless", "window": "2d", "holdout": "6h", "min_rows": 100})
    pipeline = Pipeline.open(load_config(spec))
    ingest_once(pipeline)
    orchestrator = Orchestrator(pipeline)
    return pipeline, orchestrator


def test_on_sea_fires_after_the_abrupt_drift_and_records_its_reason(tmp_path: Path) -> None:
    """ADWIN on the champion's errors: quiet on SEA's first concept, fires after the drift at row 12,500."""
    pipeline, orchestrator = _sea_pipeline(tmp_path, 17_000, [{"kind": "detector", "detector": "adwin", "stream": "error"}])
    try:
        trained = T0 + timedelta(days=5)  # row 7,200
        orchestrator.update(trained, Decision(True, "manual", "first version"))
        drift_at = T0 + timedelta(minutes=SEA_DRIFTS[0])
        clock = ManualClock(trained + timedelta(hours=12))
        decisions = []
        while clock.now() <= T0 + timedelta(minutes=16_800):
            decision = pipeline.trigger.check(orchestrator.trigger_state(clock.now()))
            decisions.append((clock.now(), decision))
            if decision.fire:
                break
            clock.advance(timedelta(hours=12))
        quiet = [d for at, d in decisions if at <= drift_at]
        assert len(quiet) >= 6 and not any(d.fire for d in quiet), [d.reason for d in quiet if d.fire]
        fired_at, fired = decisions[-1]
        assert fired.fire and fired.kind == "detector", fired.reason
        detection = fired.details["decisions"][0]["details"]["detections"][0]
        detected_row = 7_200 + detection["index"]  # the stream starts at the champion's training
        assert SEA_DRIFTS[0] <= detected_row <= SEA_DRIFTS[0] + 1_500, detection
        assert datetime.fromisoformat(detection["at"]) == T0 + timedelta(minutes=detected_row)
        assert f"adwin detected a change in the error stream of champion 1.0 at row {detection['index']} ({detection['at']})" in fired.reason
        assert "measured accuracy drop +0.0" in fired.reason
        restarted = DetectorTrigger(detector="adwin", stream="error")  # a new process: the state is replayed
        replayed = restarted.observe(orchestrator.monitor_context(), fired_at)[restarted.key]
        live = pipeline.trigger.triggers[0]
        assert live.observe(orchestrator.monitor_context(), fired_at)[restarted.key] == replayed
        earlier = live.observe(orchestrator.monitor_context(), fired_at - timedelta(hours=12))[restarted.key]
        assert earlier.until == fired_at - timedelta(hours=12) and earlier.seen == replayed.seen - 720  # time went back: replayed
        assert live.observe(orchestrator.monitor_context(), fired_at)[restarted.key] == replayed
        outcome = orchestrator.step(fired_at)
        assert outcome is not None
        recorded = pipeline.registry.versions("churn")[-1].lineage.trigger
        assert recorded["kind"] == "detector" and recorded["firing_id"]
        assert f"adwin detected a change in the error stream of champion 1.0 at row {detection['index']}" in recorded["reason"]
    finally:
        pipeline.close()


def test_feature_and_prediction_streams_fire_on_an_input_shift(tmp_path: Path) -> None:
    """x1 moves by 1.5 and the concept on it turns over at day 3: Page-Hinkley on x1 and KSWIN on the scores see it."""
    leaves = [{"kind": "detector", "detector": "page_hinkley", "stream": "feature:x1"},
              {"kind": "detector", "detector": {"kind": "kswin", "alpha": 0.0001}, "stream": "prediction"},
              {"kind": "detector", "detector": "page_hinkley", "stream": "feature:x3"}]
    pipeline, orchestrator = trained_pipeline(tmp_path, triggers=leaves)
    try:
        before = pipeline.trigger.check(orchestrator.trigger_state(T0 + timedelta(days=3)))
        assert not before.fire, before.reason
        decision = pipeline.trigger.check(orchestrator.trigger_state(T0 + timedelta(days=3, hours=12)))
        x1, scores, x3 = (d for d in decision.details["decisions"])
        assert x1["fire"] and x1["reason"].startswith("page_hinkley detected a change in the feature:x1 stream of champion 1.0 at row"), x1["reason"]
        shift = T0 + timedelta(days=3)
        assert shift <= datetime.fromisoformat(x1["details"]["detections"][0]["at"]) <= shift + timedelta(hours=3)
        assert scores["fire"] and "kswin detected a change in the prediction stream" in scores["reason"], scores["reason"]
        assert not x3["fire"] and x3["details"]["detection_count"] == 0, x3["reason"]  # x3 did not move
    finally:
        pipeline.close()


def test_the_error_stream_waits_for_final_labels_and_a_missing_feature_is_named(tmp_path: Path) -> None:
    """With labels arriving 6h after their events, the error stream is fed up to 6h before now; inputs up to now."""
    write_shifting_stream(tmp_path / "events.csv", days=3, shift_day=None)
    leaves = [{"kind": "detector", "detector": "adwin", "stream": "error"},
              {"kind": "detector", "detector": "adwin", "stream": "feature:nope"}]
    spec = write_spec(tmp_path, triggers={"triggers": leaves}, labels={"kind": "column", "column": "y", "delay": "6h"},
                      training={"mode": "stateless", "window": "2d", "holdout": "12h", "min_rows": 100})
    pipeline = Pipeline.open(load_config(spec))
    try:
        ingest_once(pipeline)
        orchestrator = Orchestrator(pipeline)
        orchestrator.update(T0 + timedelta(days=2), Decision(True, "manual", "first version"))
        now = T0 + timedelta(days=2, hours=12)
        errors, missing = pipeline.trigger.check(orchestrator.trigger_state(now)).details["decisions"]
        assert errors["details"]["until"] == (now - timedelta(hours=6)).isoformat()
        assert errors["details"]["seen"] == 6 * 40  # 40 rows an hour, from the training to 6h before now
        assert missing["details"]["until"] == now.isoformat() and missing["details"]["seen"] == 0
        assert "feature 'nope' is not a column of the inputs" in missing["reason"], missing["reason"]
    finally:
        pipeline.close()
