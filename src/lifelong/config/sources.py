"""Event schemas and sources."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

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


SourceConfig = Annotated[FileSourceConfig | SimulatorSourceConfig, Field(discriminator="kind")]


__all__ = ["FieldConfig", "FileSourceConfig", "SchemaConfig", "SimulatorSourceConfig", "SourceConfig"]
