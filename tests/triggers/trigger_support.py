"""A pipeline on a stream whose inputs and concept can shift, trained once, for data-driven trigger tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pipeline_support import write_spec

from lifelong.config import load_config
from lifelong.ingest import ingest_once
from lifelong.orchestrator import Orchestrator
from lifelong.runtime import Pipeline
from lifelong.triggers import Decision

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def write_shifting_stream(path: Path, *, days: int = 5, per_hour: int = 40, shift_day: int | None = 3,
                          input_shift: float = 1.5, shift_column: int = 0, flip: bool = True, seed: int = 0) -> None:
    """Input ``shift_column`` moves by ``input_shift`` and (with ``flip``) the concept on x1 turns over from ``shift_day``."""
    rng = np.random.default_rng(seed)
    n = days * 24 * per_hour
    times = pd.date_range(T0, periods=n, freq=pd.Timedelta(hours=1) / per_hour)
    after = np.zeros(n, dtype=bool) if shift_day is None else np.asarray(times >= T0 + timedelta(days=shift_day))
    x = rng.normal(size=(n, 3))
    x[after, shift_column] += input_shift
    w1 = np.where(after & flip, -2.0, 2.0)
    logit = w1 * x[:, 0] + x[:, 1]
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    pd.DataFrame({"ts": times.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "id": [f"e{i}" for i in range(n)], "x1": x[:, 0],
                  "x2": x[:, 1], "x3": x[:, 2], "segment": rng.choice(["a", "b"], size=n), "y": y}).to_csv(path, index=False)


def trained_pipeline(tmp_path: Path, *, triggers: list[dict[str, Any]], train_at: datetime = T0 + timedelta(days=2), **stream: Any) -> tuple[Pipeline, Orchestrator]:
    """Ingest the stream, train the champion at ``train_at``; the caller closes the pipeline."""
    write_shifting_stream(tmp_path / "events.csv", **stream)
    spec = write_spec(tmp_path, triggers={"triggers": triggers}, training={"mode": "stateless", "window": "2d", "holdout": "12h", "min_rows": 100})
    pipeline = Pipeline.open(load_config(spec))
    ingest_once(pipeline)
    orchestrator = Orchestrator(pipeline)
    orchestrator.update(train_at, Decision(True, "manual", "first version"))
    return pipeline, orchestrator
