"""The whole ``lifelong.yaml``: the pipeline model, loading, and readable errors."""

from __future__ import annotations

import hashlib
import json
import typing
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticValidationError

from lifelong.config.base import Strict
from lifelong.config.deployment import DeploymentConfig, DirectDeploymentConfig
from lifelong.config.evaluation import EvaluationConfig
from lifelong.config.features import FeaturesConfig
from lifelong.config.labels import LabelsConfig
from lifelong.config.models import ModelConfig
from lifelong.config.monitoring import MonitoringConfig
from lifelong.config.retention import RetentionConfig
from lifelong.config.sources import FileSourceConfig, SchemaConfig, SourceConfig
from lifelong.config.training import TrainingConfig
from lifelong.config.triggers import TriggersConfig
from lifelong.errors import ConfigError


class ServingConfig(Strict):
    """Where ``lifelong serve`` listens."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    allowed_hosts: tuple[str, ...] = ()
    """Host header names accepted besides 127.0.0.1, localhost and the bind address."""

    def host_allow_list(self, bind: str | None = None) -> tuple[str, ...]:
        """The Host names the server accepts: the loopback names, the bind address, ``allowed_hosts``."""
        return tuple(dict.fromkeys(("127.0.0.1", "localhost", bind or self.host, *self.allowed_hosts)))


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
    monitoring: MonitoringConfig = MonitoringConfig()
    retention: RetentionConfig | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _recommender_ids_are_features(self) -> PipelineConfig:
        from lifelong.config.models import RecommenderColumns

        if isinstance(self.model, RecommenderColumns):
            numeric = list(self.features.numeric)
            for field, column in (("user", self.model.user), ("item", self.model.item)):
                if column not in numeric:
                    raise ValueError(f"model.{field}: expected one of the numeric features {numeric}, got {column!r}")
            if self.model.user == self.model.item:
                raise ValueError(f"model.item: expected a column other than model.user, got {self.model.item!r} for both")
        return self

    @model_validator(mode="after")
    def _challenger_features_are_features(self) -> PipelineConfig:
        known = [*self.features.numeric, *self.features.categorical]
        for index, challenger in enumerate(self.evaluation.challengers):
            columns = challenger.features
            if columns is not None and (not columns or any(name not in known for name in columns)):
                raise ValueError(
                    f"evaluation.challengers[{index}].features: expected some of the feature columns {known}, got {list(columns)}"
                )
        return self

    @model_validator(mode="after")
    def _retention_keeps_the_training_window(self) -> PipelineConfig:
        if self.retention is not None:
            needed = self.training.window + self.training.holdout
            if self.retention.older_than < needed:
                from lifelong.durations import format_duration

                raise ValueError(
                    f"retention.older_than: expected at least training.window + training.holdout "
                    f"({format_duration(needed)}), got {format_duration(self.retention.older_than)}"
                )
        return self

    def model_hash(self) -> str:
        """Hash of what shapes the model (features and model sections): changes mean model iteration."""
        # warm_start is how a new major version starts, not part of its shape
        model = self.model.model_dump(mode="json", exclude={"warm_start"})
        return _hash({"features": self.features.model_dump(mode="json"), "model": model})

    def config_hash(self) -> str:
        """Hash of the whole spec, recorded on every version."""
        return _hash(self.model_dump(mode="json", by_alias=True))


def _hash(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@lru_cache(maxsize=1)
def _kind_tags() -> frozenset[str]:
    """Every ``kind`` value of every plugin section (to drop them from error locations)."""
    tags: set[str] = set()
    seen: set[type] = set()

    def visit(model: type[BaseModel]) -> None:
        if model in seen:
            return
        seen.add(model)
        for field in model.model_fields.values():
            for candidate in _models_in(field.annotation):
                kind = candidate.model_fields.get("kind")
                if kind is not None and typing.get_origin(kind.annotation) is Literal:
                    tags.update(str(v) for v in typing.get_args(kind.annotation))
                visit(candidate)

    visit(PipelineConfig)
    return frozenset(tags)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for argument in typing.get_args(annotation):
        found.extend(_models_in(argument))
    return found


def _is_union_slot(part: Any) -> bool:
    return isinstance(part, int) or part in {"source", "labels", "features", "model", "deployment", "executor", "warm_start"}


def _location(parts: tuple[Any, ...]) -> str:
    kept = [
        str(part)
        for index, part in enumerate(parts)
        if not (part in _kind_tags() and index > 0 and _is_union_slot(parts[index - 1]))
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


__all__ = ["PipelineConfig", "ServingConfig", "load_config", "parse_config"]
