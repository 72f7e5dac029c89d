"""``lifelong run``: the continual-learning daemon for one or many models."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from lifelong.cli.app import _config, _emit, app, handled, progress_display, ticking


@app.command()
def run(
    config: Annotated[
        list[Path] | None, typer.Option("--config", "-c", help="Pipeline spec; repeat for several models.")
    ] = None,
    step: Annotated[str, typer.Option(help="Data clock: check the triggers at every multiple of this much data time (e.g. 1h).")] = "1h",
    clock: Annotated[str, typer.Option(help="'data' replays in the data's time; 'wall' runs on the system clock (and follows).")] = "data",
    follow: Annotated[bool, typer.Option("--follow/--once", help="Keep polling the sources once they are exhausted.")] = False,
    poll: Annotated[str, typer.Option(help="Wait between polls of an exhausted source (e.g. 5s).")] = "5s",
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Also serve each model's champion (host and port from its spec) until interrupted.")] = False,
) -> None:
    """Run ingest, triggers, training, gates and promotion (and serving) until the sources end, or forever with --follow.

    After a crash, run it again: sources resume from their checkpoints, interrupted updates are
    finished, and a trigger firing is never trained twice. Prints each model's summary as JSON.
    On a terminal, stderr shows per model the events ingested, the last trigger check, training
    in progress and the last version with its verdict.
    """
    from lifelong.cli.run_status import RunDisplay
    from lifelong.daemon import ClockMode, Daemon, DaemonOptions
    from lifelong.durations import parse_duration
    from lifelong.errors import ConfigError
    from lifelong.runtime import Pipeline

    with handled():
        paths = config or [Path("lifelong.yaml")]
        if clock not in ("data", "wall"):
            raise ConfigError(f"--clock: expected 'data' or 'wall', got {clock!r}")
        mode: ClockMode = "data" if clock == "data" else "wall"
        options = DaemonOptions(
            step=parse_duration(step, field="--step"),
            clock=mode,
            follow=follow,
            poll=parse_duration(poll, field="--poll").total_seconds(),
            serve=serve,
            admin_token=os.environ.get("LIFELONG_ADMIN_TOKEN"),
            api_token=os.environ.get("LIFELONG_API_TOKEN"),
        )
        pipelines = [Pipeline.open(_config(path), project_dir=path.resolve().parent) for path in paths]
        try:
            daemon = Daemon(pipelines, options)
            with progress_display() as progress:
                if progress.disable:
                    summaries = daemon.run_forever()
                else:
                    display = RunDisplay(progress, daemon.loops)
                    with ticking(progress, display.refresh):
                        summaries = daemon.run_forever()
        finally:
            for pipeline in pipelines:
                pipeline.close()
        _emit(next(iter(summaries.values())) if len(summaries) == 1 else summaries)


__all__ = ["run"]
