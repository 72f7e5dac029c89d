"""Commands that show the loop: ``dashboard`` (web UI) and ``report-html`` (static report)."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Annotated, Any

import typer

from lifelong.cli.app import ConfigOption, _pipeline, app, console, errors, handled
from lifelong.errors import ConfigError

TOKEN_VARIABLE = "LIFELONG_ADMIN_TOKEN"


def write_pipeline_report(
    config: Path,
    output: Path,
    *,
    summary: dict[str, Any] | None = None,
    simulation: dict[str, Any] | None = None,
    model: str | None = None,
    option: str = "--report",
) -> Path:
    """Write the static report of the pipeline of ``config`` (with a demo ``summary``) to ``output``.

    With only a ``simulation`` and no spec file at ``config``, the report holds the simulation.
    ``option`` names the command-line option of ``output`` in errors.
    """
    from lifelong.dashboard import pipeline_report

    if simulation is not None and summary is None and model is None and not config.exists():
        return write_simulation_report(simulation, output, option=option)
    pipeline = _pipeline(config)
    try:
        with errors.status("measuring served performance and drawing the charts"):
            html = pipeline_report(pipeline, summary=summary, simulation=simulation, model=model)
    finally:
        pipeline.close()
    return _write(output, html, option)


def write_simulation_report(simulation: dict[str, Any], output: Path, *, option: str = "--report") -> Path:
    """Write the static report of a simulation (``lifelong simulate``'s results) to ``output``."""
    from lifelong.dashboard import build_report

    return _write(output, build_report(simulation=simulation, title="lifelong simulation"), option)


def _write(output: Path, html: str, option: str) -> Path:
    from lifelong.dashboard import write_report

    try:
        return write_report(output, html)
    except OSError as exc:
        raise ConfigError(f"{option}: expected a writable path, cannot write {str(output)!r}: {exc.strerror}") from exc


def _read_json(path: Path | None, option: str, writer: str) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{option}: cannot read {str(path)!r}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{option}: expected JSON written by '{writer}', got {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{option}: expected a JSON object, got {type(data).__name__}")
    return data


@app.command("report-html")
def report_html(
    config: ConfigOption = Path("lifelong.yaml"),
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the HTML file.")
    ] = Path("lifelong-report.html"),
    model: Annotated[
        str | None, typer.Option(help="Model to report on (default: the spec's).")
    ] = None,
    summary: Annotated[
        Path | None, typer.Option(help="A demo summary (lifelong demo --json) to include.")
    ] = None,
    simulation: Annotated[
        Path | None,
        typer.Option(help="A simulation (lifelong simulate --json) to include; no spec needed."),
    ] = None,
) -> None:
    """Write a self-contained HTML report: lineage, metrics over time, deployments, evaluations."""
    with handled():
        path = write_pipeline_report(
            config,
            output,
            summary=_read_json(summary, "--summary", "lifelong demo --json"),
            simulation=_read_json(simulation, "--simulation", "lifelong simulate --json"),
            model=model,
            option="--output",
        )
        console.print(f"report: {path}")


@app.command()
def dashboard(
    config: ConfigOption = Path("lifelong.yaml"),
    host: Annotated[
        str, typer.Option(help="Bind address (stays on the loopback interface by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8050,
    server: Annotated[
        str | None,
        typer.Option(help="URL of a running 'lifelong serve': live numbers of its experiments."),
    ] = None,
) -> None:
    """Serve the web dashboard: models, lineage, metrics, deployments, evaluations and actions.

    Actions (promote, rollback, experiments) need the admin token: LIFELONG_ADMIN_TOKEN, or a
    random one printed at start. With --server, experiments start and stop on that prediction
    server (its admin token is LIFELONG_ADMIN_TOKEN too; LIFELONG_API_TOKEN if it asks for one).
    """
    from lifelong.dashboard import DashboardSource, PredictionServer, create_dashboard
    from lifelong.serving import serve

    with handled():
        pipeline = _pipeline(config)
        token = os.environ.get(TOKEN_VARIABLE)
        if token is None:
            token = secrets.token_urlsafe(18)
            console.print(
                f"admin token for actions (set {TOKEN_VARIABLE} to choose one): {token}",
                highlight=False,
            )
        link = None
        if server is not None:
            link = PredictionServer(
                server,
                admin_token=os.environ.get(TOKEN_VARIABLE),
                api_token=os.environ.get("LIFELONG_API_TOKEN"),
            )
        source = DashboardSource.from_pipeline(pipeline, server=link)
        web = create_dashboard(
            source, admin_token=token, allowed_hosts=("127.0.0.1", "localhost", host)
        )
        shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host
        console.print(
            f"dashboard of {source.registry.url}: http://{shown}:{port}/", highlight=False
        )
        try:
            serve(web, host=host, port=port, log_level="warning")
        finally:
            source.close()


__all__ = ["dashboard", "report_html", "write_pipeline_report", "write_simulation_report"]
