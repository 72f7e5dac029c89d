"""Live numbers of tests in production, read from the linked prediction server.

Examples
--------
>>> status = {"kind": "canary", "champion": "1.0", "challengers": ["1.1"], "running": True,
...           "arms": {"1.0": {"requests": 90, "errors": 0, "error_rate": 0.0, "p99_ms": 2.0,
...                            "rewards": 0, "reward_mean": 0.0},
...                    "1.1": {"requests": 10, "errors": 1, "error_rate": 0.1, "p99_ms": 3.0,
...                            "rewards": 0, "reward_mean": 0.0}}}
>>> [row[:3] for row in arm_rows(status)]
[('1.0', 'champion', 90), ('1.1', 'challenger', 10)]
>>> share_figure(status).data[0].y
(90.0, 10.0)

A shadow copy answers nobody: its share is of the copies, and it shows its agreement.

>>> shadow = {"kind": "shadow", "champion": "1.0", "challengers": ["1.1"],
...           "arms": {"1.0": {"requests": 8}, "1.1": {"requests": 8}},
...           "agreement": {"1.1": {"rows": 8, "agreement": 0.75, "mean_abs_score_gap": 0.1}}}
>>> [row[:4] + row[-3:] for row in arm_rows(shadow)]
[('1.0', 'champion', 8, '100.0%', None, None, None), ('1.1', 'shadow', 8, 'copies of 100.0%', 8, 0.75, 0.1)]
>>> agreement_figure(shadow).data[0].y
(75.0,)
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from lifelong.dashboard.charts import COLORS, layout
from lifelong.dashboard.panels import Panel, PanelContext
from lifelong.errors import LifelongError

KEY = "live"
TITLE = "shadow, canary and A/B: live numbers"
ARM_COLUMNS = (
    "version",
    "role",
    "requests",
    "share of requests",
    "errors",
    "error rate",
    "p99 (ms)",
    "rewards",
    "mean reward",
    "shadow rows compared",
    "agreement with the champion",
    "mean |score gap|",
)
_SCALARS = (
    "kind",
    "weight",
    "started",
    "ended",
    "bake_seconds",
    "min_requests",
    "p_value",
    "effect",
    "alpha",
    "significant",
    "breaches",
    "dropped",
)


def _role(status: dict[str, Any], version: str) -> str:
    if version == status.get("champion"):
        return "champion"
    return "shadow" if status.get("kind") == "shadow" else "challenger"


def arm_rows(status: dict[str, Any]) -> list[tuple[Any, ...]]:
    """One row per version of an experiment: its role and live numbers.

    Shares are of the requests answered; a shadow's requests are copies of the champion's, and
    a shadow also shows how many of its rows were compared and how often it agreed.
    """
    arms = status.get("arms") or {}
    agreement = status.get("agreement") or {}
    answered = {version: int(arm.get("requests", 0)) for version, arm in arms.items() if _role(status, version) != "shadow"}
    total = sum(answered.values()) or 1
    rows = []
    for version, arm in arms.items():
        role = _role(status, version)
        requests = int(arm.get("requests", 0))
        share = f"{100 * requests / total:.1f}%"
        compared = agreement.get(version) or {}
        rows.append(
            (
                version,
                role,
                requests,
                f"copies of {share}" if role == "shadow" else share,
                arm.get("errors"),
                arm.get("error_rate"),
                arm.get("p99_ms"),
                arm.get("rewards"),
                arm.get("reward_mean"),
                compared.get("rows"),
                compared.get("agreement"),
                compared.get("mean_abs_score_gap"),
            )
        )
    return rows


def agreement_figure(status: dict[str, Any]) -> go.Figure:
    """How often each shadow agreed with the champion's label, in percent of the rows compared."""
    compared = (status.get("agreement") or {}).items()
    shown = [(version, found) for version, found in compared if found and found.get("agreement") is not None]
    figure = go.Figure(
        go.Bar(
            x=[f"{version} (shadow)" for version, _ in shown],
            y=[100.0 * float(found["agreement"]) for _, found in shown],
            text=[f"{found.get('rows', 0)} rows" for _, found in shown],
            marker={"color": COLORS["challenger"]},
            hovertemplate="%{x}<br>agrees on %{y:.1f}% of rows<extra></extra>",
        )
    )
    return layout(
        figure,
        title="shadow: agreement with the champion's answers",
        x="version (role)",
        y="agreeing rows (%)",
        height=300,
    )


def share_figure(status: dict[str, Any]) -> go.Figure:
    """Requests answered per version during the experiment, in percent."""
    rows = [row for row in arm_rows(status) if row[1] != "shadow"]
    total = sum(row[2] for row in rows) or 1
    figure = go.Figure(
        go.Bar(
            x=[f"{row[0]} ({row[1]})" for row in rows],
            y=[100.0 * row[2] / total for row in rows],
            text=[f"{row[2]} requests" for row in rows],
            marker={
                "color": [
                    COLORS["champion"] if row[1] == "champion" else COLORS["challenger"]
                    for row in rows
                ]
            },
            hovertemplate="%{x}<br>%{y:.1f}% of requests<extra></extra>",
        )
    )
    return layout(
        figure,
        title=f"{status.get('kind', 'experiment')}: share of live requests per version",
        x="version (role)",
        y="share of requests (%)",
        height=300,
    )


def _placeholder(note: str) -> list[Panel]:
    return [Panel(KEY, TITLE, "deployments", note=note, available=False)]


def live_panels(context: PanelContext) -> list[Panel]:
    """The running experiment of ``context.model`` on the linked server, and the last finished one."""
    server = context.server
    if server is None:
        return _placeholder(
            "no prediction server linked: start the dashboard with --server http://127.0.0.1:8000 "
            "(the address of lifelong serve) to see shadow, canary and A/B tests live"
        )
    try:
        found = server.routing(context.model)
    except LifelongError as exc:
        return _placeholder(f"the prediction server could not tell: {exc}")
    running = found.get("running") if found else None
    finished = list(found.get("finished") or []) if found else []
    if running is None and not finished:
        return _placeholder(f"no experiment has run for {context.model!r} on {server.url}")
    status = running if running is not None else finished[-1]
    state = (
        "running"
        if running is not None
        else f"finished: {status.get('outcome') or status.get('ended')}"
    )
    facts = ", ".join(
        f"{key} {status[key]}" for key in _SCALARS if status.get(key) not in (None, "", [], {})
    )
    return [
        Panel(
            KEY,
            TITLE,
            "deployments",
            note=f"{server.url}: {state}; {facts}",
            figure=agreement_figure(status) if status.get("kind") == "shadow" else share_figure(status),
            columns=ARM_COLUMNS,
            rows=tuple(arm_rows(status)),
        )
    ]


__all__ = ["ARM_COLUMNS", "agreement_figure", "arm_rows", "live_panels", "share_figure"]
