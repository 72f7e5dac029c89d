"""The lineage tree of a model: versions, parents, iterations, triggers, promotions.

Versions are laid out like a branch graph: one lane per MAJOR for the versions that served
as champion, and a lane below it for those that never did (rejected, or waiting). Registration
order runs left to right.

Examples
--------
>>> nodes = [
...     {"version": "1.0", "parent": None, "ever_champion": True},
...     {"version": "1.1", "parent": "1.0", "ever_champion": False},
...     {"version": "1.2", "parent": "1.0", "ever_champion": True},
...     {"version": "2.0", "parent": "1.2", "ever_champion": False},
... ]
>>> [(node["version"], node["x"], node["lane"]) for node in tree_layout(nodes)[0]]
[('1.0', 0, 0), ('1.1', 1, 1), ('1.2', 2, 0), ('2.0', 3, 3)]
>>> tree_layout(nodes)[1]
{0: '1.x served', 1: '1.x never served', 2: '2.x served', 3: '2.x never served'}
"""

from __future__ import annotations

from typing import Any

from lifelong.registry import Registry
from lifelong.registry.types import AliasChange, ModelVersion
from lifelong.views import alias_record, version_record

CHAMPION = "champion"
CHALLENGER = "challenger"


def _major(version: str) -> str:
    return version.partition(".")[0]


def tree_layout(nodes: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """Give each node (in registration order) an ``x`` (its position) and a ``lane``.

    Returns the nodes with ``x`` and ``lane`` set, and the label of each lane.
    """
    majors: list[str] = []
    for node in nodes:
        major = _major(str(node["version"]))
        if major not in majors:
            majors.append(major)
    labels: dict[int, str] = {}
    for index, major in enumerate(majors):
        labels[2 * index] = f"{major}.x served"
        labels[2 * index + 1] = f"{major}.x never served"
    placed = []
    for x, node in enumerate(nodes):
        base = 2 * majors.index(_major(str(node["version"])))
        placed.append({**node, "x": x, "lane": base if node.get("ever_champion") else base + 1})
    return placed, labels


def _promotions(history: list[AliasChange]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for change in history:
        if change.alias == CHAMPION and change.to_version is not None:
            found.setdefault(change.to_version, []).append(alias_record(change))
    return found


def version_rows(registry: Registry, model: str) -> list[dict[str, Any]]:
    """Every version of ``model`` as a JSON-ready record, with who made it champion and when.

    Beyond :func:`lifelong.views.version_record`: ``promotions`` (each time it became
    champion: actor, time, reason), ``ever_champion``, ``holdout`` (the metric on held-out
    rows at evaluation), ``champion_at_evaluation`` and ``verdict``.
    """
    aliases: dict[str, list[str]] = {}
    for alias, pointed in registry.aliases(model).items():
        aliases.setdefault(pointed, []).append(alias)
    promotions = _promotions(registry.alias_history(model))
    rows = []
    for version in sorted(registry.versions(model), key=_registration_order):
        record = version_record(version, aliases)
        evaluation = version.evaluation
        record["promotions"] = promotions.get(version.version, [])
        record["ever_champion"] = bool(record["promotions"])
        record["holdout"] = _number(evaluation.get("challenger"))
        record["champion_at_evaluation"] = _number(evaluation.get("champion"))
        record["holdout_metric"] = evaluation.get("metric")
        record["verdict"] = _verdict(version)
        rows.append(record)
    return rows


def _registration_order(version: ModelVersion) -> tuple[Any, int, int]:
    return (version.created_at, version.major, version.minor)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _verdict(version: ModelVersion) -> str:
    passed = version.evaluation.get("passed")
    if passed is True:
        return "passed"
    if passed is False:
        return "rejected"
    return "not evaluated"


def alias_events(registry: Registry, model: str) -> list[dict[str, Any]]:
    """Every alias move of ``model``, newest first."""
    return [alias_record(change) for change in reversed(registry.alias_history(model))]


def model_summaries(registry: Registry) -> list[dict[str, Any]]:
    """One line per registered model: versions, champion, challenger, last alias move."""
    summaries = []
    for name in registry.models():
        versions = registry.versions(name)
        history = registry.alias_history(name)
        aliases = registry.aliases(name)
        last = alias_record(history[-1]) if history else None
        summaries.append(
            {
                "model": name,
                "versions": len(versions),
                "latest": versions[-1].version if versions else None,
                "champion": aliases.get(CHAMPION),
                "challenger": aliases.get(CHALLENGER),
                "last_change": last,
            }
        )
    return summaries


__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "alias_events",
    "model_summaries",
    "tree_layout",
    "version_rows",
]
