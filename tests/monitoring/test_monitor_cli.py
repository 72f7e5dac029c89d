"""``lifelong monitor``: drift and performance per window, as tables with sparklines or JSON."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from lifelong.cli import app
from lifelong.cli.monitor import sparkline

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "triggers"))
from trigger_support import T0, trained_pipeline  # noqa: E402


def test_monitor_shows_the_shift_window_by_window(tmp_path: Path) -> None:
    pipeline, _ = trained_pipeline(tmp_path, triggers=[{"kind": "interval", "every": "30d"}])
    pipeline.close()
    spec = str(tmp_path / "lifelong.yaml")
    at = (T0 + timedelta(days=5)).isoformat()
    result = CliRunner().invoke(app, ["monitor", "churn", "-c", spec, "--window", "12h", "--windows", "6", "--at", at, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["champion"] == "1.0" and data["metric"] == "roc_auc" and data["baseline"] > 0.8
    windows = data["windows"]
    assert [w["start"][:13] for w in windows][0] == "2024-01-03T00" and len(windows) == 6
    before, after = windows[:2], windows[2:]
    assert all(w["drifted"] == [] for w in before) and all("x1" in w["drifted"] for w in after)
    assert all(w["measured"] < 0.5 for w in after) and all(w["measured"] > 0.8 for w in before)
    assert all(w["estimated"] is not None and w["complete"] for w in windows)

    table = CliRunner().invoke(app, ["monitor", "churn", "-c", spec, "--window", "12h", "--windows", "6", "--at", at])
    assert table.exit_code == 0 and "x1" in table.output and "estimated roc_auc (CBPE)" in table.output

    unknown = CliRunner().invoke(app, ["monitor", "nosuch", "-c", spec])
    assert unknown.exit_code == 2 and "expected 'churn'" in unknown.output
    naive = CliRunner().invoke(app, ["monitor", "churn", "-c", spec, "--at", "2024-01-05T00:00:00"])
    assert naive.exit_code == 2 and "--at: expected a time with its zone" in naive.output


def test_sparkline_scales_and_marks_gaps() -> None:
    assert sparkline([0.0, 0.25, 0.5, 0.75, 1.0], low=0.0, high=1.0) == "▁▃▅▆█"
    assert sparkline([None, None]) == "  "
    assert sparkline([0.3, 0.3]) == "▅▅"
