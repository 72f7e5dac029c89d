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


class XGBoostConfig(Strict):
    """XGBoost: stateless fit, stateful continued boosting (``xgb_model``), native UBJ/JSON."""

    kind: Literal["xgboost"]
    objective: Literal["binary", "multiclass"] = "binary"
    max_depth: int = Field(default=6, ge=1)
    learning_rate: float = Field(default=0.1, gt=0, le=1)
    n_estimators: int = Field(default=100, gt=0)
    update_estimators: int = Field(default=20, gt=0)
    max_trees: int = Field(default=1000, gt=0)
    at_cap: Literal["refit", "drop_oldest"] = "refit"
    drop_rounds: int = Field(default=1, ge=1)
    min_child_weight: float = Field(default=1.0, ge=0)
    subsample: float = Field(default=1.0, gt=0, le=1)
    colsample_bytree: float = Field(default=1.0, gt=0, le=1)
    reg_lambda: float = Field(default=1.0, ge=0)
    max_bin: int = Field(default=256, ge=2)
    tree_method: Literal["hist", "approx", "exact"] = "hist"
    seed: int = Field(default=0, ge=0)
    nthread: int = Field(default=1, ge=1)
    model_format: Literal["ubj", "json"] = "ubj"


class RiverConfig(Strict):
    """River online models (checkpoints are HMAC-signed pickles, verified before loading)."""

    kind: Literal["river"]
    model: Literal["hoeffding_adaptive_tree", "arf", "logistic_regression"] = (
        "hoeffding_adaptive_tree"
    )
    n_models: int = Field(default=10, ge=1)
    grace_period: int = Field(default=50, ge=1)
    max_depth: int | None = Field(default=None, ge=1)
    learning_rate: float = Field(default=0.01, gt=0)
    l2: float = Field(default=0.0, ge=0)
    batch_size: int = Field(default=1, ge=1)
    seed: int = Field(default=0, ge=0)


class TorchNetConfig(Strict):
    """Hyperparameters shared by the PyTorch learners (extra ``torch``)."""

    hidden: tuple[Annotated[int, Field(ge=1)], ...] = Field(default=(32,), min_length=1)
    activation: Literal["relu", "tanh"] = "relu"
    learning_rate: float = Field(default=0.01, gt=0)
    weight_decay: float = Field(default=0.0, ge=0)
    epochs: int = Field(default=20, ge=1)
    update_epochs: int = Field(default=5, ge=1)
    batch_size: int = Field(default=64, ge=1)
    seed: int = Field(default=0, ge=0)
    num_threads: int = Field(default=1, ge=1)
    replay_size: int = Field(default=0, ge=0)
    ewc_lambda: float = Field(default=0.0, ge=0)


class TorchMLPConfig(TorchNetConfig):
    """PyTorch MLP (extra ``torch``): fine-tuned from the checkpoint, replay and EWC."""

    kind: Literal["torch_mlp"]


class TorchEmbeddingConfig(TorchNetConfig):
    """PyTorch embeddings + MLP (extra ``torch``).

    With ``embed_categoricals``, each categorical feature's one-hot block is looked up in an
    embedding table; ``id_columns`` names numeric features that hold integer ids, with their
    cardinality. Ids outside ``0 .. cardinality - 1`` (and NaN) follow ``unseen``.
    """

    kind: Literal["torch_embedding"]
    embedding_dim: int = Field(default=8, ge=1)
    embed_categoricals: bool = True
    id_columns: dict[str, Annotated[int, Field(ge=1)]] = Field(default_factory=dict)
    unseen: Literal["unknown", "error"] = "unknown"


ModelConfig = Annotated[
    LightGBMConfig
    | SklearnConfig
    | XGBoostConfig
    | RiverConfig
    | TorchMLPConfig
    | TorchEmbeddingConfig,
    Field(discriminator="kind"),
]


__all__ = [
    "LightGBMConfig",
    "ModelConfig",
    "RiverConfig",
    "SklearnConfig",
    "TorchEmbeddingConfig",
    "TorchMLPConfig",
    "TorchNetConfig",
    "XGBoostConfig",
]
