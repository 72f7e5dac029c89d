"""``lifelong simulate --report`` writes the report that ``report-html --simulation`` writes."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline_support import write_stream
from typer.testing import CliRunner

from lifelong.cli import app


def test_simulate_report_is_the_report_html_of_its_results(tmp_path: Path) -> None:
    write_stream(tmp_path / "events.csv", days=2, per_hour=15)
    runner = CliRunner()
    simulated = runner.invoke(app, [
        "simulate", "--data", str(tmp_path / "events.csv"), "--timestamp", "ts", "--target", "y", "--drop", "id",
        "--policy", "static", "--policy", "stateful-daily",
        "--json", str(tmp_path / "sim.json"), "--report", str(tmp_path / "out" / "sim.html"),
    ])
    assert simulated.exit_code == 0, simulated.output
    assert "report:" in simulated.stdout and "sim.html" in simulated.stdout
    results = json.loads((tmp_path / "sim.json").read_text())
    written = (tmp_path / "out" / "sim.html").read_text()
    assert written.lstrip().lower().startswith("<!doctype html>")
    for policy in results["policies"]:
        assert policy in written
    reported = runner.invoke(app, [
        "report-html", "-c", str(tmp_path / "absent.yaml"), "--simulation", str(tmp_path / "sim.json"),
        "-o", str(tmp_path / "again.html"),
    ])
    assert reported.exit_code == 0, reported.output
    assert (tmp_path / "again.html").read_text() == written


def test_simulate_report_to_an_unwritable_place_exits_2(tmp_path: Path) -> None:
    write_stream(tmp_path / "events.csv", days=1, per_hour=10)
    (tmp_path / "file").write_text("not a folder")
    result = CliRunner().invoke(app, [
        "simulate", "--data", str(tmp_path / "events.csv"), "--timestamp", "ts", "--target", "y", "--drop", "id",
        "--policy", "static", "--report", str(tmp_path / "file" / "sim.html"),
    ])
    assert result.exit_code == 2, result.output
    assert "--report" in result.stderr and "sim.html" in result.stderr
    assert "Traceback" not in result.output
