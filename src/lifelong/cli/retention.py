"""``lifelong retention``: delete raw event partitions older than a horizon."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lifelong.cli.app import ConfigOption, JsonFlag, _emit, _pipeline, app, console, handled
from lifelong.cli.labels import NowOption, _now

retention_app = typer.Typer(
    name="retention",
    help="Retention of raw events: snapshots stay, versions are marked not reproducible from raw data.",
    no_args_is_help=True,
)
app.add_typer(retention_app, name="retention")


@retention_app.command("apply")
def apply(
    older_than: Annotated[
        str, typer.Option("--older-than", help="Delete whole days older than this (e.g. 90d).")
    ],
    config: ConfigOption = Path("lifelong.yaml"),
    stream: Annotated[
        list[str] | None,
        typer.Option("--stream", help="Only this stream (repeatable; default: all)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be deleted; change nothing.")
    ] = False,
    now: NowOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Delete raw event partitions older than --older-than; mark the versions that used them."""
    from lifelong.durations import parse_duration
    from lifelong.events.retention import apply_retention

    with handled():
        horizon = parse_duration(older_than, field="--older-than")
        pipeline = _pipeline(config)
        report = apply_retention(
            pipeline.store,
            pipeline.registry,
            horizon,
            now=_now(now),
            streams=stream or None,
            dry_run=dry_run,
        )
        if as_json:
            _emit(report.to_dict())
            return
        verb = "would delete" if dry_run else "deleted"
        days = sum(len(found) for found in report.deleted.values())
        console.print(
            f"{verb} {days} day partition(s), {report.rows_deleted} rows, before {report.cutoff.isoformat()} "
            f"in {', '.join(report.deleted) or 'no stream'}; versions no longer reproducible from raw events: "
            f"{', '.join(report.marked) or 'none'}"
        )


__all__ = ["retention_app"]
