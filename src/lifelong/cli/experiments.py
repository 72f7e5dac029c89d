"""Experiment commands: ``lifelong simulate``, ``lifelong experiment freshness`` and ``lifelong experiment iteration``."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from lifelong.cli.app import app, console, handled, progress_display
from lifelong.durations import format_duration, parse_duration

experiment_app = typer.Typer(
    name="experiment",
    help="Offline experiments on a historical stream: the value of fresh data, model vs data iteration.",
    no_args_is_help=True,
)
app.add_typer(experiment_app, name="experiment")

DataOption = Annotated[Path, typer.Option("--data", help="CSV stream, one row per event.")]
TimestampOption = Annotated[str, typer.Option("--timestamp", help="Event-time column.")]
TargetOption = Annotated[str, typer.Option("--target", help="Label column (binary or multiclass).")]
DropOption = Annotated[list[str] | None, typer.Option("--drop", help="Column not to use as a feature (repeatable).")]
OutOption = Annotated[Path, typer.Option("--out", help="Folder for the PNG, HTML and JSON outputs.")]


def _table(title: str, rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table(title=title)
    for column in rows[0]:
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(*(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row.values()))
    console.print(table)


@app.command()
def simulate(
    data: DataOption,
    timestamp: TimestampOption,
    target: TargetOption,
    policy: Annotated[list[str] | None, typer.Option("--policy", help="Policy to replay (repeatable); default: 'default'.")] = None,
    label_delay: Annotated[str, typer.Option("--label-delay", help="How long after its event a label arrives (e.g. 30m).")] = "0s",
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the results as JSON here.")] = None,
    drop: DropOption = None,
    context: Annotated[bool, typer.Option("--context/--no-context", help="Add point-in-time context features (last known label, input changes).")] = True,
    batch_size: Annotated[
        int | None, typer.Option(min=1, help="Rows read, served and stored per batch (default: the default policy's update cadence, 250 to 500).")
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write a self-contained HTML report here (as report-html --simulation).")
    ] = None,
) -> None:
    """Replay a historical stream through update policies and compare served accuracy and cost.

    Each row is predicted by the champion serving at that moment, before its label is used.
    Policies: static, stateless-daily, stateless-weekly, stateful-hourly, stateful-daily,
    stateless-periodic, triggered, default. Features are inferred: numeric columns as numbers,
    other columns as categories seen in the first 10% of rows (later values ignored).
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
        profile = profile_stream(data, timestamp=timestamp, target=target, drop=tuple(drop or ()))
        with progress_display() as progress:
            task = progress.add_task("replaying", total=profile.rows * len(names))
            offsets = {name: index * profile.rows for index, name in enumerate(names)}

            def advance(done: int, total: int, label: str) -> None:
                progress.update(task, completed=offsets[label] + done, description=label)

            result = run_simulation(profile, names, label_delay=delay, batch_size=batch_size, context=context, progress=advance)
        table = Table(title=f"{data.name}: {result['rows']} rows, label delay {label_delay}")
        for column in ("policy", "accuracy", "samples/s", "samples/CPU s", "train CPU s", "versions", "promotions"):
            table.add_column(column, justify="right")
        for name, row in result["policies"].items():
            table.add_row(
                name, f"{row['accuracy']:.4f}", f"{row['samples_per_s']}", f"{row['samples_per_cpu_s']}",
                f"{row['train_cpu_s']:.2f}", str(row["versions"]), str(row["promotions"]),
            )
        console.print(table)
        if json_path is not None:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(json.dumps(result, indent=2))
            console.print(f"results: {json_path}")
        if report is not None:
            from lifelong.cli.dashboard import write_simulation_report

            console.print(f"report: {write_simulation_report(result, report)}")


def _load(data: Path, timestamp: str, target: str, drop: list[str] | None, *, context: bool = False) -> Any:
    from lifelong.experiments.dataset import load_stream
    from lifelong.experiments.profile import profile_stream

    profile = profile_stream(data, timestamp=timestamp, target=target, drop=tuple(drop or ()))
    return profile, load_stream(profile, context=context)


def _duration_or_auto(text: str, auto: timedelta, field: str) -> timedelta:
    return auto if text == "auto" else parse_duration(text, field=field)


@experiment_app.command("freshness")
def freshness(
    data: DataOption,
    timestamp: TimestampOption,
    target: TargetOption,
    drop: DropOption = None,
    ages: Annotated[str, typer.Option("--ages", help="Comma-separated ages of the training data at evaluation time.")] = "1d,3d,7d,14d,30d,60d,90d",
    window: Annotated[str, typer.Option("--window", help="Training window length, or 'auto' (7 days or 2,000 rows, the longer).")] = "auto",
    horizon: Annotated[str, typer.Option("--horizon", help="'Today': the evaluation window, or 'auto' (1 day or 200 rows).")] = "auto",
    todays: Annotated[int, typer.Option("--todays", min=1, help="Evaluation times spread over the stream.")] = 8,
    tolerance: Annotated[float, typer.Option("--tolerance", help="Accuracy a stale model may lose before retraining is due.")] = 0.005,
    out: OutOption = Path("freshness-report"),
) -> None:
    """How much fresher training data is worth, and how often to retrain.

    Trains the same model on windows that end 1 day … 3 months before each 'today' and scores
    each on today's rows; writes freshness.png, freshness.html and freshness.json to --out.
    """
    from lifelong.experiments.freshness import auto_windows, measure_freshness
    from lifelong.experiments.plots import Chart, Series, write_outputs

    with handled():
        parsed = tuple(parse_duration(part.strip(), field="--ages") for part in ages.split(",") if part.strip())
        _, stream = _load(data, timestamp, target, drop)
        auto_window, auto_horizon = auto_windows(stream)
        result = measure_freshness(
            stream,
            ages=parsed,
            window=_duration_or_auto(window, auto_window, "--window"),
            horizon=_duration_or_auto(horizon, auto_horizon, "--horizon"),
            todays=todays,
            tolerance=tolerance,
        )
        payload = {"data": str(data), **result.to_dict()}
        table = result.table()
        chart = Chart(
            f"{data.name}: accuracy on 'today' against the age of the training data",
            "age of the training data at evaluation (days)",
            "accuracy (mean over todays, ± 1 sd)",
            [Series("LightGBM", [r["age_days"] for r in table], [r["accuracy"] for r in table], [r["std"] for r in table])],
            notes=(
                f"window {payload['window']}, horizon {payload['horizon']}, {len(result.todays)} todays; "
                f"freshest vs oldest: {payload['gain_freshest_vs_oldest']:+.4f}; retrain at least every {payload['recommended_interval']}",
            ),
        )
        paths = write_outputs(out, "freshness", chart, table=table, payload=payload)
        _table(f"{data.name}: freshness (window {payload['window']}, horizon {payload['horizon']})", table)
        console.print(
            f"gain of the freshest data over the oldest: {payload['gain_freshest_vs_oldest']:+.4f}; "
            f"recommended retraining interval: every {payload['recommended_interval']} (loses at most {tolerance})"
        )
        for note in result.notes:
            console.print(f"note: {note}")
        console.print(f"outputs: {', '.join(str(p) for p in paths.values())}")


@experiment_app.command("iteration")
def iteration(
    data: DataOption,
    timestamp: TimestampOption,
    target: TargetOption,
    drop: DropOption = None,
    window: Annotated[str, typer.Option("--window", help="Training window length, or 'auto' (7 days or 2,000 rows).")] = "auto",
    staleness: Annotated[str, typer.Option("--staleness", help="Age of the serving champion, or 'auto' (as the window).")] = "auto",
    horizon: Annotated[str, typer.Option("--horizon", help="Evaluation window after each 'now', or 'auto'.")] = "auto",
    nows: Annotated[int, typer.Option("--nows", min=1, help="Evaluation times spread over the stream.")] = 5,
    out: OutOption = Path("iteration-report"),
) -> None:
    """Model iteration (new architecture, more features, hyperparameter search) vs data iteration (fresh data).

    Writes iteration.png (compute spent vs accuracy gained), iteration.html and iteration.json to --out.
    """
    from lifelong.experiments.dataset import load_stream
    from lifelong.experiments.freshness import auto_windows
    from lifelong.experiments.iteration import compare_iterations
    from lifelong.experiments.plots import Chart, Series, write_outputs

    with handled():
        profile, stream = _load(data, timestamp, target, drop)
        enriched = load_stream(profile, context=True)
        auto_window, auto_horizon = auto_windows(stream)
        span = _duration_or_auto(window, auto_window, "--window")
        result = compare_iterations(
            stream,
            enriched,
            window=span,
            staleness=_duration_or_auto(staleness, span, "--staleness"),
            horizon=_duration_or_auto(horizon, auto_horizon, "--horizon"),
            nows=nows,
        )
        payload = {"data": str(data), **result.to_dict()}
        table = result.table()
        series = [
            Series(
                f"{kind} iteration",
                [r["cpu_s"] for r in table if r["kind"] == kind],
                [r["gain"] for r in table if r["kind"] == kind],
                labels=[r["option"] for r in table if r["kind"] == kind],
            )
            for kind in ("model", "data")
        ]
        chart = Chart(
            f"{data.name}: accuracy gained over the champion against training compute",
            "training CPU seconds",
            "accuracy gain over the serving champion",
            series,
            kind="scatter",
            notes=(f"champion {payload['staleness']} old, window {payload['window']}; {payload['verdict']}",),
        )
        paths = write_outputs(out, "iteration", chart, table=table, payload=payload)
        _table(f"{data.name}: model vs data iteration (champion {format_duration(result.staleness)} old)", table)
        console.print(payload["verdict"])
        console.print(f"outputs: {', '.join(str(p) for p in paths.values())}")


__all__ = ["experiment_app", "freshness", "iteration", "simulate"]
