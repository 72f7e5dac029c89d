"""The static HTML report: one self-contained file with the dashboard's charts.

Plotly's JavaScript, the stylesheet and the figures are inlined, so the file opens offline
and can be attached to a ticket or an e-mail. A demo (or any simulation that produces the
same summary) adds its metric per day, static against continually updated, its versions and
its promotions and rejections; a model page adds the lineage, the metrics over time, the
deployments and the evaluation reports.

Examples
--------
>>> summary = {"metric": "roc_auc", "shift_day": 1, "home": "", "skipped": [],
...            "daily": [{"day": 1, "static_metric": 0.8, "lifelong_metric": 0.8},
...                      {"day": 2, "static_metric": 0.6, "lifelong_metric": 0.75}],
...            "versions": [], "promotions": [], "rejections": []}
>>> html = build_report(summary=summary, title="demo")
>>> html.startswith("<!doctype html>"), "<script src=" in html, "Plotly" in html
(True, False, True)
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from lifelong import __version__
from lifelong.dashboard.charts import demo_figure, simulation_figure
from lifelong.dashboard.pages import ModelPage
from lifelong.dashboard.render import inline_assets, render
from lifelong.dashboard.source import DashboardSource
from lifelong.errors import ConfigError


def _decisions(summary: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    rows = [(row, "promoted") for row in summary.get("promotions", [])]
    rows += [(row, "rejected") for row in summary.get("rejections", [])]
    return sorted(rows, key=lambda item: float(item[0]["day"]))


def build_report(
    *,
    summary: dict[str, Any] | None = None,
    page: ModelPage | None = None,
    simulation: dict[str, Any] | None = None,
    title: str = "lifelong report",
    generated: datetime | None = None,
    source: str = "",
) -> str:
    """The report as one HTML document.

    Parameters
    ----------
    summary
        A demo summary (:meth:`lifelong.demo.DemoSummary.to_dict`), or None.
    simulation
        The result of ``lifelong simulate --json`` (:func:`lifelong.experiments.simulate`), or None.
    page
        A model's page (:meth:`lifelong.dashboard.DashboardSource.page`), or None.
    title
        Heading of the report.
    generated
        When it was written (default: now).
    source
        Where the data came from, shown in the footer.
    """
    if summary is None and page is None and simulation is None:
        raise ConfigError("report: expected a demo summary, a simulation or a model page, got none")
    figures: dict[str, go.Figure] = {}
    if simulation is not None:
        if not isinstance(simulation.get("policies"), dict) or not simulation["policies"]:
            raise ConfigError(
                "simulation: expected the result of 'lifelong simulate --json' (a 'policies' mapping)"
            )
        figures["simulation"] = simulation_figure(simulation)
    if summary is not None:
        missing = [
            key for key in ("metric", "shift_day", "daily", "versions") if key not in summary
        ]
        if missing:
            raise ConfigError(f"summary: expected the keys of a demo summary, missing {missing}")
        figures["demo"] = demo_figure(summary)
    if page is not None:
        figures.update(page.figures())
    return render(
        "report.html",
        inline=True,
        assets=inline_assets(),
        root="",
        version=__version__,
        title=title,
        generated=generated or datetime.now(UTC),
        source=source,
        summary=summary,
        simulation=simulation,
        decisions=_decisions(summary) if summary is not None else [],
        page=page,
        figures=figures,
    )


def write_report(path: Path, html: str) -> Path:
    """Write ``html`` to ``path`` atomically (a temporary file renamed); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with temporary.open("x", encoding="utf-8") as file:
            file.write(html)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def source_report(
    source: DashboardSource,
    model: str,
    *,
    summary: dict[str, Any] | None = None,
    simulation: dict[str, Any] | None = None,
    title: str | None = None,
) -> str:
    """The report of ``model`` in ``source`` (its page, when it has versions), with ``summary``."""
    page = source.page(model) if source.registry.versions(model) else None
    if page is None and summary is None and simulation is None:
        raise ConfigError(
            f"model: expected a model with versions in {source.registry.url}, got {model!r} without any"
        )
    heading = title or (
        f"lifelong demo: {model}" if summary is not None else f"lifelong report: {model}"
    )
    return build_report(
        summary=summary,
        simulation=simulation,
        page=page,
        title=heading,
        source=f"registry {source.registry.url}",
    )


def pipeline_report(
    pipeline: Any,
    *,
    summary: dict[str, Any] | None = None,
    simulation: dict[str, Any] | None = None,
    model: str | None = None,
    title: str | None = None,
) -> str:
    """The report of a :class:`lifelong.runtime.Pipeline`'s model (default: the spec's), with ``summary``."""
    return source_report(
        DashboardSource.from_pipeline(pipeline),
        model or pipeline.name,
        summary=summary,
        simulation=simulation,
        title=title,
    )


__all__ = ["build_report", "pipeline_report", "source_report", "write_report"]
