"""``lifelong report MODEL VERSION``: the evaluation report of a version, gate by gate, and its live test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from lifelong.cli.app import ConfigOption, JsonFlag, _emit, _pipeline, app, console, handled


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (dict, list)):
        text = json.dumps(value, default=str)
        return text if len(text) <= 80 else text[:77] + "..."
    return str(value)


def report_record(version: Any) -> dict[str, Any]:
    """What ``report`` shows: the verdict, every gate with its measured values, the live test."""
    evaluation = dict(version.evaluation)
    return {
        "model": version.model,
        "version": version.version,
        "status": version.status,
        "parent": version.lineage.parent,
        "evaluation": evaluation,
        "live_test": version.metrics.get("live_test"),
    }


def gates_table(record: dict[str, Any]) -> Table:
    evaluation = record["evaluation"]
    table = Table(title=f"{record['model']} {record['version']}: {record['status']}")
    for column in ("gate", "passed", "reason", "measured"):
        table.add_column(column, overflow="fold")
    for gate in evaluation.get("gates", []):
        values = gate.get("values", {})
        shown = ", ".join(f"{key}={_value(value)}" for key, value in values.items() if key not in ("slices", "checks"))
        table.add_row(gate.get("gate", "?"), "yes" if gate.get("passed") else "NO", gate.get("reason", ""), shown)
        for item in values.get("slices", []):
            table.add_row(
                f"  {item['column']}={item['value']}",
                "yes" if item["passed"] else "NO",
                f"{item['rows']} rows{'' if item['judged'] else ' (not judged)'}",
                f"challenger={_value(item['challenger'])}, champion={_value(item['champion'])}, gain={_value(item['gain'])}",
            )
        for item in values.get("checks", []):
            table.add_row(f"  {item.get('kind')} {item.get('column')}", "yes" if item.get("passed") else "NO", item.get("reason", ""), "")
    return table


@app.command()
def report(
    model: str,
    version: Annotated[str, typer.Argument(help="The version whose report to show.")],
    config: ConfigOption = Path("lifelong.yaml"),
    as_json: JsonFlag = False,
) -> None:
    """Show the evaluation report of VERSION: each gate's verdict and measured values, and its live test."""
    with handled():
        registry = _pipeline(config).registry
        record = report_record(registry.get(model, version))
        if as_json:
            _emit(record)
            return
        evaluation = record["evaluation"]
        if not evaluation:
            console.print(f"{model} {version}: no evaluation recorded (status {record['status']})")
        else:
            console.print(gates_table(record))
            champion = evaluation.get("champion")
            versus = f" vs champion {evaluation.get('champion_version')} {_value(champion)}" if champion is not None else ""
            console.print(
                f"{evaluation.get('metric')} {_value(evaluation.get('challenger'))}{versus} on {evaluation.get('rows')} held-out rows; "
                f"verdict: {'passed' if evaluation.get('passed') else 'rejected'} ({evaluation.get('reason')})"
            )
        live = record["live_test"]
        if live:
            console.print(f"live test: {live.get('action')} ({live.get('reason')})")


__all__ = ["gates_table", "report", "report_record"]
