"""The ``lifelong`` Typer app and what every command shares: errors, exit codes, output.

Exit codes: 0 success; 1 the operation failed (training, registry conflict, I/O);
2 bad input (invalid config or arguments, unknown model or version, invalid data).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from lifelong.config import PipelineConfig, load_config
from lifelong.errors import (
    ConfigError,
    DataError,
    LifelongError,
    NotFoundError,
    ValidationError,
)

EXIT_CODES = """Exit codes: 0 success · 1 the operation failed · 2 bad input (config, arguments, unknown model or version, invalid data)."""
BAD_INPUT = (ConfigError, ValidationError, NotFoundError, DataError)

app = typer.Typer(
    name="lifelong",
    help=f"Continual learning for models in production: ingest, label, train statefully, gate, deploy.\n\n{EXIT_CODES}",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
errors = Console(stderr=True)

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Pipeline spec.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def fail(error: LifelongError) -> NoReturn:
    code = 2 if isinstance(error, BAD_INPUT) else 1
    errors.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def handled() -> Iterator[None]:
    """Turn lifelong errors into a one-line message and an exit code; never a traceback."""
    try:
        yield
    except LifelongError as error:
        fail(error)


def _config(path: Path) -> PipelineConfig:
    return load_config(path)


def _pipeline(path: Path) -> Any:
    from lifelong.runtime import Pipeline

    return Pipeline.open(_config(path), project_dir=path.resolve().parent)


def _emit(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=False
    )


def main() -> None:
    """Console entry point."""
    import lifelong.cli  # noqa: F401  # registers every command on the app

    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


__all__ = ["BAD_INPUT", "EXIT_CODES", "ConfigOption", "JsonFlag", "app", "console", "errors", "fail", "handled", "main"]
