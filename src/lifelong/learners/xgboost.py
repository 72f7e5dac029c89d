"""XGBoost as a lifelong learner: fit from scratch, or continue boosting from the booster.

``update`` adds ``update_estimators`` boosting rounds on the new rows, starting from the
current booster, so the old trees are kept and the new ones correct their predictions on the
new rows. The booster stays live in memory between updates (``Booster.update`` on it; without
row or column sampling, the very trees ``xgboost.train(..., xgb_model=booster)`` would grow,
and with it, draws seeded by seed and round): an update costs the new rounds
and one prediction of the held trees on the new rows, never a copy of the whole model; the
model is serialized only by ``save``. When the model would hold more than ``max_trees`` rounds,
``at_cap`` decides: ``refit`` trains from scratch on the given rows instead and sets
``last_update_refit``; ``drop_oldest`` forgets the oldest rounds (at least ``drop_rounds`` at a
time, so that the copy slicing makes is paid once per ``drop_rounds`` updates) and keeps
boosting: a sliding window of trees, for streams whose old regime stops being useful. ``NaN``
is XGBoost's missing value (learned default directions); ``inf`` is refused. Training is
deterministic for a fixed ``seed`` and ``nthread``. The state is saved in XGBoost's native
UBJSON (or JSON) model format, never as a pickle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self

import numpy as np
import xgboost as xgb
from numpy.typing import NDArray

from lifelong.errors import ArtifactError, ConfigError, LifelongError, TrainingError
from lifelong.learners._checks import (
    FloatArray,
    check_choice,
    check_features,
    check_float,
    check_int,
    check_known_labels,
    check_target,
    check_weight,
    json_labels,
)
from lifelong.learners._finite import refuse_non_finite
from lifelong.learners.base import Learner
from lifelong.learners.manifest import read_manifest, write_manifest

Objective = Literal["binary", "multiclass"]
TreeMethod = Literal["hist", "approx", "exact"]
ModelFormat = Literal["ubj", "json"]
OBJECTIVES: tuple[Objective, ...] = ("binary", "multiclass")
TREE_METHODS: tuple[TreeMethod, ...] = ("hist", "approx", "exact")
MODEL_FORMATS: tuple[ModelFormat, ...] = ("ubj", "json")
CapPolicy = Literal["refit", "drop_oldest"]
CAP_POLICIES: tuple[CapPolicy, ...] = ("refit", "drop_oldest")
_NATIVE_OBJECTIVE = {"binary": "binary:logistic", "multiclass": "multi:softprob"}


class XGBoostLearner(Learner):
    """Gradient-boosted trees trained with :func:`xgboost.train`.

    Parameters
    ----------
    objective
        ``binary`` (``binary:logistic``) or ``multiclass`` (``multi:softprob``).
    max_depth, learning_rate, min_child_weight, subsample, colsample_bytree, reg_lambda, max_bin
        XGBoost's tree and boosting parameters.
    tree_method
        ``hist``, ``approx`` or ``exact``.
    n_estimators
        Boosting rounds of a fit from scratch.
    update_estimators
        Boosting rounds added by each ``update``.
    max_trees
        Most boosting rounds the model may hold.
    at_cap
        What an ``update`` that would exceed ``max_trees`` does: ``refit`` from scratch on its
        rows, or ``drop_oldest`` rounds and boost on top of the newer ones.
    drop_rounds
        Fewest oldest rounds ``drop_oldest`` removes at once.
    seed, nthread
        Fixed for deterministic training.
    model_format
        ``ubj`` (binary UBJSON, compact) or ``json``: XGBoost's own model formats.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> learner = XGBoostLearner(n_estimators=10, update_estimators=5).fit(X, y)
    >>> learner.update(X, y).num_rounds
    15
    >>> learner.predict_proba(X[:2]).shape
    (2, 2)
    >>> window = XGBoostLearner(n_estimators=10, update_estimators=2, max_trees=12,
    ...                         at_cap="drop_oldest", drop_rounds=4).fit(X, y)
    >>> window.update(X, y).num_rounds, window.update(X, y).num_rounds, window.last_update_dropped
    (12, 10, 4)
    """

    kind = "xgboost"

    def __init__(
        self,
        *,
        objective: Objective = "binary",
        max_depth: int = 6,
        learning_rate: float = 0.1,
        n_estimators: int = 100,
        update_estimators: int = 20,
        max_trees: int = 1000,
        at_cap: CapPolicy = "refit",
        drop_rounds: int = 1,
        min_child_weight: float = 1.0,
        subsample: float = 1.0,
        colsample_bytree: float = 1.0,
        reg_lambda: float = 1.0,
        max_bin: int = 256,
        tree_method: TreeMethod = "hist",
        seed: int = 0,
        nthread: int = 1,
        model_format: ModelFormat = "ubj",
    ) -> None:
        self.objective: Objective = check_choice("objective", objective, OBJECTIVES)  # type: ignore[assignment]
        self.max_depth = check_int("max_depth", max_depth, minimum=1)
        self.learning_rate = check_float(
            "learning_rate", learning_rate, low=0.0, high=1.0, low_inclusive=False
        )
        self.n_estimators = check_int("n_estimators", n_estimators, minimum=1)
        self.update_estimators = check_int("update_estimators", update_estimators, minimum=1)
        self.max_trees = check_int("max_trees", max_trees, minimum=1)
        if self.max_trees < self.n_estimators:
            raise ConfigError(
                f"max_trees: expected at least n_estimators ({self.n_estimators}), got {max_trees!r}"
            )
        self.at_cap: CapPolicy = check_choice("at_cap", at_cap, CAP_POLICIES)  # type: ignore[assignment]
        self.drop_rounds = check_int("drop_rounds", drop_rounds, minimum=1)
        self.min_child_weight = check_float(
            "min_child_weight", min_child_weight, low=0.0, high=np.inf
        )
        self.subsample = check_float("subsample", subsample, low=0.0, high=1.0, low_inclusive=False)
        self.colsample_bytree = check_float(
            "colsample_bytree", colsample_bytree, low=0.0, high=1.0, low_inclusive=False
        )
        self.reg_lambda = check_float("reg_lambda", reg_lambda, low=0.0, high=np.inf)
        self.max_bin = check_int("max_bin", max_bin, minimum=2)
        self.tree_method: TreeMethod = check_choice("tree_method", tree_method, TREE_METHODS)  # type: ignore[assignment]
        self.seed = check_int("seed", seed, minimum=0)
        self.nthread = check_int("nthread", nthread, minimum=1)
        self.model_format: ModelFormat = check_choice(  # type: ignore[assignment]
            "model_format", model_format, MODEL_FORMATS
        )
        self.last_update_refit = False
        self.last_update_dropped = 0
        self._booster: xgb.Booster | None = None
        self._classes: NDArray[Any] = np.empty(0)
        self._n_features: int | None = None

    # ------------------------------------------------------------------ training
    def _train_params(self, n_classes: int) -> dict[str, Any]:
        params: dict[str, Any] = {
            "objective": _NATIVE_OBJECTIVE[self.objective],
            "max_depth": self.max_depth,
            "eta": self.learning_rate,
            "min_child_weight": self.min_child_weight,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "lambda": self.reg_lambda,
            "max_bin": self.max_bin,
            "tree_method": self.tree_method,
            "seed": self.seed,
            # row and column sampling seeded by (seed, round): a live booster's draws do not
            # depend on what other boosters in the process trained since it last did
            "seed_per_iteration": True,
            "nthread": self.nthread,
            "verbosity": 0,
        }
        if self.objective == "multiclass":
            params["num_class"] = n_classes
        return params

    def _boost(
        self,
        X: FloatArray,
        label: NDArray[np.int64],
        weight: FloatArray | None,
        n_classes: int,
        rounds: int,
    ) -> xgb.Booster:
        try:
            data = xgb.DMatrix(X, label=label, weight=weight, nthread=self.nthread)
            return xgb.train(self._train_params(n_classes), data, num_boost_round=rounds)
        except LifelongError:
            raise
        except Exception as exc:
            raise TrainingError(f"xgboost: training failed: {exc}") from exc

    def _inputs(
        self, X: FloatArray, y: NDArray[Any], sample_weight: FloatArray | None, n: int | None
    ) -> tuple[FloatArray, NDArray[Any], FloatArray | None]:
        features = refuse_non_finite(check_features(X, n_features=n), allow_nan=True)
        target = check_target(y, features.shape[0])
        return features, target, check_weight(sample_weight, features.shape[0])

    def fit(
        self, X: FloatArray, y: NDArray[Any], *, sample_weight: FloatArray | None = None
    ) -> Self:
        features, target, weight = self._inputs(X, y, sample_weight, None)
        classes = np.unique(target)
        if self.objective == "binary" and classes.size != 2:
            raise TrainingError(
                f"y: the binary objective expects exactly 2 classes, got {json_labels(classes)}"
            )
        if self.objective == "multiclass" and classes.size < 2:
            raise TrainingError(
                f"y: the multiclass objective expects at least 2 classes, got {json_labels(classes)}"
            )
        label = np.searchsorted(classes, target).astype(np.int64)
        self._booster = self._boost(features, label, weight, classes.size, self.n_estimators)
        self._classes = classes
        self._n_features = features.shape[1]
        return self

    def update(
        self, X: FloatArray, y: NDArray[Any], *, sample_weight: FloatArray | None = None
    ) -> Self:
        self.last_update_refit = False
        self.last_update_dropped = 0
        if self._booster is None:
            return self.fit(X, y, sample_weight=sample_weight)
        features, target, weight = self._inputs(X, y, sample_weight, self._n_features)
        check_known_labels(target, self._classes)
        held = self.num_rounds
        excess = held + self.update_estimators - self.max_trees
        if excess > 0 and (self.at_cap == "refit" or max(excess, self.drop_rounds) >= held):
            self.fit(features, target, sample_weight=weight)
            self.last_update_refit = True
            return self
        label = np.searchsorted(self._classes, target).astype(np.int64)
        if excess <= 0:
            self._continue(features, label, weight)
            return self
        before = self._booster  # slicing copies: the dropping leaves this booster untouched
        self._drop_oldest(max(excess, self.drop_rounds))
        try:
            self._continue(features, label, weight)
        except LifelongError:  # a failed update leaves the model as it was, oldest rounds too
            self._booster, self.last_update_dropped = before, 0
            raise
        return self

    def _drop_oldest(self, rounds: int) -> None:
        """Forget the ``rounds`` oldest boosting rounds (slicing copies the newer ones once)."""
        if self._booster is None:
            raise TrainingError("update: the XGBoost learner is not fitted; call fit first")
        try:
            newer = self._booster[rounds:]
            newer.set_param(self._train_params(self._classes.size))
        except Exception as exc:
            raise TrainingError(f"xgboost: dropping the oldest rounds failed: {exc}") from exc
        self._booster = newer
        self.last_update_dropped = rounds

    def _continue(self, X: FloatArray, label: NDArray[np.int64], weight: FloatArray | None) -> None:
        """Boost ``update_estimators`` rounds on the live booster, in place; undone on failure."""
        booster = self._booster
        if booster is None:
            raise TrainingError("update: the XGBoost learner is not fitted; call fit first")
        start = int(booster.num_boosted_rounds())
        try:
            data = xgb.DMatrix(X, label=label, weight=weight, nthread=self.nthread)
            for iteration in range(start, start + self.update_estimators):
                booster.update(data, iteration)
        except Exception as exc:
            if booster.num_boosted_rounds() > start:  # keep the model as it was before the update
                self._booster = booster[:start]
                self._booster.set_param(self._train_params(self._classes.size))
            raise TrainingError(f"xgboost: training failed: {exc}") from exc

    # ---------------------------------------------------------------- prediction
    def predict_proba(self, X: FloatArray) -> FloatArray:
        if self._booster is None:
            raise TrainingError("predict: the XGBoost learner is not fitted; call fit first")
        features = refuse_non_finite(check_features(X, n_features=self._n_features), allow_nan=True)
        try:
            raw = self._booster.predict(xgb.DMatrix(features, nthread=self.nthread))
        except Exception as exc:
            raise TrainingError(f"xgboost: prediction failed: {exc}") from exc
        raw = np.asarray(raw, dtype=np.float64)
        if self.objective == "binary":
            return np.column_stack([1.0 - raw, raw])
        return raw.reshape(raw.shape[0], -1)

    def predict(self, X: FloatArray) -> NDArray[Any]:
        return np.asarray(self._classes[np.argmax(self.predict_proba(X), axis=1)])

    # ------------------------------------------------------------------- state
    @property
    def classes_(self) -> NDArray[Any]:
        return self._classes

    @property
    def is_fitted(self) -> bool:
        return self._booster is not None

    @property
    def booster(self) -> xgb.Booster | None:
        """The XGBoost booster, or ``None`` before ``fit``."""
        return self._booster

    @property
    def num_rounds(self) -> int:
        """Boosting rounds the model holds."""
        return 0 if self._booster is None else int(self._booster.num_boosted_rounds())

    def params(self) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "max_depth": self.max_depth,
            "learning_rate": self.learning_rate,
            "n_estimators": self.n_estimators,
            "update_estimators": self.update_estimators,
            "max_trees": self.max_trees,
            "at_cap": self.at_cap,
            "drop_rounds": self.drop_rounds,
            "min_child_weight": self.min_child_weight,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "reg_lambda": self.reg_lambda,
            "max_bin": self.max_bin,
            "tree_method": self.tree_method,
            "seed": self.seed,
            "nthread": self.nthread,
            "model_format": self.model_format,
        }

    def signature(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "objective": self.objective,
            "max_depth": self.max_depth,
            "max_bin": self.max_bin,
            "tree_method": self.tree_method,
        }

    @property
    def _model_file(self) -> str:
        return f"model.{self.model_format}"

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        if self._booster is not None:
            raw = self._booster.save_raw(raw_format=self.model_format)
            (directory / self._model_file).write_bytes(bytes(raw))
        write_manifest(
            directory,
            kind=self.kind,
            params=self.params(),
            classes=json_labels(self._classes),
            fitted=self._booster is not None,
            n_features=self._n_features,
        )

    @classmethod
    def load(cls, directory: Path) -> Self:
        manifest = read_manifest(directory, kind=cls.kind)
        try:
            learner = cls(**manifest["params"])
        except (TypeError, ConfigError) as exc:
            raise ArtifactError(
                f"{directory}: learner.json params do not build a learner: {exc}"
            ) from exc
        if not manifest.get("fitted"):
            return learner
        path = directory / learner._model_file
        classes = np.asarray(manifest.get("classes", []))
        try:
            booster = xgb.Booster(params={"nthread": learner.nthread})
            booster.load_model(bytearray(path.read_bytes()))
        except (OSError, xgb.core.XGBoostError) as exc:
            raise ArtifactError(f"{path}: expected an XGBoost model: {exc}") from exc
        n_features = manifest.get("n_features")
        if n_features != booster.num_features():
            raise ArtifactError(
                f"{directory}: n_features: expected the model's {booster.num_features()}, "
                f"got {n_features!r}"
            )
        if classes.size < 2:
            raise ArtifactError(f"{directory}: classes: expected 2 or more, got {classes.tolist()}")
        try:  # the model file holds the trees, not the training parameters an update needs
            booster.set_param(learner._train_params(classes.size))
        except xgb.core.XGBoostError as exc:
            raise ArtifactError(
                f"{path}: the model refuses the learner's parameters: {exc}"
            ) from exc
        learner._booster = booster
        learner._classes = classes
        learner._n_features = booster.num_features()
        return learner

    def clone(self) -> Self:
        return type(self)(**self.params())

    def feature_importance(self) -> FloatArray | None:
        if self._booster is None or self._n_features is None:
            return None
        scores = self._booster.get_score(importance_type="total_gain")
        gain = np.zeros(self._n_features, dtype=np.float64)
        for name, value in scores.items():
            gain[int(name.removeprefix("f"))] = float(np.asarray(value).sum())
        total = gain.sum()
        return gain / total if total > 0 else gain


__all__ = [
    "CAP_POLICIES",
    "MODEL_FORMATS",
    "OBJECTIVES",
    "TREE_METHODS",
    "CapPolicy",
    "XGBoostLearner",
]
