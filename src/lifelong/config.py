"""The pipeline spec, ``lifelong.yaml``, validated by Pydantic.

Each plugin section (source, labels, features, model, evaluation gates, deployment,
triggers) is a discriminated union on ``kind``. Unknown keys are refused, so a typo fails
loudly instead of being ignored. :func:`load_config` turns every problem into a
:class:`~lifelong.errors.ConfigError` naming the field, what was expected and what was given.

Examples
--------
>>> spec = PipelineConfig.model_validate({
...     "name": "ctr",
...     "source": {"kind": "file", "path": "clicks.csv", "timestamp": "ts"},
...     "labels": {"kind": "column", "column": "clicked"},
...     "features": {"kind": "tabular", "numeric": ["x1", "x2"]},
...     "model": {"kind": "lightgbm"},
... })
>>> spec.training.mode
'stateful'
>>> spec.triggers.triggers[0].every
datetime.timedelta(days=1)
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, model_validator
from pydantic import ValidationError as PydanticValidationError

from lifelong.durations import format_duration, parse_duration
from lifelong.errors import ConfigError

Duration = Annotated[
    timedelta,
    BeforeValidator(lambda v: parse_duration(v)),
    PlainSerializer(format_duration, return_type=str),
]
Scalar = str | int | float | bool | None


class Strict(BaseModel):
    """Base of every config section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# ----------------------------------------------------------------------------- schema
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


# ----------------------------------------------------------------------------- labels
class ColumnLabelsConfig(Strict):
    """The label is a column of the event rows."""

    kind: Literal["column"]
    column: str


class NaturalLabelsConfig(Strict):
    """Natural labels: feedback events joined to logged predictions by key within a window."""

    kind: Literal["natural"]
    key: str
    window: Duration = timedelta(minutes=30)
    allowed_lateness: Duration = timedelta(0)
    predictions: str = "predictions"
    feedback: str = "feedback"


LabelsConfig = Annotated[ColumnLabelsConfig | NaturalLabelsConfig, Field(discriminator="kind")]


# ----------------------------------------------------------------------------- features
class TabularFeaturesConfig(Strict):
    """Numeric columns and one-hot categorical columns, shared by training and serving."""

    kind: Literal["tabular"]
    numeric: tuple[str, ...] = ()
    categorical: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    missing: Literal["error", "impute"] = "error"
    unseen: Literal["error", "ignore"] = "ignore"

    @model_validator(mode="after")
    def _has_features(self) -> TabularFeaturesConfig:
        if not self.numeric and not self.categorical:
            raise ValueError("expected at least one numeric or categorical feature, got none")
        return self


FeaturesConfig = Annotated[TabularFeaturesConfig, Field(discriminator="kind")]


# ----------------------------------------------------------------------------- models
class LightGBMConfig(Strict):
    """LightGBM: stateless fit, stateful continued boosting."""

    kind: Literal["lightgbm"]
    objective: Literal["binary", "multiclass"] = "binary"
    num_leaves: int = Field(default=31, ge=2)
    learning_rate: float = Field(default=0.1, gt=0)
    n_estimators: int = Field(default=100, gt=0)
    update_estimators: int = Field(default=20, gt=0)
    max_trees: int = Field(default=1000, gt=0)
    min_data_in_leaf: int = Field(default=20, ge=1)
    feature_fraction: float = Field(default=1.0, gt=0, le=1)
    seed: int = 0
    num_threads: int = Field(default=1, ge=1)
    refit_leaves: bool = False


class SklearnConfig(Strict):
    """Any scikit-learn estimator by dotted path; stateful through partial_fit or warm_start."""

    kind: Literal["sklearn"]
    estimator: str
    params: dict[str, Scalar] = Field(default_factory=dict)


ModelConfig = Annotated[LightGBMConfig | SklearnConfig, Field(discriminator="kind")]


# ----------------------------------------------------------------------------- training
class TrainingConfig(Strict):
    """How versions are trained: from scratch or from the champion, on which window."""

    mode: Literal["stateless", "stateful"] = "stateful"
    window: Duration = timedelta(days=7)
    holdout: Duration = timedelta(hours=12)
    min_rows: int = Field(default=200, gt=0)
    replay_fraction: float = Field(default=0.0, ge=0, le=1)


# ----------------------------------------------------------------------------- evaluation
class NotWorseGateConfig(Strict):
    """Reject a challenger worse than the champion by more than ``tolerance``."""

    kind: Literal["not_worse"]
    tolerance: float = Field(default=0.0, ge=0)


class MinimumRowsGateConfig(Strict):
    """Reject an evaluation made on too few held-out rows."""

    kind: Literal["min_rows"]
    rows: int = Field(default=100, gt=0)


GateConfig = Annotated[NotWorseGateConfig | MinimumRowsGateConfig, Field(discriminator="kind")]


class EvaluationConfig(Strict):
    """Metric and gates of the offline comparison against the champion."""

    metric: Literal["roc_auc", "accuracy", "log_loss", "f1"] = "roc_auc"
    gates: tuple[GateConfig, ...] = (NotWorseGateConfig(kind="not_worse", tolerance=0.0),)


# ----------------------------------------------------------------------------- deployment
class DirectDeploymentConfig(Strict):
    """Promote a challenger as soon as it passes the gates."""

    kind: Literal["direct"]


class ManualDeploymentConfig(Strict):
    """Register and evaluate, but leave promotion to a person (``lifelong promote``)."""

    kind: Literal["manual"]


DeploymentConfig = Annotated[
    DirectDeploymentConfig | ManualDeploymentConfig, Field(discriminator="kind")
]


# ----------------------------------------------------------------------------- triggers
class IntervalTriggerConfig(Strict):
    """Fire every ``every`` since the last training."""

    kind: Literal["interval"]
    every: Duration


class CronTriggerConfig(Strict):
    """Fire at the times of a cron expression (UTC)."""

    kind: Literal["cron"]
    expression: str


class VolumeTriggerConfig(Strict):
    """Fire when labeled rows grew by ``growth`` (0.5 = +50%) since the last training."""

    kind: Literal["volume"]
    growth: float = Field(gt=0)
    min_rows: int = Field(default=100, ge=0)


LeafTriggerConfig = Annotated[
    IntervalTriggerConfig | CronTriggerConfig | VolumeTriggerConfig, Field(discriminator="kind")
]


class TriggersConfig(Strict):
    """Combination of triggers: ``any`` fires when one fires, ``all`` when every one does."""

    combine: Literal["any", "all"] = "any"
    cooldown: Duration = timedelta(0)
    triggers: tuple[LeafTriggerConfig, ...] = (
        IntervalTriggerConfig(kind="interval", every=timedelta(days=1)),
    )


# ----------------------------------------------------------------------------- serving
class ServingConfig(Strict):
    """Where ``lifelong serve`` listens."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)


class PipelineConfig(Strict):
    """The whole ``lifelong.yaml``."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    home: Path = Path(".lifelong")
    registry_url: str | None = None
    source: SourceConfig
    schema_: SchemaConfig | None = Field(default=None, alias="schema")
    labels: LabelsConfig
    features: FeaturesConfig
    model: ModelConfig
    training: TrainingConfig = TrainingConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    deployment: DeploymentConfig = DirectDeploymentConfig(kind="direct")
    triggers: TriggersConfig = TriggersConfig()
    serving: ServingConfig = ServingConfig()

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def model_hash(self) -> str:
        """Hash of what shapes the model (features and model sections): changes mean model iteration."""
        return _hash({"features": self.features.model_dump(mode="json"), "model": self.model.model_dump(mode="json")})

    def config_hash(self) -> str:
        """Hash of the whole spec, recorded on every version."""
        return _hash(self.model_dump(mode="json", by_alias=True))


def _hash(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


_KIND_TAGS = frozenset(
    {"file", "simulator", "column", "natural", "tabular", "lightgbm", "sklearn", "not_worse",
     "min_rows", "direct", "manual", "interval", "cron", "volume"}
)


def _is_union_slot(part: Any) -> bool:
    return isinstance(part, int) or part in {"source", "labels", "features", "model", "deployment"}


def _location(parts: tuple[Any, ...]) -> str:
    kept = [
        str(part)
        for index, part in enumerate(parts)
        if not (part in _KIND_TAGS and index > 0 and _is_union_slot(parts[index - 1]))
        and not str(part).startswith("function-")
    ]
    return ".".join(kept) or "(top level)"


def _describe(error: Any) -> str:
    location = _location(tuple(error["loc"]))
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{location}: unknown field (got {error.get('input')!r})"
    if kind == "missing":
        return f"{location}: required field is missing"
    if kind == "union_tag_invalid":
        expected = error.get("ctx", {}).get("expected_tags", "")
        given = error["input"].get("kind") if isinstance(error.get("input"), dict) else None
        return f"{location}.kind: expected one of {expected}, got {given!r}"
    if kind == "union_tag_not_found":
        return f"{location}.kind: required field is missing"
    if kind == "value_error":
        message = str(error["msg"]).removeprefix("Value error, ").removeprefix("duration: ")
        return f"{location}: {message}"
    message = str(error["msg"]).replace("Input should be", "expected").replace("String should match pattern", "expected a string matching")
    return f"{location}: {message}, got {error.get('input')!r}"


def parse_config(data: Any, *, origin: str = "config") -> PipelineConfig:
    """Validate a loaded mapping; raise ConfigError naming every bad field."""
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: expected a mapping of sections, got {type(data).__name__}")
    try:
        return PipelineConfig.model_validate(data)
    except PydanticValidationError as exc:
        problems = "; ".join(_describe(error) for error in exc.errors())
        raise ConfigError(f"{origin}: {problems}") from exc


def load_config(path: Path) -> PipelineConfig:
    """Read and validate ``lifelong.yaml``; relative paths inside resolve against its folder."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"config: cannot read {str(path)!r}: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"{path}: expected valid YAML{where}: {getattr(exc, 'problem', exc)}") from exc
    config = parse_config(data, origin=str(path))
    base = path.resolve().parent
    updates: dict[str, Any] = {}
    if not config.home.is_absolute():
        updates["home"] = base / config.home
    if isinstance(config.source, FileSourceConfig) and not config.source.path.is_absolute():
        updates["source"] = config.source.model_copy(update={"path": base / config.source.path})
    return config.model_copy(update=updates) if updates else config


__all__ = [
    "ColumnLabelsConfig",
    "CronTriggerConfig",
    "DirectDeploymentConfig",
    "EvaluationConfig",
    "FieldConfig",
    "FileSourceConfig",
    "IntervalTriggerConfig",
    "LightGBMConfig",
    "ManualDeploymentConfig",
    "MinimumRowsGateConfig",
    "NaturalLabelsConfig",
    "NotWorseGateConfig",
    "PipelineConfig",
    "SchemaConfig",
    "ServingConfig",
    "SimulatorSourceConfig",
    "SklearnConfig",
    "TabularFeaturesConfig",
    "TrainingConfig",
    "TriggersConfig",
    "VolumeTriggerConfig",
    "load_config",
    "parse_config",
]
