"""Prediction drift: a KS test of the champion's scores in a window against its scores on its training rows."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from pipeline_support import write_spec

from lifelong.config import load_config
from lifelong.ingest import ingest_once
from lifelong.monitoring.drift import DriftPolicy, _prediction_drift, assess_drift
from lifelong.orchestrator import Orchestrator
from lifelong.runtime import Pipeline
from lifelong.triggers import Decision

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def test_a_shift_of_the_scores_is_detected_and_stationary_scores_are_not() -> None:
    rng = np.random.default_rng(3)
    reference = np.sort(rng.beta(2.0, 5.0, size=4000))
    quiet = [_prediction_drift(reference, rng.beta(2.0, 5.0, size=500), 0.01) for _ in range(40)]
    assert all(found is not None and found.feature == "prediction" and found.test == "ks" for found in quiet)
    false_alarms = sum(found.drifted for found in quiet if found is not None)
    assert false_alarms <= 3  # alpha 0.01 on 40 windows: 0.4 expected; more means the test is miscalibrated
    shifted = _prediction_drift(reference, rng.beta(3.0, 4.0, size=500), 0.01)
    assert shifted is not None and shifted.drifted and shifted.p_value < 1e-10 and shifted.statistic > 0.2
    assert _prediction_drift(reference, np.empty(0), 0.01) is None  # nothing scored: nothing to test


def _write(path: Path, *, days: int = 4, per_hour: int = 40, shift_day: int = 3) -> None:
    """x1 moves by 1.5 from ``shift_day`` on; the concept (on x1 and x2) stays the same."""
    rng = np.random.default_rng(11)
    n = days * 24 * per_hour
    times = pd.date_range(T0, periods=n, freq=pd.Timedelta(hours=1) / per_hour)
    x = rng.normal(size=(n, 3))
    x[np.asarray(times >= T0 + timedelta(days=shift_day)), 0] += 1.5
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(2.0 * x[:, 0] + x[:, 1])))).astype(int)
    pd.DataFrame({"ts": times.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "id": [f"e{i}" for i in range(n)], "x1": x[:, 0], "x2": x[:, 1],
                  "x3": x[:, 2], "segment": rng.choice(["a", "b"], size=n), "y": y}).to_csv(path, index=False)


def test_on_a_real_pipeline_the_scores_drift_after_the_input_shift_only(tmp_path: Path) -> None:
    _write(tmp_path / "events.csv")
    spec = write_spec(tmp_path, training={"mode": "stateless", "window": "2d", "holdout": "12h", "min_rows": 100})
    pipeline = Pipeline.open(load_config(spec))
    try:
        ingest_once(pipeline)
        orchestrator = Orchestrator(pipeline)
        orchestrator.update(T0 + timedelta(days=2), Decision(True, "manual", "first version"))
        policy = DriftPolicy(window=timedelta(hours=12), persistence=2, min_rows=100)
        assessment = assess_drift(orchestrator.monitor_context(), policy, T0 + timedelta(days=3, hours=12))
        assert assessment is not None
        before, after = assessment.windows
        assert before.end == T0 + timedelta(days=3) and before.prediction is not None and after.prediction is not None
        assert not before.prediction.drifted and before.prediction.p_value > 0.01, before.prediction
        assert after.prediction.drifted and after.prediction.p_value < 1e-6, after.prediction
        assert after.drifted and after.to_dict()["prediction"]["drifted"] is True
    finally:
        pipeline.close()
