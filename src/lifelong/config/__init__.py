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

from lifelong.config.base import Duration, Scalar, Strict
from lifelong.config.deployment import *  # noqa: F403
from lifelong.config.deployment import __all__ as _deployment
from lifelong.config.evaluation import *  # noqa: F403
from lifelong.config.evaluation import __all__ as _evaluation
from lifelong.config.features import *  # noqa: F403
from lifelong.config.features import __all__ as _features
from lifelong.config.labels import *  # noqa: F403
from lifelong.config.labels import __all__ as _labels
from lifelong.config.models import *  # noqa: F403
from lifelong.config.models import __all__ as _models
from lifelong.config.pipeline import PipelineConfig, ServingConfig, load_config, parse_config
from lifelong.config.sources import *  # noqa: F403
from lifelong.config.sources import __all__ as _sources
from lifelong.config.training import *  # noqa: F403
from lifelong.config.training import __all__ as _training
from lifelong.config.triggers import *  # noqa: F403
from lifelong.config.triggers import __all__ as _triggers

__all__ = [
    "Duration",
    "PipelineConfig",
    "Scalar",
    "ServingConfig",
    "Strict",
    "load_config",
    "parse_config",
    *_deployment,
    *_evaluation,
    *_features,
    *_labels,
    *_models,
    *_sources,
    *_training,
    *_triggers,
]
