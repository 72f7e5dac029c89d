"""Stage 1 and loop commands: init, check, demo, retrain, promote, rollback, versions, lineage, serve (``run`` is in run.py, ``ingest`` in ingest.py)."""

from __future__ import annotations

import json
import os
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any

import typer

from lifelong.cli.app import (
    ConfigOption,
    JsonFlag,
    _config,
    _emit,
    _pipeline,
    app,
    console,
    handled,
    progress_display,
)
from lifelong.errors import ConfigError, DataError, NotFoundError
from lifelong.example_config import EXAMPLE_CONFIG


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the example spec.")] = Path("lifelong.yaml"),
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented example lifelong.yaml."""
    with handled():
        if path.exists() and not force:
            raise ConfigError(f"{path}: expected a new file, got an existing one (use --force to overwrite)")
        path.write_text(EXAMPLE_CONFIG)
        console.print(f"wrote {path}")


@app.command()
def check(config: ConfigOption = Path("lifelong.yaml")) -> None:
    """Validate a pipeline spec and print it normalized."""
    with handled():
        spec = _config(config)
        _emit(spec.model_dump(mode="json", by_alias=True))


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option(help="Folder for the demo's registry, events and spec.")] = Path(".lifelong-demo"),
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the summary as JSON here.")] = None,
    days: Annotated[int, typer.Option(min=3, max=365, help="Simulated days.")] = 30,
    impressions_per_day: Annotated[int, typer.Option(min=240, help="Impressions per simulated day.")] = 1200,
    shift_day: Annotated[int, typer.Option(min=1, help="Day of the sudden shift (0-based).")] = 18,
    seed: Annotated[int, typer.Option(help="Simulator seed.")] = 7,
    report: Annotated[Path | None, typer.Option("--report", help="Write a self-contained HTML report here.")] = None,
) -> None:
    """Run the self-contained continual-learning demo (simulated click-through stream)."""
    from lifelong.demo import run_demo
    from lifelong.views import demo_tables

    with handled():
        if shift_day >= days:
            raise ConfigError(f"--shift-day: expected a day before --days ({days}), got {shift_day}")
        with progress_display() as progress:
            task = progress.add_task("replaying", total=days * 24)

            def advance(done: int, total: int, label: str) -> None:
                progress.update(task, completed=done, description=label)

            summary = run_demo(workdir, days=days, impressions_per_day=impressions_per_day, shift_day=shift_day, seed=seed, progress=advance)
        data = summary.to_dict()
        for table in demo_tables(data):
            console.print(table)
        if json_path is not None:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(json.dumps(data, indent=2, default=str))
            console.print(f"summary: {json_path}")
        if report is not None:
            from lifelong.cli.dashboard import write_pipeline_report

            console.print(f"report: {write_pipeline_report(workdir / 'lifelong.yaml', report, summary=data)}")
        console.print(f"registry and events: {summary.home} (try: lifelong versions ctr -c {workdir / 'lifelong.yaml'})")


def _now_of_data(pipeline: Any) -> datetime:
    """The replay's present: just after the newest stored event, or the wall clock when empty."""
    latest: datetime | None = None
    for stream in pipeline.store.streams():
        frame = pipeline.store.window(stream, columns=["event_time"])
        if len(frame):
            value = frame["event_time"].max().to_pydatetime()
            latest = value if latest is None or value > latest else latest
    return (latest + timedelta(seconds=1)) if latest is not None else datetime.now(timezone.utc)


@app.command()
def retrain(
    model: Annotated[str, typer.Argument(help="Model name (must match the spec).")],
    config: ConfigOption = Path("lifelong.yaml"),
    from_scratch: Annotated[bool, typer.Option("--from-scratch", help="Stateless: fit a fresh model instead of updating the champion.")] = False,
    distill: Annotated[bool, typer.Option("--distill", help="Model iteration: train the spec's new model with the champion as teacher.")] = False,
    grow: Annotated[bool, typer.Option("--grow", help="Model iteration: widen/deepen the champion's network into the spec's hidden widths, same function, then fine-tune.")] = False,
) -> None:
    """Train a challenger now (Stage 1), gate it, and promote it if the spec says so."""
    from lifelong.cli.training import with_warm_start
    from lifelong.orchestrator import Orchestrator, SkippedUpdate
    from lifelong.registry.types import TrainingMode
    from lifelong.triggers import Decision

    with handled(), closing(_pipeline(config)) as pipeline:
        if model != pipeline.name:
            raise NotFoundError(f"model: expected {pipeline.name!r} (the spec's name), got {model!r}")
        with_warm_start(pipeline, distill=distill, grow=grow, from_scratch=from_scratch)
        mode = TrainingMode.STATELESS if from_scratch else None
        with progress_display() as progress:
            task = progress.add_task(f"{model}: finding the newest stored event", total=2)
            now = _now_of_data(pipeline)
            how = "stateless, from scratch" if from_scratch else pipeline.config.training.mode
            progress.update(task, completed=1, description=f"{model}: training ({how}), evaluating, gating")
            outcome = Orchestrator(pipeline).update(now, Decision(True, "manual", "requested from the command line"), mode=mode)
            progress.update(task, completed=2, description=f"{model}: trained")
        if isinstance(outcome, SkippedUpdate):
            raise DataError(outcome.reason)
        verdict = "promoted" if outcome.promoted else "not promoted"
        warm = "" if not (distill or grow) else f", {'distilled' if distill else 'grown'} from {outcome.parent}"
        console.print(f"{model} {outcome.version} ({outcome.mode}{warm}, parent {outcome.parent or '-'}): {verdict}: {outcome.report['reason']}")
        for failure in outcome.failed:
            console.print(f"challenger {failure['name']} failed to train and was left out: {failure['error']}")


@app.command()
def promote(
    model: str,
    version: str,
    config: ConfigOption = Path("lifelong.yaml"),
    reason: Annotated[str, typer.Option(help="Why; kept in the alias history.")] = "promoted from the command line",
    force: Annotated[bool, typer.Option(help="Promote even a version the gates rejected.")] = False,
) -> None:
    """Make VERSION the champion of MODEL (atomic; kept in the alias history)."""
    from lifelong.deployment import promote as do_promote

    with handled():
        pipeline = _pipeline(config)
        change = do_promote(pipeline.registry, model, version, actor=_actor(), reason=reason, force=force)
        console.print(f"{model}: champion {change.from_version or '-'} → {change.to_version}")


@app.command()
def rollback(
    model: str,
    config: ConfigOption = Path("lifelong.yaml"),
    reason: Annotated[str, typer.Option(help="Why; kept in the alias history.")] = "rolled back from the command line",
) -> None:
    """Restore the previous champion of MODEL."""
    from lifelong.deployment import rollback as do_rollback

    with handled():
        pipeline = _pipeline(config)
        change = do_rollback(pipeline.registry, model, actor=_actor(), reason=reason)
        console.print(f"{model}: champion {change.from_version or '-'} → {change.to_version}")


def _actor() -> str:
    return os.environ.get("LIFELONG_ACTOR") or os.environ.get("USER") or "cli"


def _aliases(registry: Any, model: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for alias in ("champion", "challenger"):
        version = registry.alias_version(model, alias)
        if version is not None:
            found.setdefault(version, []).append(alias)
    return found


@app.command()
def versions(model: str, config: ConfigOption = Path("lifelong.yaml"), as_json: JsonFlag = False) -> None:
    """List the versions of MODEL with parents, triggers and verdicts."""
    from lifelong.views import version_record, versions_table

    with handled():
        registry = _pipeline(config).registry
        found = registry.versions(model)
        if not found:
            raise NotFoundError(f"model {model!r}: no versions in the registry")
        aliases = _aliases(registry, model)
        if as_json:
            _emit([version_record(v, aliases) for v in found])
        else:
            console.print(versions_table(model, found, aliases))


@app.command()
def lineage(
    model: str,
    version: Annotated[str | None, typer.Argument(help="Version (default: the champion).")] = None,
    config: ConfigOption = Path("lifelong.yaml"),
    as_json: JsonFlag = False,
) -> None:
    """Show where a version came from: parents, snapshots, config, code and triggers."""
    from lifelong.views import alias_record, lineage_table, version_record

    with handled():
        registry = _pipeline(config).registry
        chosen = version or registry.alias_version(model, "champion")
        if chosen is None:
            raise NotFoundError(f"model {model!r}: no champion; name a version")
        chain = list(registry.lineage(model, chosen))
        if as_json:
            _emit({"chain": [version_record(v) for v in chain], "aliases": [alias_record(c) for c in registry.alias_history(model)]})
        else:
            console.print(lineage_table(chain))


@app.command()
def serve(
    config: ConfigOption = Path("lifelong.yaml"),
    host: Annotated[str | None, typer.Option(help="Bind address (default from the spec: 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from the spec).")] = None,
) -> None:
    """Serve the champion (Open Inference Protocol v2 and plain JSON); follows promotions live."""
    from lifelong.serving import serve as run_uvicorn
    from lifelong.serving.routed_app import build_routed_app

    with handled():
        pipeline = _pipeline(config)
        bind = host or pipeline.config.serving.host
        app = build_routed_app(
            pipeline.registry,
            pipeline.store,
            deployment=pipeline.config.deployment,
            admin_token=os.environ.get("LIFELONG_ADMIN_TOKEN"),
            api_token=os.environ.get("LIFELONG_API_TOKEN"),
            allowed_hosts=pipeline.config.serving.host_allow_list(bind),
        )
        run_uvicorn(app, host=bind, port=port or pipeline.config.serving.port)


