"""``lifelong quarantine``: the sources flagged for poisoned labels, and their release.

A ``label_quality`` gate that convicts a source flags it and throttles it
(:mod:`lifelong.sources.quarantine`); these commands show the flags and let an operator clear one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from lifelong.cli.app import ConfigOption, JsonFlag, _config, _emit, app, console, errors, handled
from lifelong.cli.core import _actor
from lifelong.cli.labels import NowOption, _now
from lifelong.errors import ConfigError
from lifelong.sources.quarantine import SourceQuarantine

quarantine_app = typer.Typer(
    name="quarantine",
    help="Sources flagged for poisoned labels by the label_quality gate: list them, release one.",
    no_args_is_help=True,
)
app.add_typer(quarantine_app, name="quarantine")


@contextmanager
def _quarantine(config: Path) -> Iterator[SourceQuarantine | None]:
    """The quarantine of the spec's event store (None without a ``label_quality`` gate)."""
    from lifelong.ingest import IngestTarget, _screen

    target = IngestTarget.open(_config(config), project_dir=config.resolve().parent)
    try:
        screen = _screen(target)
        yield None if screen is None else screen.quarantine
    finally:
        target.close()


@quarantine_app.command("list")
def list_flags(config: ConfigOption = Path("lifelong.yaml"), as_json: JsonFlag = False) -> None:
    """Show the flagged sources: throttle (share of their events admitted), reason, when, by whom, events held back."""
    with handled(), _quarantine(config) as quarantine:
        if quarantine is None and not as_json:
            errors.print("no label_quality gate in evaluation.gates: sources are not screened", highlight=False)
        flags = quarantine.status() if quarantine is not None else []
        if as_json:
            _emit(flags)
            return
        if not flags:
            console.print("no flagged sources")
            return
        table = Table("source", "throttle", "held", "flagged at", "by", "reason")
        for row in flags:
            table.add_row(
                row["source"], f"{row['throttle']:.0%}", f"{row['held']:,}", row["flagged_at"], row["flagged_by"], row["reason"]
            )
        console.print(table)


@quarantine_app.command("release")
def release(
    source: Annotated[str, typer.Argument(help="The flagged source to clear.")],
    config: ConfigOption = Path("lifelong.yaml"),
    reason: Annotated[str, typer.Option(help="Why; kept in the flag history.")] = "released from the command line",
    now: NowOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Clear the flag of SOURCE and move its held-back events into the events stream (each once).

    Recorded in the flag history with who (LIFELONG_ACTOR or USER), when and why. A source that
    is not flagged exits 2.
    """
    with handled(), _quarantine(config) as quarantine:
        if quarantine is None:
            raise ConfigError(
                "evaluation.gates: expected a label_quality gate (it flags sources), got none; nothing to release"
            )
        before = {row["source"]: row for row in quarantine.status()}
        at = _now(now)
        actor = _actor()
        moved = quarantine.release(source, at=at, reason=reason, actor=actor)
        record = {
            "source": source,
            "moved": moved,
            "throttle_was": before[source]["throttle"],
            "released_at": at.isoformat(),
            "released_by": actor,
            "reason": reason,
        }
        if as_json:
            _emit(record)
            return
        console.print(
            f"{source}: released (was throttled to {record['throttle_was']:.0%}); {moved:,} held event(s) moved back to events"
        )


__all__ = ["quarantine_app"]
