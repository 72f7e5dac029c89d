"""Readable outputs of an experiment: a PNG (matplotlib), an HTML page (plotly when installed) and JSON.

Matplotlib draws on its own :class:`~matplotlib.figure.Figure` with the Agg canvas (no
``pyplot`` state). The HTML page is interactive with plotly (self-contained: the library is
embedded, so it opens offline); without plotly it embeds the PNG and the table.

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> chart = Chart("accuracy by age", "age (days)", "accuracy", [Series("lightgbm", [1, 7], [0.9, 0.8])])
>>> paths = write_outputs(folder, "demo", chart, table=[{"age": 1, "accuracy": 0.9}], payload={"ok": True})
>>> sorted(path.suffix for path in paths.values())
['.html', '.json', '.png']
"""

from __future__ import annotations

import base64
import html
import io
import json
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal


@dataclass(frozen=True)
class Series:
    """One line (or set of points) of a chart, with optional error bars and point labels."""

    name: str
    x: Sequence[float]
    y: Sequence[float]
    error: Sequence[float] | None = None
    labels: Sequence[str] | None = None


@dataclass(frozen=True)
class Chart:
    """A chart: title, axis titles, series; ``kind`` lines or scatter points."""

    title: str
    x_title: str
    y_title: str
    series: Sequence[Series]
    kind: Literal["line", "scatter"] = "line"
    notes: Sequence[str] = field(default_factory=tuple)


def render_png(chart: Chart) -> bytes:
    """The chart as PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4.8), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for series in chart.series:
        style = "o-" if chart.kind == "line" else "o"
        if series.error is not None:
            axes.errorbar(series.x, series.y, yerr=series.error, fmt=style, capsize=3, label=series.name)
        else:
            axes.plot(series.x, series.y, style, label=series.name)
        for x, y, text in zip(series.x, series.y, series.labels or (), strict=False):
            axes.annotate(text, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    axes.set_title(chart.title)
    axes.set_xlabel(chart.x_title)
    axes.set_ylabel(chart.y_title)
    axes.grid(alpha=0.3)
    if len(chart.series) > 1:
        axes.legend(fontsize=8)
    lines = [line for note in chart.notes for line in textwrap.wrap(note, 130)]
    for index, line in enumerate(reversed(lines)):
        figure.text(0.01, 0.01 + 0.035 * index, line, fontsize=8, alpha=0.8)
    figure.tight_layout(rect=(0, 0.035 * len(lines), 1, 1))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _table_html(rows: Sequence[Mapping[str, Any]]) -> str:
    if not rows:
        return ""
    columns = list(rows[0])
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(row.get(c)))}</td>" for c in columns) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def render_html(chart: Chart, table: Sequence[Mapping[str, Any]], png: bytes) -> str:
    """A self-contained page: the interactive plotly chart when plotly is installed, else the PNG; then the table."""
    try:
        import plotly.graph_objects as go
    except ImportError:
        figure_html = f'<img alt="{html.escape(chart.title)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
    else:
        figure = go.Figure()
        for series in chart.series:
            error = {"type": "data", "array": list(series.error)} if series.error is not None else None
            mode = "lines+markers" if chart.kind == "line" else "markers+text"
            figure.add_trace(
                go.Scatter(x=list(series.x), y=list(series.y), name=series.name, mode=mode, error_y=error,
                           text=list(series.labels) if series.labels else None, textposition="top center")
            )
        figure.update_layout(title=chart.title, xaxis_title=chart.x_title, yaxis_title=chart.y_title, template="plotly_white")
        figure_html = figure.to_html(full_html=False, include_plotlyjs=True)
    notes = "".join(f"<p>{html.escape(note)}</p>" for note in chart.notes)
    style = "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(chart.title)}</title>"
        f"<style>{style}</style></head><body><h1>{html.escape(chart.title)}</h1>{figure_html}{notes}{_table_html(table)}</body></html>"
    )


def write_outputs(
    folder: Path, name: str, chart: Chart, *, table: Sequence[Mapping[str, Any]], payload: Mapping[str, Any]
) -> dict[str, Path]:
    """Write ``<name>.png``, ``<name>.html`` and ``<name>.json`` into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    png = render_png(chart)
    paths = {"png": folder / f"{name}.png", "html": folder / f"{name}.html", "json": folder / f"{name}.json"}
    paths["png"].write_bytes(png)
    paths["html"].write_text(render_html(chart, table, png), encoding="utf-8")
    paths["json"].write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    return paths


__all__ = ["Chart", "Series", "render_html", "render_png", "write_outputs"]
