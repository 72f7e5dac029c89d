"""Training commands: ``lifelong reproduce MODEL VERSION``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lifelong.cli.app import ConfigOption, JsonFlag, _emit, _pipeline, app, console, handled, progress_display


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


__all__ = ["reproduce"]
