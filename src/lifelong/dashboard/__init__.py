"""The dashboard: a web UI over the registry and the prediction log, and the static HTML report.

``lifelong dashboard`` serves :func:`create_dashboard`; ``lifelong report-html`` and
``lifelong demo --report`` write :func:`build_report` to one self-contained file.

Examples
--------
>>> from lifelong.dashboard import Panel, build_report, create_dashboard
>>> Panel(key="drift", title="drift per feature").section
'metrics'
"""

from __future__ import annotations

from lifelong.dashboard.app import create_dashboard
from lifelong.dashboard.pages import ModelPage
from lifelong.dashboard.panels import Panel, PanelContext
from lifelong.dashboard.report import build_report, pipeline_report, source_report, write_report
from lifelong.dashboard.server_link import PredictionServer
from lifelong.dashboard.source import DashboardSource

__all__ = [
    "DashboardSource",
    "ModelPage",
    "Panel",
    "PanelContext",
    "PredictionServer",
    "build_report",
    "create_dashboard",
    "pipeline_report",
    "source_report",
    "write_report",
]
