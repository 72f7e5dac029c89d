"""Optional sections of a model page: monitoring, and the live numbers of tests in production.

A provider is a function ``(PanelContext) -> list[Panel]``. The built-in ones read
:mod:`lifelong.monitoring` (estimated performance, drift per feature) and a linked prediction
server's routing status (shadow, canary, A/B live numbers); each returns a placeholder that
says why when it cannot fill its panel. A provider that raises gets a panel with its error, and
the page still renders.

Examples
--------
>>> panel = Panel(key="drift", title="drift per feature", columns=("feature", "score"),
...               rows=(("age", 0.12),))
>>> panel.to_dict()["rows"]
[['age', 0.12]]
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import plotly.graph_objects as go

from lifelong.config import PipelineConfig
from lifelong.events.store import EventStore
from lifelong.labels import Labeler
from lifelong.registry import Registry
from lifelong.registry.types import ModelVersion

if TYPE_CHECKING:
    from lifelong.dashboard.server_link import PredictionServer
    from lifelong.training.bundle import ModelBundle

log = logging.getLogger(__name__)

Section = Literal["metrics", "deployments"]


@dataclass(frozen=True)
class Panel:
    """A titled section: a note, an optional Plotly figure and an optional table.

    Parameters
    ----------
    key
        Stable identifier (``drift``, ``estimated_performance``, ``live``...).
    title
        Heading shown on the page.
    section
        Where it goes: beside the metrics over time, or beside the deployments.
    note
        A sentence under the heading (what is shown, or why nothing is).
    figure
        A Plotly figure; its axes should name their units.
    columns, rows
        A table.
    available
        False for a placeholder: the data is absent or its provider failed.
    """

    key: str
    title: str
    section: Section = "metrics"
    note: str = ""
    figure: go.Figure | None = None
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[Any, ...], ...] = ()
    available: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "section": self.section,
            "note": self.note,
            "columns": list(self.columns),
            "rows": [list(row) for row in self.rows],
            "available": self.available,
            "has_figure": self.figure is not None,
        }


@dataclass(frozen=True)
class PanelContext:
    """What a provider may read to build its panels for one model.

    ``pipeline`` is the :class:`lifelong.runtime.Pipeline` when the dashboard was opened on a
    spec; ``load_bundle`` loads a version's verified model bundle; ``server`` is the linked
    prediction server, if any.
    """

    model: str
    registry: Registry
    store: EventStore | None
    labeler: Labeler | None
    config: PipelineConfig | None
    pipeline: Any = None
    load_bundle: Callable[[ModelVersion], ModelBundle] | None = None
    server: PredictionServer | None = None
    extra: dict[str, Any] = field(default_factory=dict)


Provider = Callable[[PanelContext], Sequence[Panel]]


def collect_panels(
    context: PanelContext, providers: Sequence[tuple[str, Section, Provider]]
) -> list[Panel]:
    """The panels of every ``(title, section, provider)`` for ``context.model``."""
    panels: list[Panel] = []
    for title, section, provider in providers:
        try:
            panels.extend(panel for panel in provider(context) if isinstance(panel, Panel))
        except Exception as exc:  # a broken panel must not take the page down
            log.exception("dashboard: the %s panel failed for %r", title, context.model)
            note = f"could not be computed: {type(exc).__name__}: {exc}"
            panels.append(
                Panel(title.replace(" ", "_"), title, section, note=note, available=False)
            )
    return panels


__all__ = ["Panel", "PanelContext", "Provider", "Section", "collect_panels"]
