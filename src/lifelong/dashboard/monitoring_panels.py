"""Monitoring panels: estimated performance without labels, measured performance, drift per feature.

They read :func:`lifelong.monitoring.monitor_history` (the windows ``lifelong monitor`` shows:
each compared with the champion's training rows, its metric estimated by CBPE and measured
once labeled). Without a pipeline spec, or when the monitoring package lacks that API, the
panel says so instead.

Examples
--------
>>> from datetime import datetime, timezone
>>> window = {"start": "2024-03-01T00:00:00+00:00", "end": "2024-03-02T00:00:00+00:00",
...           "rows": 900, "drift_share": 0.5, "drifted": ["age"], "estimated": 0.8,
...           "measured": 0.79, "importance_share": 0.4}
>>> figure = drift_figure([window], features=["age", "income"])
>>> figure.data[0].z
([1], [0])
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import plotly.graph_objects as go

from lifelong.dashboard.charts import COLORS, layout, metric_axis
from lifelong.dashboard.panels import Panel, PanelContext
from lifelong.dashboard.served import latest_event_time
from lifelong.durations import format_duration

KEY = "monitoring"
TITLE = "estimated performance and drift per feature"


def _placeholder(note: str) -> list[Panel]:
    return [Panel(KEY, TITLE, "metrics", note=note, available=False)]


def performance_figure(
    windows: Sequence[dict[str, Any]], *, metric: str, baseline: float | None
) -> go.Figure:
    """The metric per window: estimated without labels (CBPE) and measured with them."""
    figure = go.Figure()
    ends = [window["end"] for window in windows]
    for key, label, color in (
        ("estimated", "estimated without labels (CBPE)", COLORS["challenger"]),
        ("measured", "measured with labels", "#222"),
    ):
        figure.add_trace(
            go.Scatter(
                x=ends,
                y=[window[key] for window in windows],
                mode="lines+markers",
                name=label,
                line={"color": color, "width": 3, "dash": "dot" if key == "estimated" else "solid"},
                connectgaps=False,
                hovertemplate=f"window ending %{{x}}<br>{metric} %{{y:.4f}}<extra>{label}</extra>",
            )
        )
    if baseline is not None:
        figure.add_hline(
            y=baseline,
            line={"dash": "dash", "color": COLORS["champion"]},
            annotation_text=f"champion on its held-out rows ({baseline:.4f})",
        )
    figure = layout(
        figure,
        title=f"{metric} per window: estimated and measured",
        x="end of the window (UTC)",
        y=metric_axis(metric),
    )
    figure.update_xaxes(type="date", hoverformat="%Y-%m-%d %H:%M")
    return figure


def drift_figure(windows: Sequence[dict[str, Any]], *, features: Sequence[str]) -> go.Figure:
    """Which features drifted in which window (against the champion's training rows)."""
    tested = [window for window in windows if window.get("drift_share") is not None]
    z = [[1 if feature in window["drifted"] else 0 for window in tested] for feature in features]
    figure = go.Figure(
        go.Heatmap(
            x=[window["end"] for window in tested],
            y=list(features),
            z=z,
            zmin=0,
            zmax=1,
            colorscale=[
                [0.0, "#e3f4ea"],
                [0.5, "#e3f4ea"],
                [0.5, COLORS["rejected"]],
                [1.0, COLORS["rejected"]],
            ],
            colorbar={
                "tickvals": [0.25, 0.75],
                "ticktext": ["no drift", "drift"],
                "title": {"text": "test"},
            },
            xgap=2,
            ygap=2,
            hovertemplate="window ending %{x}<br>%{y}: %{z}<extra>1 = drifted</extra>",
        )
    )
    figure = layout(
        figure,
        title="drift per feature and window (1 = distribution changed)",
        x="end of the window (UTC)",
        y="feature",
        height=max(300, 160 + 34 * len(features)),
    )
    figure.update_xaxes(type="date", tickformat="%b %d %H:%M", hoverformat="%Y-%m-%d %H:%M")
    return figure


def monitoring_panels(context: PanelContext) -> list[Panel]:
    """The monitoring panels of ``context.model`` (placeholders when they cannot be computed)."""
    try:
        from lifelong.monitoring import MonitorContext, monitor_history
    except ImportError:
        return _placeholder(
            "not available: this installation's lifelong.monitoring has no monitor_history"
        )
    pipeline = context.pipeline
    if pipeline is None:
        return _placeholder(
            "not available: monitoring needs the pipeline spec (start the dashboard with -c lifelong.yaml)"
        )
    if context.model != pipeline.name:
        return _placeholder(
            f"not available: the spec describes {pipeline.name!r}, not {context.model!r}"
        )
    now = latest_event_time(pipeline.store)
    if now is None:
        return _placeholder("no events stored yet")
    config = getattr(pipeline.config, "monitoring", None)
    if config is None:
        from lifelong.config.monitoring import MonitoringConfig

        config = MonitoringConfig()
    monitor = MonitorContext.from_pipeline(pipeline, context.load_bundle)
    history = monitor_history(monitor, config, now).to_dict()
    windows = [window for window in history["windows"] if window["rows"] or window["labeled"]]
    if not windows:
        return _placeholder(f"monitoring: {history.get('note') or 'no window with data yet'}")
    features = [*pipeline.features.numeric, *pipeline.features.categorical]
    note = (
        f"{len(windows)} windows of {format_duration(config.window)} up to {_when(now)}, each compared with the training rows of champion "
        f"{history['champion']}; {config.numeric_test} / {config.categorical_test} tests at alpha {config.alpha}"
    )
    rows = tuple(
        (
            _when(window["end"]),
            window["rows"],
            window["drift_share"],
            ", ".join(window["drifted"]) or "–",
            window["estimated"],
            window["measured"],
        )
        for window in reversed(windows)
    )
    return [
        Panel(
            "estimated_performance",
            "estimated performance (no labels needed) and measured performance",
            "metrics",
            note=note,
            figure=performance_figure(
                windows, metric=history["metric"], baseline=history.get("baseline")
            ),
        ),
        Panel(
            "drift",
            "drift per feature",
            "metrics",
            note="Each window's inputs against the champion's training rows; Benjamini-Hochberg across features.",
            figure=drift_figure(windows, features=features),
            columns=(
                "window end",
                "rows",
                "drift share",
                "drifted features",
                f"estimated {history['metric']}",
                f"measured {history['metric']}",
            ),
            rows=rows,
        ),
    ]


def _when(value: Any) -> str:
    stamp = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return stamp.strftime("%Y-%m-%d %H:%M UTC")


__all__ = ["drift_figure", "monitoring_panels", "performance_figure"]
