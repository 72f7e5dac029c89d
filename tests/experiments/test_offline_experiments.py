"""``lifelong experiment freshness`` and ``iteration`` on a stream whose concept drifts steadily."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from lifelong.cli import app


def drifting_csv(tmp_path: Path, rows: int = 3000) -> Path:
    """One row an hour; the class boundary on ``x`` moves across the stream; ``noise`` is irrelevant."""
    rng = np.random.default_rng(3)
    x = rng.uniform(-2, 2, size=rows)
    boundary = np.linspace(-1.5, 1.5, rows)
    frame = pd.DataFrame({
        "time": pd.date_range("2023-01-01", periods=rows, freq="h").strftime("%Y-%m-%dT%H:%M:%S"),
        "x": x,
        "noise": rng.normal(size=rows),
        "colour": rng.choice(["red", "blue"], size=rows),
        "target": (x > boundary).astype(int),
    })
    path = tmp_path / "drift.csv"
    frame.to_csv(path, index=False)
    return path


def test_freshness_shows_the_gain_of_fresh_data_and_writes_its_outputs(tmp_path: Path) -> None:
    out = tmp_path / "fresh"
    result = CliRunner().invoke(app, [
        "experiment", "freshness", "--data", str(drifting_csv(tmp_path)), "--timestamp", "time", "--target", "target",
        "--ages", "1d,7d,14d,30d", "--window", "10d", "--horizon", "2d", "--todays", "5", "--out", str(out),
    ])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "freshness.json").read_text())
    accuracy = [row["accuracy"] for row in report["ages"]]
    assert accuracy[0] > accuracy[-1] + 0.05 and report["gain_freshest_vs_oldest"] > 0.05
    assert report["recommended_interval"] in {"1d", "7d"}
    assert (out / "freshness.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<html>" in (out / "freshness.html").read_text()[:200]


def test_freshness_refuses_ages_the_stream_cannot_hold(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [
        "experiment", "freshness", "--data", str(drifting_csv(tmp_path, rows=500)), "--timestamp", "time",
        "--target", "target", "--ages", "30d,60d", "--window", "7d", "--out", str(tmp_path / "o"),
    ])
    assert result.exit_code == 2
    assert "--ages: expected at least two ages that fit the stream" in " ".join(result.output.split())


def test_iteration_compares_compute_and_gain(tmp_path: Path) -> None:
    out = tmp_path / "iter"
    result = CliRunner().invoke(app, [
        "experiment", "iteration", "--data", str(drifting_csv(tmp_path)), "--timestamp", "time", "--target", "target",
        "--window", "10d", "--staleness", "20d", "--horizon", "2d", "--nows", "3", "--out", str(out),
    ])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "iteration.json").read_text())
    options = {row["option"]: row for row in report["options"]}
    assert set(options) == {"architecture", "more-features", "hyperparameter-search", "stateful-update", "stateless-retrain"}
    assert options["stateless-retrain"]["gain"] > 0.05  # the boundary moved: fresh data is what helps
    assert options["hyperparameter-search"]["cpu_s"] > options["stateless-retrain"]["cpu_s"]
    assert report["best_data_iteration"] == "stateless-retrain" and "beats" in report["verdict"]
    assert (out / "iteration.png").exists() and (out / "iteration.html").exists()
