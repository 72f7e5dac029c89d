"""Progress of long work: drawn on stderr on a terminal, never mixed into what stdout prints."""

from __future__ import annotations

import importlib
import io
import json
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from pipeline_support import write_spec, write_stream
from rich.console import Console
from typer.testing import CliRunner

from lifelong.cli import app

cli_app = importlib.import_module("lifelong.cli.app")  # the module: the package's `app` is the Typer app

BAR = "━"


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the command line's stderr console behave as a wide terminal (under CliRunner's capture)."""
    monkeypatch.setattr(cli_app, "errors", Console(stderr=True, force_terminal=True, width=240))


def _pipeline(tmp_path: Path) -> Path:
    write_stream(tmp_path / "events.csv", days=3)
    return write_spec(tmp_path)


def test_the_display_is_off_without_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_app, "errors", Console(file=io.StringIO()))
    assert cli_app.progress_display().disable
    monkeypatch.setattr(cli_app, "errors", Console(file=io.StringIO(), force_terminal=True))
    assert not cli_app.progress_display().disable
    assert cli_app.progress_display(enabled=False).disable  # what --json asks for
    assert cli_app.progress_display().console is cli_app.errors


def test_ingest_run_and_retrain_draw_progress_on_stderr_and_keep_stdout_clean(tmp_path: Path, terminal: None) -> None:
    spec = _pipeline(tmp_path)
    runner = CliRunner()
    ingest = runner.invoke(app, ["ingest", "-c", str(spec), "--once"])
    assert ingest.exit_code == 0, ingest.output
    totals = json.loads(ingest.stdout)
    assert totals["written"] == 1440
    assert "ingest: 1,440 events stored, 0 dead letters" in ingest.stderr and BAR in ingest.stderr

    run = runner.invoke(app, ["run", "-c", str(spec), "--step", "12h"])
    assert run.exit_code == 0, run.output
    summary = json.loads(run.stdout)
    made = [update for update in summary["updates"] if "version" in update]
    assert made, summary
    last = made[-1]
    verdict = "promoted" if last["promoted"] else "not promoted"
    assert f"churn: {summary['rows']:,} events, {summary['dead_letters']:,} dead letters" in run.stderr
    assert f"last {last['version']} {verdict}" in run.stderr and "checked 2024-01-0" in run.stderr
    assert "{" not in run.stderr

    retrain = runner.invoke(app, ["retrain", "churn", "-c", str(spec), "--from-scratch"])
    assert retrain.exit_code == 0, retrain.output
    assert retrain.stdout.startswith("churn ") and BAR not in retrain.stdout
    assert "churn: trained" in retrain.stderr


def test_reproduce_json_has_no_progress(tmp_path: Path, terminal: None) -> None:
    spec = _pipeline(tmp_path)
    runner = CliRunner()
    assert runner.invoke(app, ["run", "-c", str(spec), "--step", "1d"]).exit_code == 0
    shown = runner.invoke(app, ["reproduce", "churn", "1.0", "-c", str(spec)])
    assert shown.exit_code == 0, shown.output
    assert "churn 1.0: rebuilt" in shown.stderr
    as_json = runner.invoke(app, ["reproduce", "churn", "1.0", "-c", str(spec), "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["matched"] is True
    assert as_json.stderr == ""


def test_without_a_terminal_run_and_ingest_print_only_json(tmp_path: Path) -> None:
    spec = _pipeline(tmp_path)
    for args in (["ingest", "--once"], ["run", "--step", "12h"]):
        done = subprocess.run(
            [sys.executable, "-c", "from lifelong.cli import main; main()", *args, "-c", str(spec)],
            cwd=tmp_path, capture_output=True, text=True, timeout=240, check=False,
        )
        assert done.returncode == 0, done.stderr
        assert isinstance(json.loads(done.stdout), dict)
        assert BAR not in done.stderr and "events" not in done.stderr


def test_the_benchmark_runner_shows_one_task_per_benchmark(
    tmp_path: Path, terminal: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks import run as runner

    stored: dict[str, Any] = {}
    for name, fails in (("fast", False), ("broken", True)):
        module = types.ModuleType(f"benchmarks.{name}")

        def measure(*, quick: bool, fails: bool = fails, name: str = name) -> dict[str, Any]:
            if fails:
                raise RuntimeError(f"{name} cannot measure")
            return {"quick": quick}

        setattr(module, "run", measure)
        setattr(module, "describe", lambda result, name=name: f"## {name}\n")
        monkeypatch.setitem(sys.modules, f"benchmarks.{name}", module)
    monkeypatch.setattr(runner, "available", lambda: ["fast", "broken"])
    monkeypatch.setattr(runner, "ROOT", tmp_path)
    monkeypatch.setattr(runner, "write_result", lambda name, result: stored.__setitem__(name, result))
    monkeypatch.setattr(runner, "read_result", lambda name: stored.get(name))
    assert runner.main(["--quick"]) == 1
    out, err = capsys.readouterr()
    assert stored == {"fast": {"quick": True}}
    assert "fast: done" in err and "broken: failed" in err and "1/1" in err and "0/1" in err
    assert "== fast" in out and "== broken" in out and BAR not in out
    assert (tmp_path / "BENCHMARKS.md").read_text().count("## fast") == 1
