"""Rich tables and JSON views of versions, lineage and the demo summary."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from lifelong.registry.types import AliasChange, ModelVersion


def version_record(version: ModelVersion, aliases: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """A JSON-ready description of one version and its lineage."""
    lineage = version.lineage
    snapshot = lineage.snapshot
    return {
        "model": version.model,
        "version": version.version,
        "parent": lineage.parent,
        "mode": lineage.mode.value,
        "iteration": lineage.iteration.value,
        "status": version.status,
        "aliases": (aliases or {}).get(version.version, []),
        "created_at": version.created_at.isoformat(),
        "learner": version.learner_kind,
        "artifact_sha256": version.artifact_sha256,
        "snapshot": None
        if snapshot is None
        else {
            "uri": snapshot.uri,
            "sha256": snapshot.sha256,
            "rows": snapshot.rows,
            "start": snapshot.start.isoformat() if snapshot.start else None,
            "end": snapshot.end.isoformat() if snapshot.end else None,
            "source": snapshot.source,
        },
        "config_hash": lineage.config_hash,
        "code_version": lineage.code_version,
        "git_commit": lineage.git_commit,
        "library_versions": lineage.library_versions,
        "trigger": lineage.trigger,
        "metrics": version.metrics,
        "evaluation": version.evaluation,
    }


def alias_record(change: AliasChange) -> dict[str, Any]:
    return {
        "alias": change.alias,
        "from": change.from_version,
        "to": change.to_version,
        "actor": change.actor,
        "reason": change.reason,
        "at": change.at.isoformat(),
    }


def versions_table(model: str, versions: list[ModelVersion], aliases: dict[str, list[str]]) -> Table:
    table = Table(title=f"versions of {model}")
    for column in ("version", "parent", "iteration", "mode", "status", "aliases", "trigger", "rows", "metric"):
        table.add_column(column)
    for version in versions:
        evaluation = version.evaluation
        metric = f"{evaluation.get('metric', '')} {evaluation['challenger']:.4f}" if isinstance(evaluation.get("challenger"), float) else ""
        snapshot = version.lineage.snapshot
        table.add_row(
            version.version,
            version.parent or "-",
            version.lineage.iteration.value,
            version.lineage.mode.value,
            version.status,
            ", ".join(aliases.get(version.version, [])),
            str(version.lineage.trigger.get("kind", "manual")),
            str(snapshot.rows if snapshot else 0),
            metric,
        )
    return table


def lineage_table(chain: list[ModelVersion]) -> Table:
    table = Table(title=f"lineage of {chain[0].model} {chain[0].version}" if chain else "lineage")
    for column in ("version", "parent", "iteration", "mode", "snapshot", "rows", "trigger", "created"):
        table.add_column(column)
    for version in chain:
        snapshot = version.lineage.snapshot
        table.add_row(
            version.version,
            version.parent or "-",
            version.lineage.iteration.value,
            version.lineage.mode.value,
            snapshot.sha256[:12] if snapshot else "-",
            str(snapshot.rows if snapshot else 0),
            str(version.lineage.trigger.get("reason", version.lineage.trigger.get("kind", "manual"))),
            version.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        )
    return table


def demo_tables(summary: dict[str, Any]) -> list[Table]:
    """The three tables the demo ends with."""
    metric = summary["metric"]
    daily = Table(title=f"{metric} per day: static 1.0 vs continually updated (shift on day {summary['shift_day'] + 1})")
    for column in ("day", "static", "lifelong", "gain"):
        daily.add_column(column, justify="right")
    for row in summary["daily"]:
        static, live = row["static_metric"], row["lifelong_metric"]
        gain = f"{live - static:+.4f}" if static is not None and live is not None else "-"
        marker = " ←shift" if row["day"] == summary["shift_day"] + 1 else ""
        daily.add_row(
            f"{row['day']}{marker}",
            "-" if static is None else f"{static:.4f}",
            "-" if live is None else f"{live:.4f}",
            gain,
        )
    versions = Table(title="versions created")
    for column in ("version", "parent", "mode", "iteration", "trigger", "rows", "promoted"):
        versions.add_column(column)
    for row in summary["versions"]:
        versions.add_row(
            row["version"], row["parent"] or "-", row["mode"], row["iteration"], str(row["trigger"]), str(row["rows"]), "yes" if row["promoted"] else "no"
        )
    decisions = Table(title="promotions and rejections")
    for column in ("day", "version", "parent", "decision", "reason"):
        decisions.add_column(column)
    rows = [(r, "promoted") for r in summary["promotions"]] + [(r, "rejected") for r in summary["rejections"]]
    for row, decision in sorted(rows, key=lambda item: item[0]["day"]):
        decisions.add_row(f"{row['day']:.1f}", row["version"], row["parent"] or "-", decision, row["reason"])
    return [daily, versions, decisions]


__all__ = ["alias_record", "demo_tables", "lineage_table", "version_record", "versions_table"]
