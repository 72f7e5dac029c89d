"""Feature pipelines shared by training and serving."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from lifelong.config.base import Strict


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


__all__ = ["FeaturesConfig", "TabularFeaturesConfig"]
