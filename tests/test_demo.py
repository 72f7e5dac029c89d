"""The demo runs the real loop and shows the continually updated model winning after the shift."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lifelong.cli import app
from lifelong.config import load_config
from lifelong.demo import run_demo
from lifelong.registry import Registry


def test_demo_adapts_after_the_shift_and_records_lineage(tmp_path: Path) -> None:
    summary = run_demo(tmp_path, days=9, impressions_per_day=900, shift_day=5, seed=3).to_dict()
    assert set(summary) >= {"versions", "daily", "promotions", "rejections"}
    after = [row for row in summary["daily"] if row["day"] >= 7]  # days after the shift day (6)
    assert after and all(row["higher_is_better"] for row in after)
    for row in after:
        assert row["lifelong_metric"] > row["static_metric"] + 0.02, row

    versions = summary["versions"]
    data_iterations = [v for v in versions if v["iteration"] == "data" and v["parent"]]
    assert len(data_iterations) >= 3
    names = {v["version"] for v in versions}
    assert all(v["parent"] in names for v in data_iterations)
    assert versions[0]["version"] == "1.0" and versions[0]["parent"] is None
    assert all(v["mode"] == "stateful" for v in data_iterations)
    assert all(v["trigger"] == "cron" for v in versions)

    registry = Registry.open(Path(summary["home"]))
    try:
        champion = registry.alias_version("ctr", "champion")
        assert champion is not None
        chain = registry.lineage("ctr", champion)
        assert chain[-1].version == "1.0"
        assert all(v.lineage.snapshot is not None and v.lineage.snapshot.rows > 0 for v in chain)
        promoted = [c.to_version for c in registry.alias_history("ctr", "champion")]
        assert promoted == [row["version"] for row in sorted(summary["promotions"], key=lambda r: r["day"])]
    finally:
        registry.close()


def test_a_relative_workdir_leaves_a_spec_that_finds_the_demo_from_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    summary = run_demo(Path("demo-run"), days=4, impressions_per_day=400, shift_day=2, seed=5).to_dict()
    created = [v["version"] for v in summary["versions"]]
    assert created
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = CliRunner().invoke(app, ["versions", "ctr", "-c", "../demo-run/lifelong.yaml", "--json"])
    assert result.exit_code == 0, result.output
    listed = [row["version"] for row in json.loads(result.output)]
    assert listed == created
    assert load_config(Path("../demo-run/lifelong.yaml")).home == (tmp_path / "demo-run" / "home").resolve()
