"""scikit-learn estimators as lifelong learners, saved with skops.

``fit`` trains a fresh estimator from scratch. ``update`` continues from the current state:
through ``partial_fit`` when the estimator has it, or, for ensembles with ``warm_start``, by
growing ``n_estimators`` (or ``max_iter`` for iterated ensembles such as histogram gradient
boosting) and fitting the new members on the new rows. Other estimators (for example
``LogisticRegression``, whose ``warm_start`` only picks the starting point of a fit that
forgets the old rows) are stateless: ``supports_update`` is ``False`` and ``update`` raises.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, Self

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, is_classifier

from lifelong.errors import (
    ArtifactError,
    ConfigError,
    LifelongError,
    TrainingError,
    ValidationError,
)
from lifelong.learners._checks import (
    FloatArray,
    check_features,
    check_int,
    check_known_labels,
    check_target,
    check_weight,
)
from lifelong.learners.base import Learner
from lifelong.learners.manifest import read_manifest, write_manifest
from lifelong.learners.safe_skops import dump_skops, load_skops

JSONScalar = str | int | float | bool | None
UpdateMode = Literal["partial_fit", "n_estimators", "max_iter"]
MODEL_FILE = "model.skops"
_PATH = re.compile(r"^sklearn(\.[A-Za-z_][A-Za-z0-9_]*)+$")


def _import_estimator(path: object) -> type[BaseEstimator]:
    if not isinstance(path, str) or not _PATH.match(path) or path.count(".") < 2:
        raise ConfigError(
            "estimator: expected a dotted path starting with 'sklearn.' such as "
            f"'sklearn.linear_model.SGDClassifier', got {path!r}"
        )
    module_name, _, class_name = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"estimator: no module {module_name!r} for {path!r}") from exc
    cls = getattr(module, class_name, None)
    if not (inspect.isclass(cls) and issubclass(cls, BaseEstimator)):
        raise ConfigError(
            f"estimator: expected a scikit-learn estimator class at {path!r}, got {cls!r}"
        )
    return cls


def _check_params(cls: type[BaseEstimator], path: str, params: object) -> dict[str, JSONScalar]:
    if not isinstance(params, Mapping):
        raise ConfigError(f"params: expected a mapping of names to values, got {params!r}")
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    checked: dict[str, JSONScalar] = {}
    for key, value in params.items():
        if not isinstance(key, str) or key not in accepted:
            raise ConfigError(
                f"params.{key}: not a parameter of {path}; expected one of {sorted(accepted)}"
            )
        if value is not None and not isinstance(value, str | int | float | bool):
            raise ConfigError(
                f"params.{key}: expected a JSON scalar (string, number, boolean or null), "
                f"got {value!r}"
            )
        checked[key] = value
    return dict(sorted(checked.items()))


def _check_classes(classes: object) -> tuple[JSONScalar, ...] | None:
    if classes is None:
        return None
    if isinstance(classes, str | bytes) or not isinstance(classes, Sequence):
        raise ConfigError(f"classes: expected a sequence of labels or null, got {classes!r}")
    labels = tuple(classes)
    if not labels or len(set(labels)) != len(labels):
        raise ConfigError(f"classes: expected distinct labels, at least one, got {list(labels)}")
    for label in labels:
        if label is not None and not isinstance(label, str | int | float | bool):
            raise ConfigError(f"classes: expected JSON scalar labels, got {label!r}")
    return labels


def _update_mode(estimator: BaseEstimator) -> UpdateMode | None:
    if callable(getattr(estimator, "partial_fit", None)):
        return "partial_fit"
    params = estimator.get_params(deep=False)
    if "warm_start" in params and type(estimator).__module__.startswith("sklearn.ensemble"):
        if "n_estimators" in params:
            return "n_estimators"
        if "max_iter" in params:
            return "max_iter"
    return None


def _accepts_weight(method: Callable[..., Any]) -> bool:
    return "sample_weight" in inspect.signature(method).parameters


class SklearnLearner(Learner):
    """A scikit-learn estimator named by its dotted path, with JSON-scalar parameters.

    Parameters
    ----------
    estimator
        Dotted path of the estimator class; it must start with ``sklearn.``.
    params
        Constructor parameters of the estimator (JSON scalars only).
    classes
        The full set of labels, when known in advance; labels outside it are refused. For a
        classifier with ``partial_fit``, declared classes make ``fit`` a single ``partial_fit``
        pass from a fresh estimator, so that every class is known from the start even when the
        first rows lack some (scikit-learn's ``fit`` would learn only the labels present).
    warm_start_increment
        How many members a warm-start ``update`` adds to an ensemble.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> y = np.array([0, 0, 1, 1])
    >>> learner = SklearnLearner(estimator="sklearn.naive_bayes.GaussianNB")
    >>> learner.fit(X, y).predict(np.array([[0.2], [2.8]]))
    array([0, 1])
    >>> learner.update(np.array([[3.5]]), np.array([1])).supports_update
    True
    """

    kind = "sklearn"

    def __init__(
        self,
        *,
        estimator: str,
        params: Mapping[str, JSONScalar] = MappingProxyType({}),
        classes: Sequence[JSONScalar] | None = None,
        warm_start_increment: int = 10,
    ) -> None:
        self._cls = _import_estimator(estimator)
        self._path = estimator
        self._params = _check_params(self._cls, estimator, params)
        self._classes = _check_classes(classes)
        self._increment = check_int("warm_start_increment", warm_start_increment, minimum=1)
        template = self._new_estimator()
        self._mode = _update_mode(template)
        self._is_classifier = bool(is_classifier(template))
        self._estimator: BaseEstimator | None = None
        self._n_features: int | None = None

    def _new_estimator(self) -> BaseEstimator:
        try:
            estimator = self._cls(**self._params)
            validate = getattr(estimator, "_validate_params", None)
            if callable(validate):
                validate()
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"params: invalid for {self._path}: {exc}") from exc
        return estimator

    @property
    def supports_update(self) -> bool:
        """Whether ``update`` can continue from the current state for this estimator."""
        return self._mode is not None

    @property
    def update_mode(self) -> UpdateMode | None:
        """How ``update`` continues: ``partial_fit``, the grown parameter, or ``None``."""
        return self._mode

    def _checked(
        self, X: object, y: object, sample_weight: object, *, fitted: bool
    ) -> tuple[FloatArray, NDArray[Any], FloatArray | None]:
        features = check_features(X, n_features=self._n_features if fitted else None)
        target = check_target(y, features.shape[0])
        weight = check_weight(sample_weight, features.shape[0])
        if self._is_classifier and self._classes is not None:
            check_known_labels(target, np.asarray(self._classes))
        return features, target, weight

    def _run(self, what: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        if kwargs.get("sample_weight") is None:
            kwargs.pop("sample_weight", None)
        elif not _accepts_weight(method):
            raise TrainingError(
                f"sample_weight: {self._path}.{what} does not accept sample weights"
            )
        try:
            method(*args, **kwargs)
        except LifelongError:
            raise
        except Exception as exc:
            raise TrainingError(f"{what}: {self._path} failed: {exc}") from exc

    def fit(
        self, X: FloatArray, y: NDArray[Any], *, sample_weight: FloatArray | None = None
    ) -> Self:
        features, target, weight = self._checked(X, y, sample_weight, fitted=False)
        estimator = self._new_estimator()
        if self._is_classifier and self._classes is not None and self._mode == "partial_fit":
            classes = np.asarray(self._classes)  # declared: a batch may hold only some of them
            self._run(
                "fit",
                estimator.partial_fit,
                features,
                target,
                sample_weight=weight,
                classes=classes,
            )
        else:
            if self._is_classifier:
                found = list(dict.fromkeys(target.tolist()))
                if len(found) < 2:  # some estimators say so in misleading words (liblinear: "n_classes >= 3")
                    raise TrainingError(f"y: expected at least two classes to fit {self._path}, got {found}")
            self._run("fit", estimator.fit, features, target, sample_weight=weight)
        self._estimator = estimator
        self._n_features = features.shape[1]
        return self

    def update(
        self, X: FloatArray, y: NDArray[Any], *, sample_weight: FloatArray | None = None
    ) -> Self:
        if self._mode is None:
            raise TrainingError(
                f"update: {self._path} supports neither partial_fit nor warm-start growth, so it "
                "cannot continue from its current state; use fit (stateless retraining)"
            )
        if self._estimator is None:
            return self.fit(X, y, sample_weight=sample_weight)
        features, target, weight = self._checked(X, y, sample_weight, fitted=True)
        estimator = copy.deepcopy(self._estimator)
        fitted_classes = self.classes_
        if self._is_classifier:
            check_known_labels(target, fitted_classes)
        if self._mode == "partial_fit":
            extra: dict[str, Any] = {"classes": fitted_classes} if self._is_classifier else {}
            self._run(
                "update", estimator.partial_fit, features, target, sample_weight=weight, **extra
            )
        else:
            missing = np.setdiff1d(fitted_classes, target)
            if self._is_classifier and missing.size:
                raise TrainingError(
                    f"update: a warm-start update of {self._path} needs every fitted class in y; "
                    f"missing {missing.tolist()}"
                )
            grown = int(estimator.get_params()[self._mode]) + self._increment
            estimator.set_params(warm_start=True, **{self._mode: grown})
            self._run("update", estimator.fit, features, target, sample_weight=weight)
        self._estimator = estimator
        return self

    def _fitted(self, X: object) -> tuple[BaseEstimator, FloatArray]:
        if self._estimator is None:
            raise TrainingError(f"predict: {self._path} is not fitted; call fit first")
        return self._estimator, check_features(X, n_features=self._n_features)

    def predict(self, X: FloatArray) -> NDArray[Any]:
        estimator, features = self._fitted(X)
        try:
            return np.asarray(estimator.predict(features))
        except ValueError as exc:
            raise ValidationError(
                f"X: {self._path}.predict refused the rows: {exc}", field="X"
            ) from exc

    def predict_proba(self, X: FloatArray) -> FloatArray:
        estimator, features = self._fitted(X)
        if not callable(getattr(estimator, "predict_proba", None)):
            raise ConfigError(f"estimator: {self._path} (with these params) has no predict_proba")
        try:
            return np.asarray(estimator.predict_proba(features), dtype=np.float64)
        except ValueError as exc:
            raise ValidationError(
                f"X: {self._path}.predict_proba refused the rows: {exc}", field="X"
            ) from exc

    @property
    def classes_(self) -> NDArray[Any]:
        if self._estimator is None or not hasattr(self._estimator, "classes_"):
            return np.empty(0)
        return np.asarray(self._estimator.classes_)

    @property
    def is_fitted(self) -> bool:
        return self._estimator is not None

    @property
    def estimator(self) -> BaseEstimator | None:
        """The fitted scikit-learn estimator, or ``None`` before ``fit``."""
        return self._estimator

    def params(self) -> dict[str, Any]:
        return {
            "estimator": self._path,
            "params": dict(self._params),
            "classes": None if self._classes is None else list(self._classes),
            "warm_start_increment": self._increment,
        }

    def signature(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "estimator": self._path,
            "params": dict(self._params),
            "classes": None if self._classes is None else list(self._classes),
        }

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        if self._estimator is not None:
            dump_skops(self._estimator, directory / MODEL_FILE)
        write_manifest(
            directory,
            kind=self.kind,
            params=self.params(),
            fitted=self._estimator is not None,
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
        estimator = load_skops(directory / MODEL_FILE)
        if not isinstance(estimator, learner._cls):
            raise ArtifactError(
                f"{directory / MODEL_FILE}: expected a {learner._path}, got {type(estimator)!r}"
            )
        n_features = manifest.get("n_features")
        expected = getattr(estimator, "n_features_in_", n_features)
        if not isinstance(n_features, int) or expected != n_features:
            raise ArtifactError(
                f"{directory}: n_features: expected the estimator's {expected!r}, got {n_features!r}"
            )
        learner._estimator = estimator
        learner._n_features = n_features
        return learner

    def clone(self) -> Self:
        return type(self)(**self.params())

    def feature_importance(self) -> FloatArray | None:
        values = getattr(self._estimator, "feature_importances_", None)
        if values is None:
            return None
        importance = np.asarray(values, dtype=np.float64)
        total = importance.sum()
        return importance / total if total > 0 else importance


__all__ = ["JSONScalar", "SklearnLearner", "UpdateMode"]
