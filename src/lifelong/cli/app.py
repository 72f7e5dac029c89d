"""The ``lifelong`` Typer app and what every command shares: errors, exit codes, output.

Exit codes: 0 success; 1 the operation failed (training, registry conflict, I/O);
2 bad input (invalid config or arguments, unknown model or version, invalid data).
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column

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
    help="Continual learning for models in production: ingest, label, train statefully, gate, deploy.",
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


def progress_enabled() -> bool:
    """Whether long work shows a live progress display: only when stderr is a terminal."""
    return errors.is_terminal


def progress_display(*, enabled: bool = True) -> Progress:
    """The one Rich progress display of the command line (and of the benchmark runner).

    It draws on stderr, so what a command prints on stdout (JSON, tables) stays machine-readable;
    it is off when stderr is not a terminal or ``enabled`` is false. Lines printed to stdout while
    it is live are shown above it when stdout is a terminal too, and left alone otherwise.
    """
    live = enabled and progress_enabled()
    return Progress(
        TextColumn("[bold]{task.description}", table_column=Column(overflow="fold")),
        BarColumn(bar_width=20),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=False,
        disable=not live,
        redirect_stdout=live and sys.stdout.isatty(),
        redirect_stderr=live,
    )


@contextmanager
def ticking(progress: Progress, refresh: Callable[[], None], *, every: float = 0.25) -> Iterator[None]:
    """Call ``refresh`` every ``every`` seconds (and once at the end) while ``progress`` is live.

    For work that reports nothing itself: ``refresh`` reads its counters and updates the tasks.
    Nothing runs when the display is off.
    """
    if progress.disable:
        yield
        return
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every):
            refresh()

    thread = threading.Thread(target=loop, name="lifelong-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        refresh()


def document_exit_codes(root: typer.Typer) -> None:
    """End the ``--help`` of ``root`` and of every command and group under it with the exit codes."""
    root.info.epilog = EXIT_CODES
    for command in root.registered_commands:
        command.epilog = EXIT_CODES
    for group in root.registered_groups:
        group.epilog = EXIT_CODES
        if group.typer_instance is not None:
            document_exit_codes(group.typer_instance)


def main() -> None:
    """Console entry point."""
    import lifelong.cli  # noqa: F401  # registers every command on the app

    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


__all__ = [
    "BAD_INPUT",
    "EXIT_CODES",
    "ConfigOption",
    "JsonFlag",
    "app",
    "console",
    "document_exit_codes",
    "errors",
    "fail",
    "handled",
    "main",
    "progress_display",
    "progress_enabled",
    "ticking",
]
