"""``lifelong ingest``: the source → event store process (long-running, or ``--once``)."""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer

from lifelong.cli.app import ConfigOption, _config, _emit, app, handled, progress_display, ticking


@app.command()
def ingest(
    config: ConfigOption = Path("lifelong.yaml"),
    once: Annotated[
        bool | None,
        typer.Option(
            "--once/--follow",
            help="--once: read what the source holds now, then exit. --follow: keep reading until SIGTERM. "
            "Default: --once for a file source, --follow for Kafka, Redis Streams and SQL.",
        ),
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option("--metrics-port", min=0, max=65535, help="Serve Prometheus metrics on this port (0: any free one).")
    ] = None,
    metrics_host: Annotated[str, typer.Option("--metrics-host", help="Address of the metrics server.")] = "127.0.0.1",
    max_in_flight: Annotated[
        int, typer.Option("--max-in-flight", min=1, help="Batches queued for the store at most (backpressure); "
                          "the store writes what is queued as one group.")
    ] = 16,
    poll: Annotated[float, typer.Option("--poll", min=0.01, help="Seconds between polls of a caught-up file or SQL source.")] = 1.0,
) -> None:
    """Read the source into the event store: valid events stored once by id, bad ones dead-lettered with reasons.

    Positions are committed (Kafka offsets, Redis XACK, checkpoint file) only after a batch is
    durably stored. SIGTERM or Ctrl-C stores and commits what was read, then exits 0. Prints the
    totals as JSON at the end; on a terminal, stderr shows the events stored and dead-lettered so far.
    """
    from lifelong.config import FileSourceConfig
    from lifelong.ingest import IngestTarget
    from lifelong.ingest_process import IngestOptions, IngestProcess

    with handled():
        pipeline = IngestTarget.open(_config(config), project_dir=config.resolve().parent)
        follow = not once if once is not None else not isinstance(pipeline.config.source, FileSourceConfig)
        options = IngestOptions(
            follow=follow, max_in_flight=max_in_flight, poll=poll, metrics_port=metrics_port, metrics_host=metrics_host
        )
        process = IngestProcess(pipeline, options)

        def stop(signum: int, frame: FrameType | None) -> None:
            process.stop()

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            port = process.serve_metrics()
            if port is not None:
                typer.echo(f"ingest: metrics on http://{metrics_host}:{port}/metrics", err=True)
            if follow:
                typer.echo(f"ingest: following source {pipeline.config.source.kind!r} into {pipeline.config.home} (SIGTERM stops)", err=True)
            with progress_display() as progress:
                task = progress.add_task("ingest", total=None)

                def refresh() -> None:
                    seen = dict(process.totals)
                    progress.update(
                        task,
                        completed=seen.get("written", 0),
                        description=f"ingest: {seen.get('written', 0):,} events stored, {seen.get('dead_letters', 0):,} dead letters, "
                        f"{seen.get('duplicates', 0):,} duplicates",
                    )

                with ticking(progress, refresh):
                    totals = process.run()
            report: dict[str, Any] = dict(totals)
            if any(gate.kind == "label_quality" for gate in pipeline.config.evaluation.gates):
                from lifelong.evaluation.poisoning import screen_for

                screen = screen_for(pipeline.evaluator.gates, pipeline.store)
                if screen is not None:  # flagged sources, their throttle and held-back events
                    report["flagged_sources"] = screen.quarantine.status()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            pipeline.close()
        _emit(report)
