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
    max_bin: int = Field(default=255, ge=2)


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


class DistillWarmStart(Strict):
    """Train the new architecture from scratch with the champion as teacher (distillation).

    The targets are ``(1 - alpha) * onehot(label) + alpha * q``, ``q`` the champion's
    probabilities on the same rows softened by ``temperature``; the champion reads the rows
    through its own features, so the new version may use other features.
    """

    kind: Literal["distill"]
    alpha: float = Field(default=0.5, ge=0, le=1)
    temperature: float = Field(default=1.0, gt=0)


class GrowWarmStart(Strict):
    """Grow the champion's network into the new ``hidden`` widths without changing its function.

    Hidden layers are widened (Net2WiderNet) and identity layers appended (Net2DeeperNet, ReLU
    only); the grown network is then fine-tuned for ``update_epochs`` on the training rows.
    Needs the champion's kind, features and activation.
    """

    kind: Literal["grow"]
    seed: int = Field(default=0, ge=0)


WarmStartConfig = Annotated[DistillWarmStart | GrowWarmStart, Field(discriminator="kind")]


class TorchNetConfig(Strict):
    """Hyperparameters shared by the PyTorch learners (extra ``torch``).

    ``warm_start`` applies when an update is a model iteration (the champion has another
    shape): the new major version starts from the champion (``kind: distill`` or ``kind: grow``)
    instead of cold. It is not part of the model's shape: data iterations ignore it.
    """

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
    warm_start: WarmStartConfig | None = None


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


class RecommenderColumns(Strict):
    """Where a recommender finds its ids: numeric feature columns holding integer ids.

    A row is one (user, item) pair; its label is 1 when the user interacted with the item
    (click, purchase) and 0 when not (an impression without one). Positive rows train the
    factorization (``sample_weight``, when present, is the interaction's confidence); the
    probability served and gated is the factorization's preference score clipped to [0, 1].
    """

    user: str = Field(min_length=1)
    item: str = Field(min_length=1)


class ImplicitALSConfig(RecommenderColumns):
    """``implicit`` ALS on implicit feedback (extra ``cf``).

    A stateful update folds in the new users and items (``partial_fit_users`` /
    ``partial_fit_items``); every ``refit_every`` updates the whole matrix is factorized again
    from scratch (0: never).
    """

    kind: Literal["implicit_als"]
    factors: int = Field(default=32, ge=1)
    regularization: float = Field(default=0.05, ge=0)
    alpha: float = Field(default=1.0, gt=0)
    iterations: int = Field(default=15, ge=1)
    fold_in_sweeps: int = Field(default=2, ge=1)
    refit_every: int = Field(default=10, ge=0)
    seed: int = Field(default=0, ge=0)
    num_threads: int = Field(default=1, ge=1)


class RiverMFConfig(RecommenderColumns):
    """River's online matrix factorization (FunkMF) with sampled negatives (extra ``cf``)."""

    kind: Literal["river_mf"]
    n_factors: int = Field(default=16, ge=1)
    learning_rate: float = Field(default=0.05, gt=0)
    l2: float = Field(default=0.001, ge=0)
    negatives: int = Field(default=1, ge=0)
    epochs: int = Field(default=3, ge=1)
    seed: int = Field(default=0, ge=0)


ModelConfig = Annotated[
    LightGBMConfig
    | SklearnConfig
    | XGBoostConfig
    | RiverConfig
    | TorchMLPConfig
    | TorchEmbeddingConfig
    | ImplicitALSConfig
    | RiverMFConfig,
    Field(discriminator="kind"),
]


__all__ = [
    "DistillWarmStart",
    "GrowWarmStart",
    "ImplicitALSConfig",
    "LightGBMConfig",
    "ModelConfig",
    "RecommenderColumns",
    "RiverConfig",
    "RiverMFConfig",
    "SklearnConfig",
    "TorchEmbeddingConfig",
    "TorchMLPConfig",
    "TorchNetConfig",
    "WarmStartConfig",
    "XGBoostConfig",
]
