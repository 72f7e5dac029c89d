"""Plotly figures of the dashboard and the static report; every axis names its unit.

Examples
--------
>>> figure = holdout_figure([{"version": "1.0", "holdout": 0.8, "champion_at_evaluation": None,
...                           "verdict": "passed", "holdout_metric": "roc_auc"}], metric="roc_auc")
>>> figure.layout.yaxis.title.text
'roc_auc (ROC AUC, 0–1)'
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from lifelong.dashboard.lineage import CHALLENGER, CHAMPION, tree_layout
from lifelong.dashboard.served import ALL
from lifelong.dashboard.served import version_key as _version_key

UNITS = {
    "roc_auc": "ROC AUC, 0–1",
    "accuracy": "fraction correct, 0–1",
    "f1": "F1, 0–1",
    "log_loss": "nats per row, lower is better",
}
COLORS = {
    "champion": "#d4a017",
    "served": "#2e8b57",
    "rejected": "#c0392b",
    "waiting": "#7f8c8d",
    "challenger": "#8e44ad",
    "static": "#7f8c8d",
    "lifelong": "#1f77b4",
}
_FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 13}


def metric_axis(metric: str) -> str:
    """An axis title with the metric's unit: ``'roc_auc (ROC AUC, 0–1)'``."""
    return f"{metric} ({UNITS.get(metric, 'metric value')})"


def layout(figure: go.Figure, *, title: str, x: str, y: str, height: int = 380) -> go.Figure:
    """The house layout: white template, title, axis titles (with units), legend below."""
    figure.update_layout(
        title={"text": title, "x": 0, "xref": "paper", "xanchor": "left"},
        template="plotly_white",
        height=height,
        margin={"l": 80, "r": 20, "t": 50, "b": 110},
        font=_FONT,
        legend={"orientation": "h", "yref": "container", "y": 0.01, "yanchor": "bottom", "x": 0},
        hovermode="closest",
    )
    figure.update_xaxes(title_text=x, showline=True, linecolor="#444", ticks="outside")
    figure.update_yaxes(title_text=y, showline=True, linecolor="#444", ticks="outside")
    return figure


def served_figure(
    rows: list[dict[str, Any]], *, metric: str, value: str, max_versions: int = 6
) -> go.Figure:
    """Served ``value`` (``'metric'`` or ``'accuracy'``) per UTC day: all traffic, and per version.

    Versions get their own markers when at most ``max_versions`` served; otherwise the hover of
    each day names the versions that answered it.
    """
    name = metric if value == "metric" else "accuracy"
    figure = go.Figure()
    total = [row for row in rows if row["version"] == ALL and row[value] is not None]
    answered: dict[str, list[str]] = {}
    for row in rows:
        if row["version"] != ALL:
            answered.setdefault(row["day"], []).append(f"{row['version']} ({row['rows']} rows)")
    figure.add_trace(
        go.Scatter(
            x=[row["day"] for row in total],
            y=[row[value] for row in total],
            customdata=[[row["rows"], ", ".join(answered.get(row["day"], []))] for row in total],
            mode="lines+markers",
            name="all traffic",
            line={"width": 3, "color": "#222"},
            marker={"size": 8},
            hovertemplate=f"%{{x}}<br>{name} %{{y:.4f}}<br>%{{customdata[0]}} labeled predictions<br>served by %{{customdata[1]}}<extra></extra>",
        )
    )
    versions = sorted({row["version"] for row in rows if row["version"] != ALL}, key=_version_key)
    if len(versions) <= max_versions:
        for version in versions:
            points = [row for row in rows if row["version"] == version and row[value] is not None]
            figure.add_trace(
                go.Scatter(
                    x=[row["day"] for row in points],
                    y=[row[value] for row in points],
                    customdata=[[row["rows"]] for row in points],
                    mode="markers",
                    name=f"version {version}",
                    marker={"size": 9, "symbol": "diamond"},
                    hovertemplate=f"%{{x}}<br>{name} %{{y:.4f}}<br>%{{customdata[0]}} labeled predictions<extra>version {version}</extra>",
                )
            )
    figure = layout(
        figure, title=f"served {name} per day", x="day of the prediction (UTC)", y=metric_axis(name)
    )
    days = sorted({row["day"] for row in rows})
    figure.update_xaxes(
        type="date",
        tickformat="%b %d",
        hoverformat="%Y-%m-%d",
        dtick=86_400_000 if len(days) <= 16 else None,
    )
    return figure


def holdout_figure(versions: list[dict[str, Any]], *, metric: str) -> go.Figure:
    """The metric of each version on held-out rows at its evaluation, beside the champion's."""
    rated = [row for row in versions if row.get("holdout") is not None]
    figure = go.Figure()
    for verdict, color in (("passed", COLORS["served"]), ("rejected", COLORS["rejected"])):
        chosen = [row for row in rated if row["verdict"] == verdict]
        figure.add_trace(
            go.Scatter(
                x=[row["version"] for row in chosen],
                y=[row["holdout"] for row in chosen],
                mode="markers",
                name=f"challenger, gates {verdict}",
                marker={
                    "size": 10,
                    "color": color,
                    "symbol": "circle" if verdict == "passed" else "x",
                },
                hovertemplate=f"version %{{x}}<br>{metric} %{{y:.4f}}<extra>{verdict}</extra>",
            )
        )
    against = [row for row in rated if row.get("champion_at_evaluation") is not None]
    figure.add_trace(
        go.Scatter(
            x=[row["version"] for row in against],
            y=[row["champion_at_evaluation"] for row in against],
            mode="markers",
            name="champion on the same rows",
            marker={
                "size": 8,
                "color": COLORS["champion"],
                "symbol": "diamond-open",
                "line": {"width": 2},
            },
            hovertemplate=f"evaluating %{{x}}<br>champion {metric} %{{y:.4f}}<extra></extra>",
        )
    )
    figure = layout(
        figure,
        title="held-out metric of each version at its evaluation",
        x="version (in order of registration)",
        y=metric_axis(metric),
    )
    figure.update_xaxes(
        type="category", categoryorder="array", categoryarray=[row["version"] for row in versions]
    )
    return figure


def _status(node: dict[str, Any]) -> str:
    if CHAMPION in node.get("aliases", []):
        return "champion"
    if node.get("ever_champion"):
        return "served"
    return "rejected" if node.get("verdict") == "rejected" else "waiting"


_LEGEND = {
    "champion": ("current champion", "star", 20),
    "served": ("served as champion", "circle", 12),
    "rejected": ("rejected by the gates", "x", 12),
    "waiting": ("never served", "circle-open", 12),
}


def lineage_figure(versions: list[dict[str, Any]], *, limit: int = 80) -> go.Figure:
    """The lineage tree: nodes per version, edges from parents, lanes per MAJOR."""
    shown = versions[-limit:]
    nodes, lanes = tree_layout(shown)
    where = {node["version"]: node for node in nodes}
    figure = go.Figure()
    for iteration, dash in (("data", "solid"), ("model", "dash")):
        xs: list[float | None] = []
        ys: list[float | None] = []
        for node in nodes:
            parent = where.get(node["parent"] or "")
            if parent is not None and node["iteration"] == iteration:
                xs += [parent["x"], node["x"], None]
                ys += [parent["lane"], node["lane"], None]
        figure.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                name=f"parent → child ({iteration} iteration)",
                line={"color": "#95a5a6", "width": 2, "dash": dash},
                hoverinfo="skip",
            )
        )
    marked = [
        node
        for node in nodes
        if any(alias.startswith(CHALLENGER) for alias in node.get("aliases", []))
    ]
    figure.add_trace(
        go.Scatter(
            x=[node["x"] for node in marked],
            y=[node["lane"] for node in marked],
            mode="markers",
            name="a challenger alias points here",
            marker={
                "symbol": "circle-open",
                "size": 28,
                "color": COLORS["challenger"],
                "line": {"width": 3},
            },
            hovertext=[", ".join(node["aliases"]) for node in marked],
            hoverinfo="text",
        )
    )
    for status, (label, symbol, size) in _LEGEND.items():
        chosen = [node for node in nodes if _status(node) == status]
        figure.add_trace(
            go.Scatter(
                x=[node["x"] for node in chosen],
                y=[node["lane"] for node in chosen],
                mode="markers+text",
                name=label,
                text=[node["version"] for node in chosen],
                textposition=[
                    "top center" if node["x"] % 2 == 0 else "bottom center" for node in chosen
                ],
                textfont={"size": 12, "color": "#222"},
                marker={
                    "symbol": symbol,
                    "size": size,
                    "color": COLORS[status],
                    "line": {"width": 2, "color": COLORS[status]},
                },
                hovertext=[_hover(node) for node in chosen],
                hoverinfo="text",
            )
        )
    figure = layout(
        figure,
        title="lineage: each version, its parent, and whether it served",
        x="version number in order of registration (1 = first)",
        y="branch",
        height=max(300, 150 + 70 * len(lanes)),
    )
    figure.update_yaxes(
        tickmode="array",
        tickvals=list(lanes),
        ticktext=list(lanes.values()),
        range=[max(lanes, default=1) + 0.6, -0.6],
        zeroline=False,
        showgrid=True,
    )
    figure.update_xaxes(
        tickmode="array",
        tickvals=[node["x"] for node in nodes],
        ticktext=[str(node["x"] + 1 + len(versions) - len(shown)) for node in nodes],
        zeroline=False,
    )
    return figure


def _hover(node: dict[str, Any]) -> str:
    trigger = node.get("trigger") or {}
    snapshot = node.get("snapshot") or {}
    lines = [
        f"<b>{node['version']}</b> ({node['iteration']} iteration, {node['mode']})",
        f"parent: {node['parent'] or '-'}",
        f"trigger: {trigger.get('kind', 'manual')} — {trigger.get('reason', '')}",
        f"training rows: {snapshot.get('rows', 0)}",
        f"gates: {node.get('verdict')}"
        + (f", held-out {node['holdout']:.4f}" if node.get("holdout") is not None else ""),
    ]
    for promotion in node.get("promotions", []):
        lines.append(f"champion since {promotion['at'][:19]} by {promotion['actor']}")
    return "<br>".join(lines)


def demo_figure(summary: dict[str, Any]) -> go.Figure:
    """The demo's metric per simulated day: frozen first version vs continually updated champion."""
    metric = summary["metric"]
    days = summary["daily"]
    figure = go.Figure()
    for key, label, color in (
        ("static_metric", "static (first version, frozen)", COLORS["static"]),
        ("lifelong_metric", "lifelong (continually updated champion)", COLORS["lifelong"]),
    ):
        points = [row for row in days if row[key] is not None]
        figure.add_trace(
            go.Scatter(
                x=[row["day"] for row in points],
                y=[row[key] for row in points],
                mode="lines+markers",
                name=label,
                line={"color": color, "width": 3},
                hovertemplate=f"day %{{x}}<br>{metric} %{{y:.4f}}<extra>{label}</extra>",
            )
        )
    shift = summary["shift_day"] + 1
    figure.add_vline(
        x=shift,
        line={"dash": "dot", "color": COLORS["rejected"]},
        annotation_text=f"sudden shift (day {shift})",
    )
    return layout(
        figure,
        title=f"{metric} per simulated day: static vs continually updated",
        x="simulated day (1 = first day)",
        y=metric_axis(metric),
    )


def simulation_figure(result: dict[str, Any]) -> go.Figure:
    """Served accuracy over the replayed stream, one line per update policy (``lifelong simulate``)."""
    figure = go.Figure()
    for name, policy in result.get("policies", {}).items():
        points = [point for point in policy.get("timeline", []) if point.get("until") != "end"]
        figure.add_trace(
            go.Scatter(
                x=[point["until"] for point in points],
                y=[point["accuracy"] for point in points],
                mode="lines+markers",
                name=f"{name} (overall {policy['accuracy']:.4f})",
                hovertemplate=f"until %{{x}}<br>accuracy %{{y:.4f}}<extra>{name}</extra>",
            )
        )
    figure = layout(
        figure,
        title="served accuracy over the replayed stream, per update policy",
        x="event time of the stream (end of each stretch)",
        y=metric_axis("accuracy"),
    )
    figure.update_xaxes(type="date")
    return figure


def traffic_figure(shares: list[dict[str, Any]]) -> go.Figure:
    """Share of logged predictions answered by each version over the last day of data."""
    figure = go.Figure(
        go.Bar(
            x=[f"version {row['version']}" for row in shares],
            y=[100 * row["share"] for row in shares],
            text=[f"{100 * row['share']:.1f}% ({row['predictions']})" for row in shares],
            textposition="auto",
            marker={"color": COLORS["lifelong"]},
            hovertemplate="%{x}<br>%{y:.1f}% of predictions<extra></extra>",
        )
    )
    return layout(
        figure,
        title="traffic share per version (last 24 h of the prediction log)",
        x="version that answered",
        y="share of predictions (%)",
        height=300,
    )


__all__ = [
    "COLORS",
    "UNITS",
    "demo_figure",
    "holdout_figure",
    "layout",
    "lineage_figure",
    "metric_axis",
    "served_figure",
    "simulation_figure",
    "traffic_figure",
]
