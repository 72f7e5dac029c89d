"""The new kinds in the real loop: replay a stream, get stateful versions 1.0 -> 1.1 -> ..."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from learner_support import require_torch
from pipeline_support import write_spec, write_stream

from lifelong.config import load_config
from lifelong.ingest import run_replay
from lifelong.registry.types import TrainingMode
from lifelong.runtime import Pipeline


@pytest.mark.parametrize(
    "model",
    [
        {"kind": "xgboost", "n_estimators": 20, "update_estimators": 5, "max_depth": 3},
        {"kind": "torch_mlp", "hidden": [8], "epochs": 5, "update_epochs": 2},
        {"kind": "torch_embedding", "hidden": [8], "embedding_dim": 2, "epochs": 5},
    ],
    ids=["xgboost", "torch_mlp", "torch_embedding"],
)
def test_replay_trains_stateful_versions(tmp_path: Path, model: dict[str, Any]) -> None:
    if model["kind"].startswith("torch"):
        require_torch()
    write_stream(tmp_path / "events.csv", days=3)
    pipeline = Pipeline.open(load_config(write_spec(tmp_path, model=model)))
    try:
        run_replay(pipeline, step=timedelta(hours=12))
        versions = pipeline.registry.versions("churn")
        assert [v.version for v in versions][:2] == ["1.0", "1.1"]
        assert versions[1].lineage.mode is TrainingMode.STATEFUL and versions[1].parent == "1.0"
        champion = pipeline.registry.alias_version("churn", "champion")
        assert champion in {v.version for v in versions}
    finally:
        pipeline.close()
