"""``lifelong labels``: labeling-function statistics, the human labeling queue, imports."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import typer
from rich.table import Table

from lifelong.cli.app import ConfigOption, JsonFlag, _emit, _pipeline, app, console, handled
from lifelong.errors import ConfigError, DataError, NotFoundError

Priority = Literal["uncertainty", "drift"]
FileFormat = Literal["csv", "json"]

labels_app = typer.Typer(
    name="labels",
    help="Labels: labeling-function stats, export a labeling queue, import annotators' answers.",
    no_args_is_help=True,
)
app.add_typer(labels_app, name="labels")

SinceOption = Annotated[
    str | None, typer.Option("--since", help="Window start (ISO time; default: all).")
]
UntilOption = Annotated[
    str | None, typer.Option("--until", help="Window end (ISO time; default: all).")
]
NowOption = Annotated[
    str | None, typer.Option("--now", help="The present (ISO time; default: the wall clock).")
]


def parse_time(text: str | None, *, option: str) -> datetime | None:
    """An ISO time given on the command line (UTC when it has no offset), or None."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(
            f"{option}: expected an ISO time such as 2024-03-01T12:00, got {text!r}"
        ) from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _now(text: str | None) -> datetime:
    return parse_time(text, option="--now") or datetime.now(UTC)


def stats_tables(stats: dict[str, Any]) -> list[Table]:
    from lifelong.labels.analysis import unflatten

    overall = Table(title="labeled window")
    overall.add_column("stat")
    overall.add_column("value", justify="right")
    for key, value in stats.items():
        if not key.startswith("lf."):
            overall.add_row(
                key,
                "-"
                if value is None
                else f"{value:.4g}"
                if isinstance(value, float)
                else str(value),
            )
    tables = [overall]
    functions = unflatten(stats)
    if functions:
        table = Table(title="labeling functions (Snorkel LFAnalysis definitions)")
        for column in ("function", "coverage", "overlap", "conflict"):
            table.add_column(column, justify="left" if column == "function" else "right")
        for name, values in functions.items():
            table.add_row(
                name,
                *(
                    "-" if values.get(m) is None else f"{values[m]:.3f}"
                    for m in ("coverage", "overlap", "conflict")
                ),
            )
        tables.append(table)
    return tables


@labels_app.command("stats")
def stats(
    config: ConfigOption = Path("lifelong.yaml"),
    since: SinceOption = None,
    until: UntilOption = None,
    now: NowOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Label the window and show its statistics (coverage, overlap, conflict per function)."""
    from lifelong.labels.analysis import unflatten

    with handled():
        pipeline = _pipeline(config)
        window = pipeline.labeler.label(
            pipeline.store,
            parse_time(since, option="--since"),
            parse_time(until, option="--until"),
            now=_now(now),
        )
        sources = (
            window.frame["label_source"].value_counts().to_dict()
            if "label_source" in window.frame
            else {}
        )
        if as_json:
            general = {k: v for k, v in window.stats.items() if not k.startswith("lf.")}
            _emit(
                {"stats": general, "functions": unflatten(window.stats), "label_sources": sources}
            )
            return
        for table in stats_tables(window.stats):
            console.print(table)
        console.print(f"label sources: {sources or '-'}")


@labels_app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", "-o", help="The queue file (.csv or .json).")],
    config: ConfigOption = Path("lifelong.yaml"),
    by: Annotated[
        str,
        typer.Option(
            help="Priority: 'uncertainty' (champion least sure first) or 'drift' (farthest from its training snapshot first)."
        ),
    ] = "uncertainty",
    limit: Annotated[int, typer.Option(min=1, help="Rows to export.")] = 100,
    since: SinceOption = None,
    until: UntilOption = None,
    now: NowOption = None,
    unlabeled_only: Annotated[
        bool, typer.Option("--unlabeled-only", help="Leave out rows that already have a label.")
    ] = False,
    file_format: Annotated[
        str | None, typer.Option("--format", help="csv or json (default: from the file name).")
    ] = None,
) -> None:
    """Export the rows annotators should label first."""
    from lifelong.labels.queue import (
        build_queue,
        candidate_rows,
        drift_scores,
        uncertainty_scores,
        write_queue,
    )
    from lifelong.orchestrator import CHAMPION, Orchestrator

    with handled():
        if by not in ("uncertainty", "drift"):
            raise ConfigError(f"--by: expected 'uncertainty' or 'drift', got {by!r}")
        if file_format not in (None, "csv", "json"):
            raise ConfigError(f"--format: expected 'csv' or 'json', got {file_format!r}")
        pipeline = _pipeline(config)
        labels = pipeline.config.labels
        champion = pipeline.registry.get_alias(pipeline.name, CHAMPION)
        if champion is None:
            raise NotFoundError(
                f"model {pipeline.name!r}: expected a champion to rank rows with, got none (train and promote one first)"
            )
        present = _now(now)
        rows = candidate_rows(
            pipeline.store,
            rows_stream=labels.rows_stream,
            key=labels.row_key,
            start=parse_time(since, option="--since"),
            end=parse_time(until, option="--until"),
            now=present,
            human_stream=labels.human.stream if labels.human is not None else "human_labels",
            labeler=pipeline.labeler if unlabeled_only else None,
        )
        if rows.empty:
            raise DataError(
                f"{labels.rows_stream}: expected rows without a human label in the window, got none"
            )
        if by == "uncertainty":
            bundle = Orchestrator(pipeline).bundle(champion)
            scores = uncertainty_scores(bundle.predict_proba_frame(rows))
        else:
            snapshot = champion.lineage.snapshot
            if snapshot is None:
                raise DataError(
                    f"champion {champion.version}: expected a training snapshot with feature stats, got none"
                )
            scores = drift_scores(rows, snapshot.stats, pipeline.features.numeric)
        queue = build_queue(
            rows,
            scores,
            by=cast(Priority, by),
            key=labels.row_key,
            columns=pipeline.features.columns,
            limit=limit,
        )
        written = write_queue(queue, out, format=cast(FileFormat | None, file_format))
        console.print(
            f"wrote {len(queue)} of {len(rows)} candidate rows to {written} (by {by}, champion {champion.version})"
        )


@labels_app.command("import")
def import_(
    answers: Annotated[
        Path,
        typer.Argument(
            help="Annotators' answers (.csv or .json): the key column, label, and optionally annotator and labeled_at."
        ),
    ],
    config: ConfigOption = Path("lifelong.yaml"),
    annotator: Annotated[
        str | None, typer.Option(help="Annotator of rows without an 'annotator' column.")
    ] = None,
    now: NowOption = None,
    file_format: Annotated[
        str | None, typer.Option("--format", help="csv or json (default: from the file name).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Validate annotators' answers and store them as human labels (all or nothing)."""
    from lifelong.labels.answers import import_answers, read_answers

    with handled():
        if file_format not in (None, "csv", "json"):
            raise ConfigError(f"--format: expected 'csv' or 'json', got {file_format!r}")
        pipeline = _pipeline(config)
        labels = pipeline.config.labels
        if labels.human is None:
            raise ConfigError(
                "labels.human: expected a human-labels section to import answers into (add `human: {}`), got none"
            )
        frame = read_answers(answers, format=cast(FileFormat | None, file_format))
        report = import_answers(
            pipeline.store,
            frame,
            rows_stream=labels.rows_stream,
            key=labels.row_key,
            classes=labels.human.classes,
            annotator=annotator,
            now=_now(now),
            stream=labels.human.stream,
            source=answers.name,
        )
        summary = {
            "written": report.written,
            "duplicates": report.duplicates,
            "skipped": report.skipped,
            "annotators": list(report.annotators),
        }
        if as_json:
            _emit(summary)
        else:
            console.print(
                f"imported {report.written} answers into {labels.human.stream!r} "
                f"({report.duplicates} already there, {report.skipped} blank skipped; annotators: {', '.join(report.annotators) or '-'})"
            )


__all__ = ["labels_app", "parse_time", "stats_tables"]
