"""Model families (learners)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from lifelong.config.base import Scalar, Strict


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


__all__ = ["LightGBMConfig", "ModelConfig", "SklearnConfig"]
