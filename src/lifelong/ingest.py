"""Moving events from a source into the event store, and replaying a source through the loop.

Valid rows are appended (idempotent by event id); rows that fail the schema go to the
dead-letter table with their reason. The source's checkpoint is saved only after the batch is
durably stored, so a crash re-reads at most one batch, which the store deduplicates.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from lifelong.config import FileSourceConfig, NaturalLabelsConfig
from lifelong.errors import ConfigError
from lifelong.events import Batch, Checkpoint
from lifelong.orchestrator import Orchestrator, SkippedUpdate, UpdateResult
from lifelong.runtime import Pipeline, build_schema
from lifelong.sources import FileSource


def _checkpoint_path(pipeline: Pipeline) -> Path:
    return pipeline.config.home / "checkpoints" / f"{pipeline.name}.json"


def load_checkpoint(pipeline: Pipeline) -> Checkpoint | None:
    path = _checkpoint_path(pipeline)
    if not path.exists():
        return None
    return Checkpoint(json.loads(path.read_text()))


def save_checkpoint(pipeline: Pipeline, checkpoint: Checkpoint) -> None:
    """Write the checkpoint atomically (temp file, fsync, rename)."""
    path = _checkpoint_path(pipeline)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as handle:
        json.dump(checkpoint.position, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def open_source(pipeline: Pipeline) -> FileSource:
    """The pipeline's source, validating rows against its schema."""
    source = pipeline.config.source
    if not isinstance(source, FileSourceConfig):
        raise ConfigError(f"source.kind: expected 'file' for ingest and run, got {source.kind!r}")
    labels = pipeline.config.labels
    extra = (labels.key,) if isinstance(labels, NaturalLabelsConfig) else ()
    schema = build_schema(pipeline.config.schema_, pipeline.features, extra)
    return FileSource(
        source.path,
        timestamp=source.timestamp,
        id_column=source.id_column,
        stream="events",
        batch_size=source.batch_size,
        schema=schema,
    )


def store_batch(pipeline: Pipeline, batch: Batch) -> dict[str, int]:
    """Append a batch and its dead letters; then commit its checkpoint."""
    result = pipeline.store.append(batch.stream, batch.frame) if batch.rows else None
    dead = pipeline.store.add_dead_letters(list(batch.dead_letters)) if batch.dead_letters else 0
    if batch.checkpoint is not None:
        save_checkpoint(pipeline, batch.checkpoint)
    return {
        "written": result.written if result else 0,
        "duplicates": result.duplicates if result else 0,
        "dead_letters": dead,
    }


def ingest_once(pipeline: Pipeline) -> dict[str, Any]:
    """Read everything the source has beyond the saved checkpoint into the store."""
    totals = {"batches": 0, "written": 0, "duplicates": 0, "dead_letters": 0}
    with open_source(pipeline) as source:
        for batch in source.read(since=load_checkpoint(pipeline)):
            counts = store_batch(pipeline, batch)
            totals["batches"] += 1
            for key, value in counts.items():
                totals[key] += value
    return totals


def run_replay(
    pipeline: Pipeline,
    *,
    step: timedelta,
    progress: Callable[[int, str], None] | None = None,
) -> dict[str, Any]:
    """Replay the source in data time: store each batch, check the triggers every ``step``."""
    if step <= timedelta(0):
        raise ConfigError(f"--step: expected a duration > 0, got {step}")
    updates: list[dict[str, Any]] = []

    def record(outcome: UpdateResult | SkippedUpdate) -> None:
        if isinstance(outcome, UpdateResult):
            updates.append({"version": outcome.version, "parent": outcome.parent, "mode": outcome.mode,
                            "promoted": outcome.promoted, "trigger": outcome.trigger["kind"], "at": outcome.at.isoformat(),
                            "reason": outcome.report["reason"]})
        else:
            updates.append({"skipped": outcome.reason, "at": outcome.at.isoformat()})

    orchestrator = Orchestrator(pipeline, on_update=record)
    totals = {"rows": 0, "dead_letters": 0, "duplicates": 0}
    next_check: datetime | None = None
    last_time: datetime | None = None
    with open_source(pipeline) as source:
        for batch in source.read(since=load_checkpoint(pipeline)):
            counts = store_batch(pipeline, batch)
            totals["rows"] += counts["written"]
            totals["dead_letters"] += counts["dead_letters"]
            totals["duplicates"] += counts["duplicates"]
            if not batch.rows:
                continue
            batch_end = batch.frame["event_time"].max().to_pydatetime()
            last_time = batch_end
            if next_check is None:
                next_check = batch.frame["event_time"].min().to_pydatetime() + step
            while next_check <= batch_end:
                orchestrator.step(next_check)
                next_check += step
            if progress is not None:
                progress(totals["rows"], f"replayed to {batch_end:%Y-%m-%d %H:%M}")
    if last_time is not None:
        orchestrator.step(last_time + timedelta(microseconds=1))
    return {**totals, "updates": updates, "champion": pipeline.registry.alias_version(pipeline.name, "champion")}


__all__ = ["ingest_once", "load_checkpoint", "open_source", "run_replay", "save_checkpoint", "store_batch"]
