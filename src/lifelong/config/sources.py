"""Event schemas and sources."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from lifelong.config.base import Duration, Strict


class FieldConfig(Strict):
    """One field of an event schema."""

    type: Literal["float", "int", "str", "bool", "category", "timestamp"]
    required: bool = True
    min: float | None = None
    max: float | None = None
    categories: tuple[str, ...] | None = None


class SchemaConfig(Strict):
    """Event schema validated at ingest; failures go to the dead-letter table."""

    fields: dict[str, FieldConfig] = Field(default_factory=dict)
    max_future: Duration | None = timedelta(hours=1)
    max_payload_bytes: int | None = Field(default=65536, gt=0)


# ----------------------------------------------------------------------------- sources
class FileSourceConfig(Strict):
    """Replay a CSV or Parquet file (or a folder receiving new files)."""

    kind: Literal["file"]
    path: Path
    timestamp: str
    id_column: str | None = None
    batch_size: int = Field(default=1000, gt=0)


class SimulatorSourceConfig(Strict):
    """The built-in click-through simulator used by ``lifelong demo``."""

    kind: Literal["simulator"]
    days: int = Field(default=30, gt=0)
    impressions_per_day: int = Field(default=1200, gt=0)
    shift_day: int = Field(default=18, ge=0)
    seed: int = 7


KafkaOption = str | int | float | bool


class KafkaSourceConfig(Strict):
    """Kafka topics read by a consumer group; offsets committed once a batch is stored."""

    kind: Literal["kafka"]
    bootstrap_servers: str = Field(min_length=1)
    topics: tuple[str, ...] = Field(min_length=1)
    group_id: str = Field(default="lifelong", min_length=1)
    id_field: str = "event_id"
    time_field: str = "event_time"
    batch_size: int = Field(default=2000, gt=0)
    linger: Duration = timedelta(milliseconds=50)
    idle: Duration = timedelta(seconds=1)
    join_timeout: Duration = timedelta(seconds=60)
    options: dict[str, KafkaOption] = Field(default_factory=dict)


class RedisStreamsSourceConfig(Strict):
    """A Redis stream read by a consumer group; entries acknowledged once a batch is stored."""

    kind: Literal["redis_streams"]
    url: str = "redis://127.0.0.1:6379/0"
    key: str = Field(min_length=1)
    group: str = Field(default="lifelong", min_length=1)
    consumer: str | None = None
    field: str | None = "data"
    id_field: str = "event_id"
    time_field: str = "event_time"
    batch_size: int = Field(default=2000, gt=0)
    block: Duration = timedelta(seconds=1)
    claim_idle: Duration = timedelta(seconds=30)
    start_id: Literal["0", "$"] = "0"


class SqlSourceConfig(Strict):
    """Incremental pulls of a table by a watermark column (PostgreSQL, or a DuckDB file)."""

    kind: Literal["sql"]
    url: str = Field(min_length=1)
    table: str = Field(min_length=1)
    watermark: str = Field(min_length=1)
    id_column: str = Field(min_length=1)
    time_column: str | None = None
    columns: tuple[str, ...] | None = None
    batch_size: int = Field(default=2000, gt=0)
    poll: Duration = timedelta(seconds=5)


class KinesisSourceConfig(Strict):
    """Every shard of a Kinesis data stream (extra ``kinesis``); the checkpoint holds each shard's position."""

    kind: Literal["kinesis"]
    stream_name: str = Field(min_length=1)
    region: str | None = None
    endpoint_url: str | None = None
    profile: str | None = None
    id_field: str = "event_id"
    time_field: str = "event_time"
    batch_size: int = Field(default=1000, gt=0, le=10000)
    poll: Duration = timedelta(milliseconds=200)
    max_attempts: int = Field(default=5, gt=0)


class SparkSourceConfig(Strict):
    """Incremental pulls by watermark of a table Spark reads: a folder or a Spark SQL query (extra ``spark``)."""

    kind: Literal["spark"]
    path: str | None = None
    format: Literal["parquet", "orc", "json", "csv"] = "parquet"
    query: str | None = None
    watermark: str = Field(min_length=1)
    id_column: str = Field(min_length=1)
    time_column: str | None = None
    columns: tuple[str, ...] | None = None
    batch_size: int = Field(default=10000, gt=0)
    master: str = Field(default="local[*]", min_length=1)
    options: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_table(self) -> SparkSourceConfig:
        if (self.path is None) == (self.query is None):
            raise ValueError(f"path, query: expected exactly one of them, got {'both' if self.path is not None else 'neither'}")
        return self


SourceConfig = Annotated[
    FileSourceConfig
    | SimulatorSourceConfig
    | KafkaSourceConfig
    | RedisStreamsSourceConfig
    | SqlSourceConfig
    | KinesisSourceConfig
    | SparkSourceConfig,
    Field(discriminator="kind"),
]


__all__ = [
    "FieldConfig",
    "FileSourceConfig",
    "KafkaSourceConfig",
    "KinesisSourceConfig",
    "RedisStreamsSourceConfig",
    "SchemaConfig",
    "SimulatorSourceConfig",
    "SourceConfig",
    "SparkSourceConfig",
    "SqlSourceConfig",
]
