"""Learners: one file per model family, selected by ``kind``.

Examples
--------
>>> learner = build_learner("lightgbm", {"n_estimators": 5})
>>> learner.kind, learner.is_fitted
('lightgbm', False)
>>> build_learner("lightgbm", {"trees": 5})
Traceback (most recent call last):
...
lifelong.errors.ConfigError: learner.trees: not a parameter of kind 'lightgbm'; expected some of ['feature_fraction', 'learning_rate', 'max_bin', 'max_trees', 'min_data_in_leaf', 'n_estimators', 'num_leaves', 'num_threads', 'objective', 'refit_decay', 'refit_leaves', 'seed', 'update_estimators']
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lifelong.errors import ConfigError
from lifelong.learners.base import FloatArray, Learner
from lifelong.learners.lightgbm import LightGBMLearner
from lifelong.learners.manifest import MANIFEST, read_manifest
from lifelong.learners.recommender_learner import ImplicitALSLearner, RiverMFLearner
from lifelong.learners.river import RiverLearner
from lifelong.learners.sklearn import SklearnLearner
from lifelong.learners.torch_embedding import TorchEmbeddingLearner
from lifelong.learners.torch_mlp import TorchMLPLearner
from lifelong.learners.xgboost import XGBoostLearner
from lifelong.plugins import PluginRegistry
from lifelong.registry.signing import Signer


def learner_registry() -> PluginRegistry[Learner]:
    """A new registry of the built-in learner kinds (entry points ``lifelong.learner`` too)."""
    return PluginRegistry(
        "learner",
        {
            "sklearn": SklearnLearner,
            "lightgbm": LightGBMLearner,
            "xgboost": XGBoostLearner,
            "river": RiverLearner,
            "torch_mlp": TorchMLPLearner,
            "torch_embedding": TorchEmbeddingLearner,
            "implicit_als": ImplicitALSLearner,
            "river_mf": RiverMFLearner,
        },
    )


LEARNERS: PluginRegistry[Learner] = learner_registry()


def build_learner(
    kind: str, params: Mapping[str, Any], *, registry: PluginRegistry[Learner] | None = None
) -> Learner:
    """An unfitted learner of ``kind`` built from keyword ``params``."""
    cls = (registry or LEARNERS).get(kind)
    if not isinstance(params, Mapping):
        raise ConfigError(f"learner: expected a mapping of parameters, got {params!r}")
    accepted = inspect.signature(cls.__init__).parameters
    names = sorted(name for name in accepted if name != "self")
    for name in params:
        if name not in accepted or name == "self":
            raise ConfigError(
                f"learner.{name}: not a parameter of kind {kind!r}; expected some of {names}"
            )
    for name, parameter in accepted.items():
        required = parameter.default is inspect.Parameter.empty
        if required and parameter.kind is parameter.KEYWORD_ONLY and name not in params:
            raise ConfigError(f"learner.{name}: required by kind {kind!r}, got nothing")
    try:
        return cls(**params)
    except ConfigError as exc:
        raise ConfigError(f"learner: {exc}") from exc


def load_learner(
    directory: Path,
    *,
    registry: PluginRegistry[Learner] | None = None,
    signer: Signer | None = None,
) -> Learner:
    """Read a learner saved by ``Learner.save``, whichever its kind (from ``learner.json``).

    ``signer`` (the registry's key) is passed to the kinds whose ``load`` verifies signed
    state (River); the other kinds ignore it.
    """
    manifest = read_manifest(directory)
    cls = (registry or LEARNERS).get(manifest["kind"])
    if signer is not None and "signer" in inspect.signature(cls.load).parameters:
        return cls.load(directory, signer=signer)  # type: ignore[call-arg]
    return cls.load(directory)


__all__ = [
    "LEARNERS",
    "MANIFEST",
    "FloatArray",
    "ImplicitALSLearner",
    "Learner",
    "LightGBMLearner",
    "RiverLearner",
    "RiverMFLearner",
    "SklearnLearner",
    "TorchEmbeddingLearner",
    "TorchMLPLearner",
    "XGBoostLearner",
    "build_learner",
    "load_learner",
]
