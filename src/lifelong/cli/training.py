"""Training commands: ``lifelong reproduce MODEL VERSION``; warm starts of ``lifelong retrain``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from lifelong.cli.app import (
    ConfigOption,
    JsonFlag,
    _emit,
    _pipeline,
    app,
    console,
    handled,
    progress_display,
)
from lifelong.errors import ConfigError, NotFoundError


@app.command()
def reproduce(
    model: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[str, typer.Argument(help="Version to rebuild (MAJOR.MINOR).")],
    config: ConfigOption = Path("lifelong.yaml"),
    tolerance: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            help="Largest absolute probability difference accepted for families that are not bit-exact (default 1e-6).",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Rebuild VERSION from its parent, snapshot and recorded spec, and check its predictions.

    LightGBM and XGBoost must match bit for bit; other families within --tolerance.
    Exit code 1 when the predictions do not match.
    """
    from lifelong.training.reproduce import reproduce as rebuild

    with handled():
        pipeline = _pipeline(config)
        try:
            with progress_display(enabled=not as_json) as progress:
                task = progress.add_task(f"{model} {version}: retraining from its parent and snapshot", total=1)
                report = rebuild(pipeline, model, version, tolerance=tolerance)
                progress.update(task, completed=1, description=f"{model} {version}: rebuilt")
        finally:
            pipeline.close()
        if as_json:
            _emit(report.to_dict())
        else:
            for line in report.lines():
                console.print(line, highlight=False, soft_wrap=True)
        if not report.matched:
            raise typer.Exit(1)


def with_warm_start(pipeline: Any, *, distill: bool, grow: bool, from_scratch: bool) -> None:
    """Make ``pipeline``'s model start from the champion (``--distill`` / ``--grow``), or refuse.

    The spec's model must be a PyTorch model whose shape differs from the champion's: the new
    version is a model iteration (the next MAJOR) that starts from the champion instead of cold.
    """
    if not (distill or grow):
        return
    from lifelong.config.models import DistillWarmStart, GrowWarmStart, TorchNetConfig
    from lifelong.orchestrator import Orchestrator

    flag = "--distill" if distill else "--grow"
    if distill and grow:
        raise ConfigError("--distill/--grow: expected one way to start from the champion, got both")
    if from_scratch:
        raise ConfigError(f"--from-scratch: starts cold, expected it without {flag}, got both")
    model = pipeline.config.model
    if not isinstance(model, TorchNetConfig):
        raise ConfigError(
            f"{flag}: expected a torch_mlp or torch_embedding model in the spec, got kind {model.kind!r}"
        )
    orchestrator = Orchestrator(pipeline)
    champion = orchestrator.champion()
    if champion is None:
        raise NotFoundError(f"{flag}: expected a champion of {pipeline.name!r} to start from, got none")
    if orchestrator.bundle(champion).model_hash == pipeline.training_spec().model_hash:
        raise ConfigError(
            f"{flag}: expected the spec's model to differ in shape from champion {champion.version} "
            "(a model iteration: other hidden widths, features or activation), got the champion's own shape"
        )
    previous = model.warm_start
    keep: DistillWarmStart | GrowWarmStart
    if distill:
        keep = previous if isinstance(previous, DistillWarmStart) else DistillWarmStart(kind="distill")
    else:
        keep = previous if isinstance(previous, GrowWarmStart) else GrowWarmStart(kind="grow")
    changed = model.model_copy(update={"warm_start": keep})
    pipeline.config = pipeline.config.model_copy(update={"model": changed})


__all__ = ["reproduce", "with_warm_start"]
