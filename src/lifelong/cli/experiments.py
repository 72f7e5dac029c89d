"""Experiment commands: ``lifelong simulate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from lifelong.cli.app import _progress, app, console, handled
from lifelong.durations import parse_duration


@app.command()
def simulate(
    data: Annotated[Path, typer.Option("--data", help="CSV stream, one row per event.")],
    timestamp: Annotated[str, typer.Option("--timestamp", help="Event-time column.")],
    target: Annotated[str, typer.Option("--target", help="Label column (binary or multiclass).")],
    policy: Annotated[list[str] | None, typer.Option("--policy", help="Policy to replay (repeatable); default: 'default'.")] = None,
    label_delay: Annotated[str, typer.Option("--label-delay", help="How long after its event a label arrives (e.g. 30m).")] = "0s",
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the results as JSON here.")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Rows served per batch.")] = 100,
) -> None:
    """Replay a historical stream through update policies and compare served accuracy and cost.

    Policies: static, stateless-daily, stateless-weekly, stateful-hourly, stateful-daily, triggered, default.
    """
    from rich.table import Table

    from lifelong.experiments import POLICIES, profile_stream
    from lifelong.experiments import simulate as run_simulation

    with handled():
        names = policy or ["default"]
        unknown = [name for name in names if name not in POLICIES]
        if unknown:
            from lifelong.errors import ConfigError

            raise ConfigError(f"--policy: expected some of {sorted(POLICIES)}, got {unknown}")
        delay = parse_duration(label_delay, field="--label-delay")
        profile = profile_stream(data, timestamp=timestamp, target=target)
        with _progress() as progress:
            task = progress.add_task("replaying", total=profile.rows * len(names))
            offsets = {name: index * profile.rows for index, name in enumerate(names)}

            def advance(done: int, total: int, label: str) -> None:
                progress.update(task, completed=offsets[label] + done, description=label)

            result = run_simulation(profile, names, label_delay=delay, batch_size=batch_size, progress=advance)
        table = Table(title=f"{data.name}: {result['rows']} rows, label delay {label_delay}")
        for column in ("policy", "accuracy", "samples/s", "train CPU s", "versions", "promotions"):
            table.add_column(column, justify="right")
        for name, row in result["policies"].items():
            table.add_row(name, f"{row['accuracy']:.4f}", f"{row['samples_per_s']}", f"{row['train_cpu_s']:.2f}", str(row["versions"]), str(row["promotions"]))
        console.print(table)
        if json_path is not None:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(json.dumps(result, indent=2))
            console.print(f"results: {json_path}")


__all__ = ["simulate"]
