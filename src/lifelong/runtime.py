"""Wires the pieces a pipeline spec names: store, registry, labeler, features, learner, gates."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lifelong.clock import Clock, SystemClock
from lifelong.config import (
    FunctionLabelsConfig,
    LightGBMConfig,
    ModelConfig,
    NaturalLabelsConfig,
    PipelineConfig,
    SchemaConfig,
    SklearnConfig,
)
from lifelong.config.features import TabularFeaturesConfig
from lifelong.config.models import (
    ImplicitALSConfig,
    RiverConfig,
    RiverMFConfig,
    TorchEmbeddingConfig,
    TorchMLPConfig,
    XGBoostConfig,
)
from lifelong.errors import ConfigError
from lifelong.evaluation import Evaluator
from lifelong.events import EventSchema, FieldSpec, ParquetEventStore
from lifelong.features import FeaturePipeline
from lifelong.labels import ColumnLabeler, Labeler, NaturalLabelJoin
from lifelong.labels.factory import function_labeler, with_human_labels
from lifelong.learners import build_learner
from lifelong.learners.base import Learner
from lifelong.learners.recommender_learner import recommender_layout
from lifelong.learners.river import home_signer
from lifelong.learners.torch_embedding import embedding_layout
from lifelong.registry import Registry
from lifelong.training import TrainingSpec
from lifelong.training.executors import Executor, InProcessExecutor, build_executor
from lifelong.training.trainer_warm_start import WarmStart
from lifelong.triggers import CombinedTrigger, build_trigger


def build_features(config: PipelineConfig) -> FeaturePipeline:
    """The feature pipeline shared by training and serving."""
    features = config.features
    return FeaturePipeline(
        numeric=tuple(features.numeric),
        categorical={name: tuple(values) for name, values in features.categorical.items()},
        missing=features.missing,
        unseen=features.unseen,
    )


def restricted_features(config: PipelineConfig, columns: tuple[str, ...]) -> TabularFeaturesConfig:
    """``config``'s features restricted to ``columns`` (a challenger that learns from fewer inputs)."""
    features = config.features
    known = [*features.numeric, *features.categorical]
    unknown = [name for name in columns if name not in known]
    if unknown or not columns:
        raise ConfigError(f"features: expected some of the pipeline's feature columns {known}, got {list(columns)}")
    return features.model_copy(
        update={
            "numeric": tuple(name for name in features.numeric if name in columns),
            "categorical": {name: values for name, values in features.categorical.items() if name in columns},
        }
    )


def variant_config(
    config: PipelineConfig, model: ModelConfig | None = None, columns: tuple[str, ...] | None = None
) -> PipelineConfig:
    """``config`` with a challenger's own model and feature columns (a subset of its features, kinds
    and categories kept); either left out keeps the pipeline's."""
    variant = config if model is None else config.model_copy(update={"model": model})
    if columns is None:
        return variant
    return variant.model_copy(update={"features": restricted_features(config, columns)})


def build_labeler(config: PipelineConfig) -> Labeler:
    labels = config.labels
    if isinstance(labels, FunctionLabelsConfig):
        return with_human_labels(function_labeler(labels), labels)
    if isinstance(labels, NaturalLabelsConfig):
        return with_human_labels(NaturalLabelJoin(
            predictions=labels.predictions,
            feedback=labels.feedback,
            key=labels.key,
            window=labels.window,
            allowed_lateness=labels.allowed_lateness,
        ), labels)
    return with_human_labels(ColumnLabeler(column=labels.column, stream="events", delay=labels.delay), labels)


def learner_params(config: PipelineConfig) -> tuple[str, dict[str, Any]]:
    """The learner kind and its constructor arguments."""
    model = config.model
    if isinstance(model, LightGBMConfig):
        return "lightgbm", model.model_dump(exclude={"kind"})
    if isinstance(model, SklearnConfig):
        return "sklearn", {"estimator": model.estimator, "params": dict(model.params)}
    if isinstance(model, XGBoostConfig):
        return "xgboost", model.model_dump(exclude={"kind"})
    if isinstance(model, RiverConfig):
        # the registry's HMAC key signs River's pickled checkpoints (never a hyperparameter)
        return "river", {**model.model_dump(exclude={"kind"}), "signer": home_signer(config.home)}
    if isinstance(model, TorchMLPConfig):
        return "torch_mlp", model.model_dump(exclude={"kind", "warm_start"})
    if isinstance(model, ImplicitALSConfig | RiverMFConfig):
        columns = recommender_layout(config.features.numeric, user=model.user, item=model.item)
        return model.kind, {**model.model_dump(exclude={"kind", "user", "item"}), **columns}
    if isinstance(model, TorchEmbeddingConfig):
        params = model.model_dump(exclude={"kind", "embed_categoricals", "id_columns", "warm_start"})
        layout = embedding_layout(
            config.features.numeric,
            config.features.categorical,
            model.id_columns,
            embed_categoricals=model.embed_categoricals,
        )
        return "torch_embedding", {**params, **layout}
    raise ConfigError(
        "model.kind: expected one of ['implicit_als', 'lightgbm', 'river', 'river_mf', 'sklearn', "
        f"'torch_embedding', 'torch_mlp', 'xgboost'], got {model!r}"
    )


def build_schema(config: SchemaConfig | None, features: FeaturePipeline, extra_required: tuple[str, ...]) -> EventSchema:
    """The ingest schema: the configured one, or one derived from the features."""
    if config is not None and config.fields:
        fields = {
            name: FieldSpec(type=f.type, required=f.required, min=f.min, max=f.max, categories=f.categories)
            for name, f in config.fields.items()
        }
        return EventSchema(fields, max_future=config.max_future, max_payload_bytes=config.max_payload_bytes)
    derived: dict[str, FieldSpec] = {name: FieldSpec(type="float") for name in features.numeric}
    for name, categories in features.categorical.items():
        derived[name] = FieldSpec(type="str")
    for name in extra_required:
        derived.setdefault(name, FieldSpec(type="str"))
    max_future = config.max_future if config is not None else None
    return EventSchema(derived, max_future=max_future)


@dataclass
class Pipeline:
    """Everything one model's loop needs, built once from its spec."""

    config: PipelineConfig
    clock: Clock
    store: ParquetEventStore
    registry: Registry
    labeler: Labeler
    features: FeaturePipeline
    trigger: CombinedTrigger
    evaluator: Evaluator
    project_dir: Path
    executor: Executor = field(default_factory=InProcessExecutor)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def passthrough(self) -> tuple[str, ...]:
        labels = self.config.labels
        return (labels.key,) if isinstance(labels, NaturalLabelsConfig) else ()

    @property
    def label_column(self) -> str:
        return "label"

    def variant(self, model: ModelConfig | None = None, columns: tuple[str, ...] | None = None) -> PipelineConfig:
        """The spec a challenger trains under (:func:`variant_config`)."""
        return variant_config(self.config, model, columns)

    def new_learner(self, model: ModelConfig | None = None, columns: tuple[str, ...] | None = None) -> Learner:
        """A fresh learner of the spec's model, or of ``model`` (a challenger's model iteration)."""
        kind, params = learner_params(self.variant(model, columns))
        return build_learner(kind, params)

    def training_spec(self, model: ModelConfig | None = None, columns: tuple[str, ...] | None = None) -> TrainingSpec:
        variant = self.variant(model, columns)
        return TrainingSpec(
            learner_factory=lambda: self.new_learner(model, columns),
            features=self.features if columns is None else build_features(variant),
            model_hash=variant.model_hash(),
            label=self.label_column,
            passthrough=self.passthrough,
            min_rows=self.config.training.min_rows,
            warm_start=WarmStart.of_model(variant.model),
        )

    def close(self) -> None:
        self.executor.close()
        self.registry.close()

    @classmethod
    def open(
        cls,
        config: PipelineConfig,
        *,
        clock: Clock | None = None,
        project_dir: Path | None = None,
        durable: bool = True,
    ) -> Pipeline:
        """Build the pipeline; ``durable=False`` skips fsync in the event store (replays, simulations)."""
        home = config.home
        home.mkdir(parents=True, exist_ok=True)
        learner_params(config)  # refuse a model that does not fit the features before any work
        for index, challenger in enumerate(config.evaluation.challengers):
            try:
                learner_params(variant_config(config, challenger.model, challenger.features))
            except ConfigError as exc:
                raise ConfigError(f"evaluation.challengers[{index}].{exc}") from exc
        features = build_features(config)
        return cls(
            config=config,
            clock=clock or SystemClock(),
            store=ParquetEventStore(home / "events", fsync=durable),
            registry=Registry.open(home, config.registry_url),
            labeler=build_labeler(config),
            features=features,
            trigger=build_trigger(config.triggers),
            evaluator=Evaluator.from_config(config.evaluation),
            project_dir=project_dir or Path.cwd(),
            executor=build_executor(config.training.executor),
        )


__all__ = ["Pipeline", "build_features", "build_labeler", "build_schema", "learner_params", "restricted_features", "variant_config"]
