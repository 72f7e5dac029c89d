"""Recalibration (from scratch every N updates or on drift) and forgetting, recorded on the versions."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pipeline_support import write_spec, write_stream

from lifelong.config import load_config
from lifelong.errors import ConfigError
from lifelong.ingest import run_replay
from lifelong.registry.types import TrainingMode
from lifelong.runtime import Pipeline
from lifelong.training.recalibration import (
    RecalibrationPolicy,
    categorical_stability,
    population_stability,
)
from lifelong.training.reproduce import reproduce


def test_population_stability_and_the_policy() -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(size=3000)
    assert population_stability(base, rng.normal(size=3000)) < 0.02
    assert population_stability(base, rng.normal(0.5, 1.0, size=3000)) > 0.15
    assert np.isnan(population_stability(base, np.array([np.nan])))
    assert categorical_stability(["a", "b"] * 50, ["a", "b"] * 50) == 0.0
    assert categorical_stability(["a", "b"] * 50, ["a"] * 90 + ["c"] * 10) > 1.0
    policy = RecalibrationPolicy(every=4, psi_threshold=0.25)
    assert not policy.decide(streak=3, psi={"x": 0.1}).from_scratch
    assert policy.decide(streak=4, psi={}).from_scratch
    drifted = policy.decide(streak=0, psi={"x": 0.1, "y": 0.3})
    assert (
        drifted.from_scratch
        and drifted.reason == "drift: PSI of y is 0.300 (threshold 0.25)"
        and drifted.max_psi == 0.3
    )
    with pytest.raises(
        ConfigError, match="recalibration.psi_threshold: expected a number > 0 or None, got 0"
    ):
        RecalibrationPolicy(psi_threshold=0)


def test_loop_recalibrates_on_schedule_and_on_drift_and_records_forgetting(tmp_path: Path) -> None:
    frame = write_stream(tmp_path / "events.csv", days=6, per_hour=10, shift_day=3)
    moved = pd.to_datetime(frame["ts"]) >= pd.Timestamp("2024-01-04", tz="UTC")
    frame.loc[moved, "x2"] += 3.0  # a covariate shift on day 3
    frame.to_csv(tmp_path / "events.csv", index=False)
    training = {
        "mode": "stateful",
        "window": "2d",
        "holdout": "6h",
        "min_rows": 50,
        "recalibration": {"every": 3, "psi_threshold": 1.0},
        "forgetting": {"windows": 2},
    }
    pipeline = Pipeline.open(load_config(write_spec(tmp_path, training=training)))
    try:
        run_replay(pipeline, step=timedelta(hours=12))
        versions = {v.version: v for v in pipeline.registry.versions("churn")}
        modes = [versions[f"1.{n}"].lineage.mode for n in range(6)]
        assert (
            modes
            == [TrainingMode.STATELESS] + [TrainingMode.STATEFUL] * 3 + [TrainingMode.STATELESS] * 2
        )
        scheduled, drifted = (
            versions["1.4"].metrics["recalibration"],
            versions["1.5"].metrics["recalibration"],
        )
        assert (
            scheduled["from_scratch"]
            and scheduled["reason"] == "3 stateful updates in a row (every: 3)"
        )
        assert (
            drifted["from_scratch"]
            and drifted["reason"].startswith("drift: PSI of x2")
            and drifted["max_psi"] >= 1.0
        )
        assert versions["1.1"].metrics["recalibration"]["from_scratch"] is False
        forgetting = versions["1.3"].metrics["forgetting"]
        assert [w["version"] for w in forgetting["windows"]] == [
            "1.2",
            "1.1",
        ]  # the parent's and grandparent's snapshots
        assert forgetting["metric"] == "roc_auc" and forgetting["before"] > 0.5
        assert versions["1.3"].metrics["forgetting_roc_auc"] == pytest.approx(
            forgetting["before"] - forgetting["after"]
        )
        # After the concept shift, fitting the new concept costs accuracy on the old one.
        assert versions["1.5"].metrics["forgetting_roc_auc"] > 0.05
        assert "forgetting" not in versions["1.0"].metrics
        assert reproduce(pipeline, "churn", "1.4").matched  # a recalibrated version reproduces too
    finally:
        pipeline.close()


def test_families_that_are_not_bit_exact_reproduce_within_the_tolerance(tmp_path: Path) -> None:
    write_stream(tmp_path / "events.csv", days=3, per_hour=10)
    model = {
        "kind": "sklearn",
        "estimator": "sklearn.linear_model.SGDClassifier",
        "params": {"loss": "log_loss", "random_state": 0},
    }
    pipeline = Pipeline.open(
        load_config(
            write_spec(
                tmp_path,
                model=model,
                training={"mode": "stateful", "window": "2d", "holdout": "6h", "min_rows": 50},
            )
        )
    )
    try:
        run_replay(pipeline, step=timedelta(hours=12))
        report = reproduce(
            pipeline, "churn", pipeline.registry.versions("churn")[-1].version, tolerance=1e-9
        )
        assert report.matched and not report.exact and report.tolerance == 1e-9
        assert any("within 1e-09" in line for line in report.lines())
    finally:
        pipeline.close()
