"""XGBoost versions reproduce exactly from their lineage; stateful updates replay a share of older rows
(a fraction above 1 replays more older rows than new ones)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pipeline_support import write_spec, write_stream

from lifelong.config import load_config
from lifelong.ingest import run_replay
from lifelong.registry.types import TrainingMode
from lifelong.runtime import Pipeline
from lifelong.training.reproduce import reproduce
from lifelong.training.snapshot import read_snapshot


def _replay(folder: Path, **overrides: object) -> Pipeline:
    write_stream(folder / "events.csv", days=4)
    pipeline = Pipeline.open(load_config(write_spec(folder, **overrides)), project_dir=folder)
    run_replay(pipeline, step=timedelta(hours=12))
    return pipeline


def test_xgboost_versions_reproduce_bit_for_bit(tmp_path: Path) -> None:
    model = {"kind": "xgboost", "n_estimators": 20, "update_estimators": 5, "max_depth": 3, "nthread": 1}
    pipeline = _replay(tmp_path, model=model)
    try:
        versions = pipeline.registry.versions("churn")
        stateful = [v for v in versions if v.lineage.mode is TrainingMode.STATEFUL]
        assert versions[0].learner_kind == "xgboost" and stateful
        for version in (versions[0], stateful[-1]):
            report = reproduce(pipeline, "churn", version.version)
            assert report.matched and report.exact and report.max_abs_diff == 0.0, report.lines()
    finally:
        pipeline.close()


@pytest.mark.parametrize("fraction", [0.0, 0.5, 2.0])
def test_stateful_updates_replay_the_configured_share_of_older_rows(tmp_path: Path, fraction: float) -> None:
    window = "4d" if fraction > 1 else "2d"  # a window long enough to hold twice the new rows
    training = {"mode": "stateful", "window": window, "holdout": "6h", "min_rows": 100, "replay_fraction": fraction}
    pipeline = _replay(tmp_path, training=training)
    try:
        updates = [v for v in pipeline.registry.versions("churn") if v.lineage.mode is TrainingMode.STATEFUL]
        assert updates
        exact = 0
        for version in updates:
            parent = pipeline.registry.get("churn", version.lineage.parent)  # type: ignore[arg-type]
            seen_until = parent.lineage.snapshot.end  # type: ignore[union-attr]
            frame = read_snapshot(pipeline.registry.artifacts, version.lineage.snapshot)  # type: ignore[arg-type]
            older = int((frame["event_time"] < seen_until).sum())
            fresh = len(frame) - older
            assert fresh > 0
            if fraction == 0.0:
                assert older == 0  # only the rows the parent has not seen
            else:  # the share asked for, as far as the window holds older rows
                assert 0 < older <= round(fraction * fresh), (older, fresh)
                exact += older == round(fraction * fresh)
        assert fraction == 0.0 or exact >= 1  # once the window holds enough older rows, the share is exact
    finally:
        pipeline.close()


def test_replay_fraction_is_validated_with_the_field_named() -> None:
    from pydantic import ValidationError

    from lifelong.config.training import TrainingConfig

    assert TrainingConfig(replay_fraction=12).replay_fraction == 12.0  # 12 older rows per new row
    for bad in (-0.5, 101):
        with pytest.raises(ValidationError, match="replay_fraction"):
            TrainingConfig(replay_fraction=bad)
