"""Moving events from a source into the event store, and replaying a source through the loop.

Valid rows are appended (idempotent by event id); rows that fail the schema go to the
dead-letter table with their reason. A batch's position is committed only after the batch is
durably stored: to the broker for Kafka (offsets) and Redis Streams (XACK), to an atomic
checkpoint file in the home folder for files and SQL tables. A crash re-reads at most the
batches in flight, which the store deduplicates: at least once from the source, exactly once
in the store. :class:`IngestProcess` is ``lifelong ingest``: the long-running loop.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lifelong.config import (
    FileSourceConfig,
    KafkaSourceConfig,
    KinesisSourceConfig,
    NaturalLabelsConfig,
    PipelineConfig,
    RedisStreamsSourceConfig,
    SparkSourceConfig,
    SqlSourceConfig,
)
from lifelong.errors import ConfigError
from lifelong.events import Batch, Checkpoint, EventSchema, FieldSpec, ParquetEventStore
from lifelong.sources import FileSource, KafkaSource, RedisStreamsSource, Source, SqlSource

if TYPE_CHECKING:
    from lifelong.evaluation.evaluator import Evaluator
    from lifelong.runtime import Pipeline

STREAM = "events"
BrokerSource = KafkaSource | RedisStreamsSource


@dataclass
class IngestTarget:
    """What ingest needs of a pipeline — its spec, event store and folder — without the training stack.

    ``lifelong ingest`` opens this instead of a full :class:`~lifelong.runtime.Pipeline`: no
    registry, learners or executors, so the process starts quickly and stays small. Every
    function of this module takes either.
    """

    config: PipelineConfig
    store: ParquetEventStore
    project_dir: Path

    @property
    def name(self) -> str:
        return self.config.name

    @cached_property
    def evaluator(self) -> Evaluator:
        """The spec's evaluator (built on first use: only a ``label_quality`` gate needs it here)."""
        from lifelong.evaluation.evaluator import Evaluator

        return Evaluator.from_config(self.config.evaluation)

    def close(self) -> None:
        self.store.close()

    @classmethod
    def open(cls, config: PipelineConfig, *, project_dir: Path | None = None) -> IngestTarget:
        config.home.mkdir(parents=True, exist_ok=True)
        # Ingest appends and never queries windows: no read cache, so memory does not grow with the stream.
        store = ParquetEventStore(config.home / "events", read_cache_bytes=0)
        return cls(config, store, project_dir or Path.cwd())



def _checkpoint_path(pipeline: Pipeline | IngestTarget) -> Path:
    return pipeline.config.home / "checkpoints" / f"{pipeline.name}.json"


def load_checkpoint(pipeline: Pipeline | IngestTarget) -> Checkpoint | None:
    path = _checkpoint_path(pipeline)
    if not path.exists():
        return None
    return Checkpoint(json.loads(path.read_text()))


def save_checkpoint(pipeline: Pipeline | IngestTarget, checkpoint: Checkpoint) -> None:
    """Write the checkpoint atomically (temp file, fsync, rename)."""
    path = _checkpoint_path(pipeline)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as handle:
        json.dump(checkpoint.position, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def source_schema(pipeline: Pipeline | IngestTarget) -> EventSchema:
    """The schema every source of ``pipeline`` validates its events with.

    The configured fields, or else one derived from the features (numeric ones as floats,
    categorical ones as strings, the natural-label key as a string) — the same schema as
    :func:`lifelong.runtime.build_schema`, computed from the spec alone.
    """
    config = pipeline.config
    spec = config.schema_
    if spec is not None and spec.fields:
        fields = {
            name: FieldSpec(type=f.type, required=f.required, min=f.min, max=f.max, categories=f.categories)
            for name, f in spec.fields.items()
        }
        return EventSchema(fields, max_future=spec.max_future, max_payload_bytes=spec.max_payload_bytes)
    derived: dict[str, FieldSpec] = {name: FieldSpec(type="float") for name in config.features.numeric}
    for name in config.features.categorical:
        derived[name] = FieldSpec(type="str")
    labels = config.labels
    if isinstance(labels, NaturalLabelsConfig):
        derived.setdefault(labels.key, FieldSpec(type="str"))
    return EventSchema(derived, max_future=spec.max_future if spec is not None else None)


def _duckdb_url(url: str, project_dir: Path) -> str:
    prefix = "duckdb:///"
    if url.startswith(prefix) and not Path(url[len(prefix) :]).is_absolute():
        return prefix + str(project_dir / url[len(prefix) :])
    return url


def open_source(pipeline: Pipeline | IngestTarget) -> Source:
    """The pipeline's source (file, Kafka, Redis Streams, SQL, Kinesis or Spark), validating rows against its schema."""
    spec = pipeline.config.source
    schema = source_schema(pipeline)
    if isinstance(spec, FileSourceConfig):
        return FileSource(
            spec.path, timestamp=spec.timestamp, id_column=spec.id_column, stream=STREAM, batch_size=spec.batch_size, schema=schema
        )
    if isinstance(spec, KafkaSourceConfig):
        return KafkaSource(
            bootstrap_servers=spec.bootstrap_servers,
            topics=spec.topics,
            group_id=spec.group_id,
            stream=STREAM,
            schema=schema,
            id_field=spec.id_field,
            time_field=spec.time_field,
            batch_size=spec.batch_size,
            linger=spec.linger.total_seconds(),
            idle=spec.idle.total_seconds(),
            join_timeout=spec.join_timeout.total_seconds(),
            options=spec.options,
        )
    if isinstance(spec, RedisStreamsSourceConfig):
        return RedisStreamsSource(
            url=spec.url,
            key=spec.key,
            group=spec.group,
            consumer=spec.consumer,
            stream=STREAM,
            schema=schema,
            field=spec.field,
            id_field=spec.id_field,
            time_field=spec.time_field,
            batch_size=spec.batch_size,
            block=spec.block.total_seconds(),
            claim_idle=spec.claim_idle.total_seconds(),
            start_id=spec.start_id,
        )
    if isinstance(spec, SqlSourceConfig):
        return SqlSource(
            url=_duckdb_url(spec.url, pipeline.project_dir),
            table=spec.table,
            watermark=spec.watermark,
            id_column=spec.id_column,
            time_column=spec.time_column,
            columns=spec.columns,
            stream=STREAM,
            schema=schema,
            batch_size=spec.batch_size,
        )
    if isinstance(spec, KinesisSourceConfig):
        from lifelong.sources.kinesis import KinesisSource

        return KinesisSource(
            stream_name=spec.stream_name,
            region=spec.region,
            endpoint_url=spec.endpoint_url,
            profile=spec.profile,
            stream=STREAM,
            schema=schema,
            id_field=spec.id_field,
            time_field=spec.time_field,
            batch_size=spec.batch_size,
            poll=spec.poll.total_seconds(),
            max_attempts=spec.max_attempts,
        )
    if isinstance(spec, SparkSourceConfig):
        from lifelong.sources.spark import SparkSource

        path = spec.path
        if path is not None and "://" not in path and not Path(path).is_absolute():
            path = str(pipeline.project_dir / path)
        return SparkSource(
            path=path,
            query=spec.query,
            format=spec.format,
            watermark=spec.watermark,
            id_column=spec.id_column,
            time_column=spec.time_column,
            columns=spec.columns,
            stream=STREAM,
            schema=schema,
            batch_size=spec.batch_size,
            master=spec.master,
            options=spec.options,
        )
    raise ConfigError(
        f"source.kind: expected one of ['file', 'kafka', 'kinesis', 'redis_streams', 'spark', 'sql'] for ingest, got {spec.kind!r}"
    )


def start_position(pipeline: Pipeline | IngestTarget, source: Source) -> Checkpoint | None:
    """Where ``source`` resumes: the broker keeps it for Kafka and Redis, a file for the others."""
    return None if isinstance(source, BrokerSource) else load_checkpoint(pipeline)


def _screen(pipeline: Pipeline | IngestTarget) -> Any:
    """The quarantine screen of a spec with a ``label_quality`` gate (imported only then), else None."""
    if not any(gate.kind == "label_quality" for gate in pipeline.config.evaluation.gates):
        return None
    from lifelong.evaluation.poisoning import screen_for

    return screen_for(pipeline.evaluator.gates, pipeline.store)


def store_events(pipeline: Pipeline | IngestTarget, batch: Batch) -> dict[str, int]:
    """Append a batch's events and dead letters durably; commit nothing.

    Events of a quarantined source are held in the ``quarantined`` stream
    (lifelong.sources.quarantine).
    """
    held = 0
    screen = _screen(pipeline) if batch.rows else None
    if screen is not None:
        frame, held = screen.quarantine.hold(batch.stream, batch.frame)
        result = pipeline.store.append(batch.stream, frame) if len(frame) else None
    elif batch.table is not None:  # decoded straight to Arrow: stored without a pandas round trip
        result = pipeline.store.append_table(batch.stream, batch.table) if batch.rows else None
    else:
        result = pipeline.store.append(batch.stream, batch.frame) if batch.rows else None
    dead = pipeline.store.add_dead_letters(list(batch.dead_letters)) if batch.dead_letters else 0
    return {
        "written": result.written if result else 0,
        "duplicates": result.duplicates if result else 0,
        "dead_letters": dead,
        "quarantined": held,
    }


def commit_batch(pipeline: Pipeline | IngestTarget, batch: Batch, source: Source | None = None) -> None:
    """Commit the position of a stored batch.

    It goes to ``source`` when it is a broker source (Kafka offsets, Redis XACK), and to the
    checkpoint file otherwise (and when no source is given).
    """
    if batch.checkpoint is None:
        return
    if source is not None:
        source.commit(batch.checkpoint)
    if not isinstance(source, BrokerSource):
        save_checkpoint(pipeline, batch.checkpoint)


def store_batch(pipeline: Pipeline | IngestTarget, batch: Batch, source: Source | None = None) -> dict[str, int]:
    """Append a batch and its dead letters (:func:`store_events`); then commit its position (:func:`commit_batch`)."""
    counts = store_events(pipeline, batch)
    commit_batch(pipeline, batch, source)
    return counts


def ingest_once(pipeline: Pipeline | IngestTarget) -> dict[str, Any]:
    """Read everything the source has beyond its committed position into the store."""
    totals = {"batches": 0, "written": 0, "duplicates": 0, "dead_letters": 0, "quarantined": 0}
    with open_source(pipeline) as source:
        for batch in source.read(since=start_position(pipeline, source)):
            counts = store_batch(pipeline, batch, source)
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

    def record(outcome: Any) -> None:
        if isinstance(outcome, UpdateResult):
            updates.append({"version": outcome.version, "parent": outcome.parent, "mode": outcome.mode,
                            "promoted": outcome.promoted, "trigger": outcome.trigger["kind"], "at": outcome.at.isoformat(),
                            "reason": outcome.report["reason"]})
        else:
            updates.append({"skipped": outcome.reason, "at": outcome.at.isoformat()})

    from lifelong.orchestrator import Orchestrator, SkippedUpdate, UpdateResult

    orchestrator = Orchestrator(pipeline, on_update=record)
    totals = {"rows": 0, "dead_letters": 0, "duplicates": 0}
    next_check: datetime | None = None
    last_time: datetime | None = None
    with open_source(pipeline) as source:
        for batch in source.read(since=start_position(pipeline, source)):
            counts = store_batch(pipeline, batch, source)
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


__all__ = [
    "IngestTarget",
    "commit_batch",
    "ingest_once",
    "load_checkpoint",
    "open_source",
    "run_replay",
    "save_checkpoint",
    "source_schema",
    "start_position",
    "store_batch",
    "store_events",
]
