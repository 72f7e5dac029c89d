"""River online models as lifelong learners: learn one row (or one mini-batch) at a time.

``fit`` builds a fresh River model and learns over the rows in order; ``update`` continues
learning on new rows from the current state — River models are online by construction, so a
stateful update is exactly "keep streaming". Three models are offered, chosen by ``model``:
``arf`` (Adaptive Random Forest, :class:`river.forest.ARFClassifier`),
``hoeffding_adaptive_tree`` (:class:`river.tree.HoeffdingAdaptiveTreeClassifier`) and
``logistic_regression`` (a :class:`river.preprocessing.StandardScaler` piped into
:class:`river.linear_model.LogisticRegression`, one-vs-rest above two classes; it learns with
``learn_many`` mini-batches when ``batch_size > 1``).

River has no format other than pickle, so checkpoints are pickles in a signed envelope
(:mod:`lifelong.learners.signed_pickle`): HMAC-SHA256 under the registry's key, verified before
unpickling. The key is not a hyperparameter and is never written beside the model: the caller
that owns it (the registry / model bundle, or a test) passes a
:class:`~lifelong.registry.signing.Signer` — to the constructor (``signer=``, kept across
``clone`` and used by ``save``), or explicitly to :meth:`RiverLearner.save` and
:meth:`RiverLearner.load`. :func:`home_signer` gives the installation's key under a lifelong
home (``<home>/signing.key``, created mode 0600 on first use). Without a signer, ``save`` and
``load`` refuse with a :class:`~lifelong.errors.ConfigError`.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from river import compose, forest, linear_model, multiclass, optim, preprocessing, tree

from lifelong.errors import (
    ArtifactError,
    ConfigError,
    LifelongError,
    TrainingError,
    ValidationError,
)
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
from lifelong.learners.signed_pickle import read_signed_pickle, write_signed_pickle
from lifelong.registry.signing import Signer

RiverModel = Literal["hoeffding_adaptive_tree", "arf", "logistic_regression"]
RIVER_MODELS: tuple[RiverModel, ...] = ("hoeffding_adaptive_tree", "arf", "logistic_regression")
STATE_FILE = "model.signed"
KEY_FILE = "signing.key"


def _names(n_features: int) -> list[str]:
    return [f"x{i}" for i in range(n_features)]


def _row(values: FloatArray) -> dict[str, float]:
    return dict(zip(_names(values.shape[0]), values.tolist(), strict=True))


def home_signer(home: Path) -> Signer:
    """The installation's signer: the key at ``<home>/signing.key`` (created when absent)."""
    return Signer.from_file(Path(home) / KEY_FILE)


class RiverLearner(Learner):
    """A River classifier trained online, checkpointed as an HMAC-signed pickle.

    Parameters
    ----------
    model
        ``hoeffding_adaptive_tree``, ``arf`` or ``logistic_regression``.
    n_models
        Trees in the Adaptive Random Forest (``arf`` only).
    grace_period
        Rows a tree leaf sees between split attempts (tree models).
    max_depth
        Deepest a tree may grow, or ``None`` for no limit (tree models).
    learning_rate, l2
        SGD step and L2 penalty of the logistic regression.
    batch_size
        Rows per ``learn_many`` call of the logistic regression; 1 learns row by row.
    seed
        Seeds River's random draws (bootstrap, Poisson resampling, feature subsets).
    signer
        The registry's :class:`~lifelong.registry.signing.Signer` used by ``save`` (not a
        hyperparameter: it is neither in :meth:`params` nor written to disk).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> learner = RiverLearner(model="logistic_regression").fit(X, y)
    >>> learner.update(X, y).rows_seen
    400
    >>> learner.predict_proba(X[:2]).shape
    (2, 2)
    """

    kind = "river"

    def __init__(
        self,
        *,
        model: RiverModel = "hoeffding_adaptive_tree",
        n_models: int = 10,
        grace_period: int = 50,
        max_depth: int | None = None,
        learning_rate: float = 0.01,
        l2: float = 0.0,
        batch_size: int = 1,
        seed: int = 0,
        signer: Signer | None = None,
    ) -> None:
        self.model: RiverModel = check_choice("model", model, RIVER_MODELS)  # type: ignore[assignment]
        self.n_models = check_int("n_models", n_models, minimum=1)
        self.grace_period = check_int("grace_period", grace_period, minimum=1)
        self.max_depth = None if max_depth is None else check_int("max_depth", max_depth, minimum=1)
        self.learning_rate = check_float(
            "learning_rate", learning_rate, low=0.0, high=np.inf, low_inclusive=False
        )
        self.l2 = check_float("l2", l2, low=0.0, high=np.inf)
        self.batch_size = check_int("batch_size", batch_size, minimum=1)
        if self.batch_size > 1 and self.model != "logistic_regression":
            raise ConfigError(
                f"batch_size: expected 1 for model {self.model!r} (River trees learn one row at "
                f"a time), got {batch_size!r}"
            )
        self.seed = check_int("seed", seed, minimum=0)
        if signer is not None and not isinstance(signer, Signer):
            raise ConfigError(f"signer: expected a Signer or None, got {type(signer).__name__}")
        self.signer = signer
        self._model: Any = None
        self._classes: NDArray[Any] = np.empty(0)
        self._n_features: int | None = None
        self.rows_seen = 0

    # ------------------------------------------------------------------ training
    def _new_model(self, n_classes: int) -> Any:
        if self.model == "arf":
            return forest.ARFClassifier(
                n_models=self.n_models,
                grace_period=self.grace_period,
                max_depth=self.max_depth,
                seed=self.seed,
            )
        if self.model == "hoeffding_adaptive_tree":
            return tree.HoeffdingAdaptiveTreeClassifier(
                grace_period=self.grace_period, max_depth=self.max_depth, seed=self.seed
            )
        pipeline = compose.Pipeline(
            preprocessing.StandardScaler(),
            linear_model.LogisticRegression(optimizer=optim.SGD(self.learning_rate), l2=self.l2),
        )
        return pipeline if n_classes == 2 else multiclass.OneVsRestClassifier(pipeline)  # type: ignore[arg-type]

    def _binary_logistic(self) -> bool:
        return self.model == "logistic_regression" and self._classes.size == 2

    def _river_target(self, index: int) -> int | bool:
        return bool(index == 1) if self._binary_logistic() else int(index)

    def _learn(self, X: FloatArray, codes: NDArray[np.intp], weight: FloatArray | None) -> None:
        if weight is not None and self.model == "arf" and not np.all(weight == 1.0):
            raise ValidationError(
                "sample_weight: expected None or all ones for model 'arf' (it resamples rows "
                "with Poisson(6) and takes no row weights), got other weights",
                field="sample_weight",
            )
        try:
            if self.batch_size > 1:
                self._learn_many(X, codes, weight)
            else:
                for row, code in enumerate(codes):
                    x = _row(X[row])
                    y = self._river_target(int(code))
                    if weight is None or self.model == "arf":
                        self._model.learn_one(x, y)
                    else:
                        self._model.learn_one(x, y, w=float(weight[row]))
        except LifelongError:
            raise
        except Exception as exc:
            raise TrainingError(f"river: {self.model} failed to learn: {exc}") from exc
        self.rows_seen += len(codes)

    def _learn_many(
        self, X: FloatArray, codes: NDArray[np.intp], weight: FloatArray | None
    ) -> None:
        for start in range(0, len(codes), self.batch_size):
            stop = start + self.batch_size
            frame = pd.DataFrame(X[start:stop], columns=_names(X.shape[1]))
            target = pd.Series([self._river_target(int(c)) for c in codes[start:stop]])
            if weight is None:
                self._model.learn_many(frame, target)
            else:
                self._model.learn_many(frame, target, w=pd.Series(weight[start:stop]))

    def _inputs(
        self, X: FloatArray, y: NDArray[Any], sample_weight: FloatArray | None, n: int | None
    ) -> tuple[FloatArray, NDArray[Any], FloatArray | None]:
        features = refuse_non_finite(check_features(X, n_features=n), allow_nan=False)
        target = check_target(y, features.shape[0])
        return features, target, check_weight(sample_weight, features.shape[0])

    def fit(
        self, X: FloatArray, y: NDArray[Any], *, sample_weight: FloatArray | None = None
    ) -> Self:
        features, target, weight = self._inputs(X, y, sample_weight, None)
        classes = np.unique(target)
        if classes.size < 2:
            raise TrainingError(f"y: expected at least 2 classes, got {json_labels(classes)}")
        previous = (self._model, self._classes, self._n_features, self.rows_seen)
        self._classes, self._n_features, self.rows_seen = classes, features.shape[1], 0
        self._model = self._new_model(classes.size)
        try:
            self._learn(features, np.searchsorted(classes, target), weight)
        except LifelongError:
            self._model, self._classes, self._n_features, self.rows_seen = previous
            raise
        return self

    def update(
        self, X: FloatArray, y: NDArray[Any], *, sample_weight: FloatArray | None = None
    ) -> Self:
        if self._model is None:
            return self.fit(X, y, sample_weight=sample_weight)
        features, target, weight = self._inputs(X, y, sample_weight, self._n_features)
        check_known_labels(target, self._classes)
        self._learn(features, np.searchsorted(self._classes, target), weight)
        return self

    # ---------------------------------------------------------------- prediction
    def predict_proba(self, X: FloatArray) -> FloatArray:
        if self._model is None:
            raise TrainingError("predict: the River learner is not fitted; call fit first")
        features = refuse_non_finite(
            check_features(X, n_features=self._n_features), allow_nan=False
        )
        k = self._classes.size
        targets = [self._river_target(j) for j in range(k)]
        out = np.zeros((features.shape[0], k), dtype=np.float64)
        try:
            for row in range(features.shape[0]):
                proba = self._model.predict_proba_one(_row(features[row]))
                out[row] = [float(proba.get(target, 0.0)) for target in targets]
        except Exception as exc:
            raise TrainingError(f"river: {self.model} failed to predict: {exc}") from exc
        out = np.clip(out, 0.0, None)
        total = out.sum(axis=1, keepdims=True)
        empty = total[:, 0] <= 0.0
        out[empty] = 1.0 / k
        total[empty] = 1.0
        return np.asarray(out / total, dtype=np.float64)

    def predict(self, X: FloatArray) -> NDArray[Any]:
        return np.asarray(self._classes[np.argmax(self.predict_proba(X), axis=1)])

    # ------------------------------------------------------------------- state
    @property
    def classes_(self) -> NDArray[Any]:
        return self._classes

    @property
    def is_fitted(self) -> bool:
        return self._model is not None

    @property
    def river_model(self) -> Any:
        """The River model, or ``None`` before ``fit``."""
        return self._model

    def params(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "n_models": self.n_models,
            "grace_period": self.grace_period,
            "max_depth": self.max_depth,
            "learning_rate": self.learning_rate,
            "l2": self.l2,
            "batch_size": self.batch_size,
            "seed": self.seed,
        }

    def signature(self) -> dict[str, Any]:
        shape: dict[str, Any] = {"kind": self.kind, "model": self.model}
        if self.model == "arf":
            shape["n_models"] = self.n_models
        return shape

    def _signer_for(self, signer: Signer | None, action: str) -> Signer:
        chosen = signer if signer is not None else self.signer
        if not isinstance(chosen, Signer):
            raise ConfigError(
                f"signer: expected the registry's Signer to {action} a River checkpoint "
                f"(pass signer= to the learner or to {action}), got {chosen!r}"
            )
        return chosen

    def save(self, directory: Path, *, signer: Signer | None = None) -> None:
        """Write ``learner.json`` and, when fitted, the signed model state into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        if self._model is not None:
            write_signed_pickle(
                directory / STATE_FILE,
                {"model": self._model, "rows_seen": self.rows_seen},
                self._signer_for(signer, "save"),
            )
        write_manifest(
            directory,
            kind=self.kind,
            params=self.params(),
            classes=json_labels(self._classes),
            fitted=self._model is not None,
            n_features=self._n_features,
            river_version=version("river"),
        )

    @classmethod
    def load(cls, directory: Path, *, signer: Signer | None = None) -> Self:
        """Read a learner written by :meth:`save`; the state must verify under ``signer``."""
        manifest = read_manifest(directory, kind=cls.kind)
        try:
            learner = cls(**manifest["params"], signer=signer)
        except (TypeError, ConfigError) as exc:
            raise ArtifactError(
                f"{directory}: learner.json params do not build a learner: {exc}"
            ) from exc
        if not manifest.get("fitted"):
            return learner
        verifier = learner._signer_for(signer, "load")
        running = version("river")
        if manifest.get("river_version") != running:
            raise ArtifactError(
                f"{directory}: river_version: expected {running} (pickles do not cross "
                f"River versions), got {manifest.get('river_version')!r}; retrain from scratch"
            )
        state = read_signed_pickle(directory / STATE_FILE, verifier, allowed_modules=("river",))
        classes = np.asarray(manifest.get("classes", []))
        n_features = manifest.get("n_features")
        if not isinstance(state, dict) or "model" not in state or classes.size < 2:
            raise ArtifactError(f"{directory}: expected a fitted River state with 2+ classes")
        if not isinstance(n_features, int) or n_features < 1:
            raise ArtifactError(f"{directory}: n_features: expected a positive integer")
        learner._model = state["model"]
        learner.rows_seen = int(state.get("rows_seen", 0))
        learner._classes = classes
        learner._n_features = n_features
        return learner

    def clone(self) -> Self:
        return type(self)(**self.params(), signer=self.signer)


__all__ = ["KEY_FILE", "RIVER_MODELS", "RiverLearner", "RiverModel", "home_signer"]
