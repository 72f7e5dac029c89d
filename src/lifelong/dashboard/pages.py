"""One model's page: lineage, metrics over time, deployments, evaluations, ready to render.

Examples
--------
>>> configured_split(None, {"champion": "1.2"})
'champion 1.2 answers every request'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from lifelong.dashboard.charts import holdout_figure, lineage_figure, served_figure, traffic_figure
from lifelong.dashboard.lineage import CHALLENGER, CHAMPION
from lifelong.dashboard.panels import Panel
from lifelong.dashboard.served import ServedMetrics
from lifelong.errors import NotFoundError


def configured_split(deployment: Any, aliases: dict[str, str]) -> str:
    """Which version answers what share of new requests, as the spec's deployment section says.

    Examples
    --------
    >>> configured_split(None, {"champion": "1.2"})
    'champion 1.2 answers every request'
    """
    champion = f"champion {aliases.get(CHAMPION, '(none)')}"
    kind = getattr(deployment, "kind", None)
    if kind in (None, "direct", "manual"):
        return f"{champion} answers every request"

    def named(alias: str) -> str:
        return f"{alias} {aliases.get(alias, '(not set)')}"

    challengers = ", ".join(named(alias) for alias in getattr(deployment, "challengers", ()) or ())
    weight = getattr(deployment, "weight", None)
    if kind in ("canary", "ab") and isinstance(weight, float):
        challenger = named(str(getattr(deployment, "challenger", CHALLENGER)))
        return f"{champion} answers {1 - weight:.0%}, {challenger} {weight:.0%} ({kind})"
    if kind == "shadow":
        return f"{champion} answers every request; {challengers} answer copies off the request path (shadow)"
    if kind == "bandit":
        return f"Thompson sampling shares requests between {champion} and {challengers} (bandit)"
    if kind == "interleaving":
        return f"rankings of {champion} and {named(str(getattr(deployment, 'challenger', CHALLENGER)))} are interleaved"
    return f"{champion}; deployment kind {kind!r}"


@dataclass
class ModelPage:
    """One model's lineage, metrics, deployments and evaluations, ready to render."""

    model: str
    metric: str
    versions: list[dict[str, Any]]
    events: list[dict[str, Any]]
    aliases: dict[str, str]
    experiment_alias: str
    deployment: str | None
    split: str
    served: ServedMetrics
    traffic: list[dict[str, Any]]
    panels: list[Panel]
    server: str | None = None

    @property
    def champion(self) -> str | None:
        return self.aliases.get(CHAMPION)

    @property
    def experiment(self) -> str | None:
        """The version the experiment alias points at, or None."""
        return self.aliases.get(self.experiment_alias)

    @property
    def tests_in_production(self) -> bool:
        """Whether the deployment kind routes live traffic to the experiment alias (shadow, canary, A/B...)."""
        return self.deployment not in (None, "direct", "manual")

    def version(self, version: str) -> dict[str, Any]:
        """The record of one version; NotFoundError names the known ones."""
        for row in self.versions:
            if row["version"] == version:
                return row
        known = [row["version"] for row in self.versions]
        raise NotFoundError(
            f"version: expected one of {known} of model {self.model!r}, got {version!r}"
        )

    def figures(self) -> dict[str, go.Figure]:
        """The charts, by name."""
        served = [row.to_dict() for row in self.served.rows]
        figures = {
            "lineage": lineage_figure(self.versions),
            "holdout": holdout_figure(self.versions, metric=self.metric),
        }
        if served:
            figures["served_metric"] = served_figure(served, metric=self.metric, value="metric")
            figures["served_accuracy"] = served_figure(served, metric=self.metric, value="accuracy")
        if self.traffic:
            figures["traffic"] = traffic_figure(self.traffic)
        for panel in self.panels:
            if panel.figure is not None:
                figures[f"panel_{panel.key}"] = panel.figure
        return figures

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "metric": self.metric,
            "champion": self.champion,
            "aliases": self.aliases,
            "experiment": {
                "alias": self.experiment_alias,
                "version": self.experiment,
                "deployment": self.deployment,
                "tests_in_production": self.tests_in_production,
            },
            "versions": self.versions,
            "alias_history": self.events,
            "served": self.served.to_dict(),
            "split": self.split,
            "server": self.server,
            "traffic": self.traffic,
            "panels": [panel.to_dict() for panel in self.panels],
        }


__all__ = ["ModelPage", "configured_split"]
