"""``lifelong monitor MODEL``: drift and performance over time, in the terminal or as JSON."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from lifelong.cli.app import (
    ConfigOption,
    JsonFlag,
    _emit,
    _pipeline,
    app,
    console,
    handled,
)

BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float | None], *, low: float | None = None, high: float | None = None) -> str:
    """One block character per value (a space for a missing one), scaled between ``low`` and ``high``.

    Examples
    --------
    >>> sparkline([0.0, 0.5, 1.0, None])
    '▁▅█ '
    """
    known = [v for v in values if v is not None]
    if not known:
        return " " * len(values)
    bottom = min(known) if low is None else low
    top = max(known) if high is None else high
    span = top - bottom
    out = []
    for value in values:
        if value is None:
            out.append(" ")
        elif span <= 0:
            out.append(BLOCKS[len(BLOCKS) // 2])
        else:
            position = (min(max(value, bottom), top) - bottom) / span
            out.append(BLOCKS[min(int(round(position * (len(BLOCKS) - 1))), len(BLOCKS) - 1)])
    return "".join(out)


def _number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def history_table(data: dict[str, Any]) -> Table:
    """The per-window table of a monitor history (as :meth:`MonitorHistory.to_dict` gives it)."""
    metric = data["metric"]
    title = f"{data['model']}: champion {data['champion'] or '-'}, {metric} at training {_number(data['baseline'])}"
    table = Table(title=title)
    for column in ("window", "rows", "drifted features", "importance", "prediction p", f"est. {metric}", f"{metric}", "labels", "trained by then"):
        table.add_column(column, justify="right" if column not in ("window", "drifted features") else "left")
    for w in data["windows"]:
        start = datetime.fromisoformat(w["start"])
        labels = f"{w['labeled']}" + (f" (+{w['pending']} pending)" if w["pending"] else "")
        drifted = ", ".join(w["drifted"]) or ("-" if w["drift_share"] is None else "none")
        if w.get("matters"):
            drifted = f"[bold red]{drifted} (matters)[/]"
        table.add_row(f"{start:%Y-%m-%d %H:%M}", str(w["rows"]), drifted, _number(w["importance_share"], 2), _number(w["prediction_p"], 3),
                      _number(w["estimated"]), _number(w["measured"]), labels, w["latest_version"] or "-")
    return table


def trend_table(data: dict[str, Any]) -> Table:
    """One sparkline per signal over the windows."""
    windows = data["windows"]
    table = Table(title="over time (oldest → newest)")
    table.add_column("signal")
    table.add_column("trend")
    table.add_column("latest", justify="right")
    rows: list[tuple[str, list[float | None], float | None, float | None]] = [
        ("share of features drifted", [w["drift_share"] for w in windows], 0.0, 1.0),
        ("importance drifted", [w["importance_share"] for w in windows], 0.0, 1.0),
        (f"estimated {data['metric']} (CBPE)", [w["estimated"] for w in windows], None, None),
        (f"measured {data['metric']}", [w["measured"] for w in windows], None, None),
    ]
    for label, values, low, high in rows:
        latest = next((v for v in reversed(values) if v is not None), None)
        table.add_row(label, sparkline(values, low=low, high=high), _number(latest))
    return table


@app.command()
def monitor(
    model: Annotated[str, typer.Argument(help="Model name (must match the spec).")],
    config: ConfigOption = Path("lifelong.yaml"),
    window: Annotated[str | None, typer.Option(help="Window size (default: the spec's monitoring.window).")] = None,
    windows: Annotated[int | None, typer.Option(min=1, max=1000, help="How many windows (default: monitoring.windows).")] = None,
    at: Annotated[str | None, typer.Option(help="End of the last window, ISO 8601 (default: just after the newest stored event).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show drift (against the champion's training rows) and performance (estimated and measured) per window."""
    from lifelong.daemon import latest_event_time
    from lifelong.durations import parse_duration
    from lifelong.errors import ConfigError, NotFoundError
    from lifelong.monitoring.history import monitor_history
    from lifelong.orchestrator import Orchestrator

    with handled():
        pipeline = _pipeline(config)
        if model != pipeline.name:
            raise NotFoundError(f"model: expected {pipeline.name!r} (the spec's name), got {model!r}")
        settings = pipeline.config.monitoring
        updates: dict[str, Any] = {}
        if window is not None:
            updates["window"] = parse_duration(window, field="--window")
        if windows is not None:
            updates["windows"] = windows
        settings = settings.model_copy(update=updates) if updates else settings
        if at is not None:
            try:
                now = datetime.fromisoformat(at)
            except ValueError as exc:
                raise ConfigError(f"--at: expected an ISO 8601 time such as 2024-01-05T00:00:00+00:00, got {at!r}") from exc
            if now.tzinfo is None:
                raise ConfigError(f"--at: expected a time with its zone (e.g. +00:00), got {at!r}")
        else:
            latest = latest_event_time(pipeline.store)
            if latest is None:
                raise NotFoundError(f"model {model!r}: no stored events to monitor (run `lifelong ingest` or `lifelong run`)")
            now = latest + timedelta(microseconds=1)
        context = Orchestrator(pipeline).monitor_context()
        data = monitor_history(context, settings, now).to_dict()
        if as_json:
            _emit(data)
            return
        if data["note"]:
            console.print(data["note"])
        console.print(history_table(data))
        console.print(trend_table(data))


__all__ = ["history_table", "monitor", "sparkline", "trend_table"]
