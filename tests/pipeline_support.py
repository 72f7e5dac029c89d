"""A small drifting CSV stream and its pipeline spec, for loop tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml


def write_stream(path: Path, *, days: int = 6, per_hour: int = 20, shift_day: int = 3, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = days * 24 * per_hour
    times = pd.date_range("2024-01-01", periods=n, freq=pd.Timedelta(hours=1) / per_hour, tz="UTC")
    x = rng.normal(size=(n, 3))
    flipped = np.asarray(times >= pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(days=shift_day))
    w = np.where(flipped[:, None], [-1.5, 1.0, 0.0], [1.5, 1.0, 0.0])
    logit = (x * w).sum(axis=1)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame({"ts": times.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "id": [f"e{i}" for i in range(n)],
                          "x1": x[:, 0], "x2": x[:, 1], "x3": x[:, 2],
                          "segment": rng.choice(["a", "b"], size=n), "y": y})
    frame.to_csv(path, index=False)
    return frame


def spec(tmp_path: Path, *, registry_url: str | None = None, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "churn",
        "home": str(tmp_path / "home"),
        "source": {"kind": "file", "path": str(tmp_path / "events.csv"), "timestamp": "ts", "id_column": "id", "batch_size": 500},
        "labels": {"kind": "column", "column": "y"},
        "features": {"kind": "tabular", "numeric": ["x1", "x2", "x3"], "categorical": {"segment": ["a", "b"]}},
        "model": {"kind": "lightgbm", "n_estimators": 30, "update_estimators": 10, "num_leaves": 7},
        "training": {"mode": "stateful", "window": "2d", "holdout": "6h", "min_rows": 100},
        "evaluation": {"metric": "roc_auc", "gates": [{"kind": "not_worse", "tolerance": 0.01}]},
        "triggers": {"triggers": [{"kind": "interval", "every": "1d"}]},
    }
    if registry_url is not None:
        data["registry_url"] = registry_url
    data.update(overrides)
    return data


def write_spec(tmp_path: Path, **kwargs: Any) -> Path:
    path = tmp_path / "lifelong.yaml"
    path.write_text(yaml.safe_dump(spec(tmp_path, **kwargs), sort_keys=False))
    return path
