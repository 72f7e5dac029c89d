"""Build the labeler a spec's ``labels:`` section names (human answers wrapped around it).

Examples
--------
>>> from lifelong.config import ColumnLabelsConfig, HumanLabelsConfig
>>> labeler = labeler_from_config(ColumnLabelsConfig(kind="column", column="y", human=HumanLabelsConfig()))
>>> type(labeler).__name__, type(labeler.base).__name__
('HumanOverride', 'ColumnLabeler')
"""

from __future__ import annotations

from lifelong.config.labels import (
    ColumnLabelsConfig,
    FunctionLabelsConfig,
    LabelsConfig,
    NaturalLabelsConfig,
)
from lifelong.errors import ConfigError
from lifelong.labels.base import Labeler
from lifelong.labels.column import ColumnLabeler
from lifelong.labels.functions import FunctionLabeler
from lifelong.labels.human import HumanOverride
from lifelong.labels.natural import NaturalLabelJoin


def function_labeler(config: FunctionLabelsConfig) -> FunctionLabeler:
    """The labeling functions of ``config``, imported and checked."""
    return FunctionLabeler.from_paths(
        config.functions,
        classes=config.classes,
        combine=config.combine,
        stream=config.stream,
        epochs=config.epochs,
        seed=config.seed,
    )


def with_human_labels(base: Labeler, config: LabelsConfig) -> Labeler:
    """``base``, wrapped so that human answers override it when ``config.human`` is set."""
    human = config.human
    if human is None:
        return base
    return HumanOverride(
        base,
        rows_stream=config.rows_stream,
        key=config.row_key,
        stream=human.stream,
        classes=human.classes,
    )


def labeler_from_config(config: LabelsConfig) -> Labeler:
    """The labeler of a ``labels:`` section."""
    if isinstance(config, NaturalLabelsConfig):
        base: Labeler = NaturalLabelJoin(
            predictions=config.predictions,
            feedback=config.feedback,
            key=config.key,
            window=config.window,
            allowed_lateness=config.allowed_lateness,
        )
    elif isinstance(config, FunctionLabelsConfig):
        base = function_labeler(config)
    elif isinstance(config, ColumnLabelsConfig):
        base = ColumnLabeler(column=config.column, stream="events")
    else:
        raise ConfigError(
            f"labels.kind: expected 'column', 'natural' or 'functions', got {config!r}"
        )
    return with_human_labels(base, config)


__all__ = ["function_labeler", "labeler_from_config", "with_human_labels"]
