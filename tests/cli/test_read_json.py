"""``--json`` on every read command, on a small real pipeline: stdout is one JSON document, stderr stays empty."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from pipeline_support import write_spec, write_stream
from rich.console import Console
from typer.testing import CliRunner

from lifelong.cli import app

cli_app = importlib.import_module("lifelong.cli.app")

# Commands with a --json flag that change state: their JSON is tested where they are.
WRITES = {
    "labels import": "stores human labels (tests/labels/test_queue.py)",
    "quarantine release": "clears a flagged source (tests/cli/test_quarantine_cli.py)",
}

Check = Callable[[Any], bool]
READS: dict[str, tuple[list[str], Check]] = {
    "versions": (["versions", "churn"], lambda data: [v["version"] for v in data][:2] == ["1.0", "1.1"]),
    "lineage": (["lineage", "churn", "1.1"], lambda data: [v["version"] for v in data["chain"]] == ["1.1", "1.0"] and data["aliases"]),
    "report": (["report", "churn", "1.1"], lambda data: data["version"] == "1.1" and data["evaluation"]["gates"]),
    "monitor": (["monitor", "churn", "--window", "12h", "--windows", "4"], lambda data: data["model"] == "churn" and len(data["windows"]) == 4),
    "labels stats": (["labels", "stats"], lambda data: isinstance(data["stats"], dict) and "label_sources" in data),
    "reproduce": (["reproduce", "churn", "1.1"], lambda data: data["matched"] is True),
    "quarantine list": (["quarantine", "list"], lambda data: data == []),
    "retention apply": (
        ["retention", "apply", "--older-than", "1d", "--dry-run", "--now", "2024-01-04T00:00"],
        lambda data: data["dry_run"] is True and data["rows_deleted"] > 0 and data["deleted"],
    ),
}


def _json_commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[str]:
    """Every command under ``group`` with a boolean ``--json`` flag, as 'group command'."""
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            yield from _json_commands(command, (*path, name))
        elif any("--json" in getattr(p, "opts", []) and getattr(p, "is_flag", False) for p in command.params):
            yield " ".join((*path, name))


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three days of the drifting stream, run through the loop (versions 1.0, 1.1, ...)."""
    folder = tmp_path_factory.mktemp("read-json")
    write_stream(folder / "events.csv", days=3)
    spec = write_spec(folder)
    result = CliRunner().invoke(app, ["run", "-c", str(spec), "--step", "12h"])
    assert result.exit_code == 0, result.output
    return spec


def test_every_json_read_command_is_walked() -> None:
    found = set(_json_commands(typer.main.get_command(app)))
    assert found == set(READS) | set(WRITES), f"add the new command to READS or WRITES: {sorted(found ^ (set(READS) | set(WRITES)))}"


@pytest.mark.parametrize("name", sorted(READS))
def test_read_command_json_parses(name: str, pipeline: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # stderr as a terminal: a progress display or a note leaking next to --json would show up
    monkeypatch.setattr(cli_app, "errors", Console(stderr=True, force_terminal=True, width=200))
    arguments, check = READS[name]
    result = CliRunner().invoke(app, [*arguments, "-c", str(pipeline), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert check(data), data
    assert result.stderr == ""
