"""Every command's ``--help`` ends with the exit codes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer
from typer.testing import CliRunner

from lifelong.cli import app
from lifelong.cli.app import EXIT_CODES


def _commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command and group under ``group`` (Typer's click group), as argument paths."""
    for name, command in sorted(group.commands.items()):
        yield (*path, name)
        if hasattr(command, "commands"):
            yield from _commands(command, (*path, name))


def _words(text: str) -> str:
    return " ".join(text.split())


def test_every_command_help_ends_with_the_exit_codes() -> None:
    root = typer.main.get_command(app)
    paths = [(), *_commands(root)]
    assert {("run",), ("ingest",), ("retrain",), ("simulate",), ("labels", "stats"), ("experiment", "freshness")} <= set(paths)
    runner = CliRunner()
    expected = _words(EXIT_CODES)
    missing = []
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], terminal_width=100)
        assert result.exit_code == 0, (path, result.output)
        if not _words(result.output).endswith(expected):
            missing.append(" ".join(path) or "lifelong")
    assert missing == [], f"--help without the exit codes at its end: {missing}"
