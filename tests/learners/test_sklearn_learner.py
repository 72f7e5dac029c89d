"""SklearnLearner: configuration, stateful update modes, and safe (skops) persistence."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio

from lifelong.errors import (
    ArtifactError,
    ConfigError,
    TrainingError,
    UnsafeArtifactError,
    ValidationError,
)
from lifelong.learners import SklearnLearner
from lifelong.learners.safe_skops import is_allowed_type, load_skops
from lifelong.testing import drifting_binary


class NotAllowListed:
    """A class outside the skops allow-list: its instances must never be loaded."""

    def __init__(self) -> None:
        self.payload = "boom"


@pytest.mark.parametrize(
    "path",
    [
        "os.system",
        "sklearnx.linear_model.LogisticRegression",
        "LogisticRegression",
        "sklearn",
        "sklearn.linear_model.LogisticRegression()",
        "sklearn..LogisticRegression",
    ],
)
def test_estimator_outside_sklearn_is_refused(path: str) -> None:
    with pytest.raises(
        ConfigError, match=r"estimator: expected a dotted path starting with 'sklearn\.'"
    ) as info:
        SklearnLearner(estimator=path)
    assert repr(path) in str(info.value)


@pytest.mark.parametrize(
    ("path", "match"),
    [
        ("sklearn.linear_model.NoSuchModel", "expected a scikit-learn estimator class"),
        ("sklearn.no_such_module.Model", "no module 'sklearn.no_such_module'"),
        ("sklearn.base.clone", "expected a scikit-learn estimator class"),
    ],
)
def test_unknown_estimator_class_is_refused(path: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        SklearnLearner(estimator=path)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"nope": 1}, r"params\.nope: not a parameter of sklearn\.linear_model\.SGDClassifier"),
        ({"loss": "nope"}, r"params: invalid for sklearn\.linear_model\.SGDClassifier.*'loss'"),
        ({"alpha": [0.1]}, r"params\.alpha: expected a JSON scalar"),
        ({"alpha": -1.0}, r"'alpha' parameter"),
    ],
)
def test_bad_params_are_refused(params: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        SklearnLearner(estimator="sklearn.linear_model.SGDClassifier", params=params)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"warm_start_increment": 0}, "warm_start_increment: expected an integer >= 1, got 0"),
        ({"classes": [0, 0]}, "classes: expected distinct labels"),
        ({"classes": "ab"}, "classes: expected a sequence of labels"),
    ],
)
def test_bad_learner_arguments_are_refused(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        SklearnLearner(estimator="sklearn.naive_bayes.GaussianNB", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "mode"),
    [
        ("sklearn.linear_model.SGDClassifier", "partial_fit"),
        ("sklearn.naive_bayes.GaussianNB", "partial_fit"),
        ("sklearn.ensemble.RandomForestClassifier", "n_estimators"),
        ("sklearn.ensemble.GradientBoostingClassifier", "n_estimators"),
        ("sklearn.ensemble.HistGradientBoostingClassifier", "max_iter"),
        ("sklearn.linear_model.LogisticRegression", None),
        ("sklearn.neighbors.KNeighborsClassifier", None),
    ],
)
def test_update_mode_follows_the_estimator(path: str, mode: str | None) -> None:
    learner = SklearnLearner(estimator=path)
    assert learner.update_mode == mode
    assert learner.supports_update is (mode is not None)


def test_stateless_estimator_refuses_update_with_reason() -> None:
    X, y = drifting_binary()
    learner = SklearnLearner(estimator="sklearn.linear_model.LogisticRegression").fit(X, y)
    before = learner.predict_proba(X)
    with pytest.raises(TrainingError, match="neither partial_fit nor warm-start.*use fit"):
        learner.update(X, y)
    np.testing.assert_array_equal(learner.predict_proba(X), before)


def test_warm_start_update_grows_the_ensemble_and_keeps_old_trees() -> None:
    X, y = drifting_binary()
    X2, y2 = drifting_binary(seed=1, drift=1.0)
    learner = SklearnLearner(
        estimator="sklearn.ensemble.RandomForestClassifier",
        params={"n_estimators": 6, "random_state": 0},
        warm_start_increment=4,
    ).fit(X, y)
    assert learner.estimator is not None
    first_trees = [tree.tree_.threshold.copy() for tree in learner.estimator.estimators_]
    learner.update(X2, y2)
    assert len(learner.estimator.estimators_) == 10
    for old, tree in zip(first_trees, learner.estimator.estimators_[:6], strict=True):
        np.testing.assert_array_equal(old, tree.tree_.threshold)
    # a fresh fit is from scratch again: the configured size, not the grown one
    assert len(learner.clone().fit(X, y).estimator.estimators_) == 6  # type: ignore[union-attr]


def test_histogram_boosting_update_grows_max_iter() -> None:
    X, y = drifting_binary()
    learner = SklearnLearner(
        estimator="sklearn.ensemble.HistGradientBoostingClassifier",
        params={"max_iter": 5, "early_stopping": False, "random_state": 0},
        warm_start_increment=3,
    ).fit(X, y)
    learner.update(X, y)
    assert learner.estimator is not None
    assert learner.estimator.n_iter_ == 8


def test_warm_start_update_needs_every_class() -> None:
    X, y = drifting_binary()
    learner = SklearnLearner(
        estimator="sklearn.ensemble.RandomForestClassifier",
        params={"n_estimators": 3, "random_state": 0},
    ).fit(X, y)
    with pytest.raises(TrainingError, match=r"needs every fitted class in y; missing \[0\]"):
        learner.update(X[y == 1], y[y == 1])


def test_partial_fit_update_accepts_a_batch_with_one_class() -> None:
    X, y = drifting_binary()
    learner = SklearnLearner(estimator="sklearn.naive_bayes.GaussianNB").fit(X, y)
    before = learner.predict_proba(X)
    learner.update(X[y == 1][:5], y[y == 1][:5])
    assert learner.classes_.tolist() == [0, 1]
    assert not np.allclose(learner.predict_proba(X), before)


def test_update_refuses_an_unseen_label() -> None:
    X, y = drifting_binary()
    learner = SklearnLearner(estimator="sklearn.naive_bayes.GaussianNB").fit(X, y)
    with pytest.raises(ValidationError, match=r"unseen label\(s\) \[7\]") as info:
        learner.update(X[:3], np.array([0, 1, 7]))
    assert info.value.field == "y"


def test_declared_classes_are_known_before_they_are_seen() -> None:
    X, y = drifting_binary()
    learner = SklearnLearner(estimator="sklearn.naive_bayes.GaussianNB", classes=(0, 1, 2))
    learner.fit(X, y)
    assert learner.classes_.tolist() == [0, 1, 2]
    rare = np.full(5, 2)
    learner.update(X[:5] + 4.0, rare)
    assert learner.predict(X[:5] + 4.0).tolist() == [2, 2, 2, 2, 2]
    plain = SklearnLearner(estimator="sklearn.naive_bayes.GaussianNB").fit(X, y)
    with pytest.raises(ValidationError, match=r"unseen label\(s\) \[2\]"):
        plain.update(X[:5], rare)


def test_declared_classes_refuse_other_labels() -> None:
    X, y = drifting_binary()
    learner = SklearnLearner(estimator="sklearn.naive_bayes.GaussianNB", classes=(0, 1))
    with pytest.raises(ValidationError, match="unseen"):
        learner.fit(X, y + 1)


def test_regressor_updates_and_has_no_probabilities() -> None:
    X, _ = drifting_binary()
    target = X @ np.array([1.0, -2.0, 0.5, 0.0])
    learner = SklearnLearner(
        estimator="sklearn.linear_model.SGDRegressor", params={"random_state": 0}
    ).fit(X, target)
    before = learner.predict(X)
    learner.update(X, target + 5.0)
    assert learner.classes_.size == 0
    assert learner.predict(X).mean() > before.mean()
    with pytest.raises(ConfigError, match="has no predict_proba"):
        learner.predict_proba(X)


def test_sample_weight_is_used_or_refused() -> None:
    X, y = drifting_binary()
    weights = np.where(y == 1, 5.0, 1.0)
    plain = SklearnLearner(estimator="sklearn.naive_bayes.GaussianNB").fit(X, y)
    weighted = SklearnLearner(estimator="sklearn.naive_bayes.GaussianNB").fit(
        X, y, sample_weight=weights
    )
    assert weighted.predict_proba(X)[:, 1].mean() > plain.predict_proba(X)[:, 1].mean()
    knn = SklearnLearner(estimator="sklearn.neighbors.KNeighborsClassifier")
    with pytest.raises(TrainingError, match="sample_weight: .*does not accept sample weights"):
        knn.fit(X, y, sample_weight=weights)
    with pytest.raises(ValidationError, match="sample_weight: expected 240 values"):
        plain.fit(X, y, sample_weight=weights[:3])


def test_predict_before_fit_is_refused() -> None:
    learner = SklearnLearner(estimator="sklearn.naive_bayes.GaussianNB")
    with pytest.raises(TrainingError, match="not fitted"):
        learner.predict(np.zeros((1, 4)))


def test_library_failure_becomes_training_error() -> None:
    X, y = drifting_binary()
    X[0, 0] = np.nan
    learner = SklearnLearner(estimator="sklearn.naive_bayes.GaussianNB")
    with pytest.raises(TrainingError, match="fit: sklearn.naive_bayes.GaussianNB failed"):
        learner.fit(X, y)
    assert not learner.is_fitted


@pytest.mark.parametrize("params", [{"solver": "liblinear"}, {"solver": "lbfgs"}])
def test_fitting_a_classifier_on_one_class_names_the_field_and_the_class(params: dict[str, object]) -> None:
    X, _ = drifting_binary()
    learner = SklearnLearner(estimator="sklearn.linear_model.LogisticRegression", params=params)
    with pytest.raises(TrainingError, match=r"y: expected at least two classes to fit sklearn.linear_model.LogisticRegression, got \[0\]"):
        learner.fit(X, np.zeros(len(X), dtype=int))
    assert not learner.is_fitted


def test_feature_importance_is_normalised() -> None:
    X, y = drifting_binary()
    forest = SklearnLearner(
        estimator="sklearn.ensemble.RandomForestClassifier",
        params={"n_estimators": 5, "random_state": 0},
    ).fit(X, y)
    importance = forest.feature_importance()
    assert importance is not None
    assert importance.sum() == pytest.approx(1.0)
    assert int(np.argmax(importance)) == 0
    assert SklearnLearner(estimator="sklearn.naive_bayes.GaussianNB").feature_importance() is None


def test_save_writes_skops_and_manifest(tmp_path: Path) -> None:
    X, y = drifting_binary()
    learner = SklearnLearner(estimator="sklearn.naive_bayes.GaussianNB").fit(X, y)
    learner.save(tmp_path)
    manifest = json.loads((tmp_path / "learner.json").read_text())
    assert manifest["kind"] == "sklearn"
    assert manifest["params"]["estimator"] == "sklearn.naive_bayes.GaussianNB"
    assert (tmp_path / "model.skops").read_bytes()[:2] == b"PK"


def test_unfitted_learner_round_trips(tmp_path: Path) -> None:
    learner = SklearnLearner(estimator="sklearn.naive_bayes.GaussianNB", classes=("a", "b"))
    learner.save(tmp_path)
    loaded = SklearnLearner.load(tmp_path)
    assert not loaded.is_fitted
    assert loaded.params() == learner.params()


def test_skops_file_with_a_foreign_type_is_refused(tmp_path: Path) -> None:
    X, y = drifting_binary()
    SklearnLearner(estimator="sklearn.naive_bayes.GaussianNB").fit(X, y).save(tmp_path)
    sio.dump({"model": NotAllowListed()}, tmp_path / "model.skops")
    with pytest.raises(UnsafeArtifactError, match=r"NotAllowListed") as info:
        SklearnLearner.load(tmp_path)
    assert "test_sklearn_learner.NotAllowListed" in str(info.value)


def test_skops_estimator_holding_a_foreign_object_is_refused(tmp_path: Path) -> None:
    X, y = drifting_binary()
    learner = SklearnLearner(estimator="sklearn.naive_bayes.GaussianNB").fit(X, y)
    assert learner.estimator is not None
    learner.estimator.smuggled = NotAllowListed()
    sio.dump(learner.estimator, tmp_path / "model.skops")
    with pytest.raises(UnsafeArtifactError, match="NotAllowListed"):
        load_skops(tmp_path / "model.skops")


def test_skops_file_of_another_estimator_is_refused(tmp_path: Path) -> None:
    X, y = drifting_binary()
    SklearnLearner(estimator="sklearn.naive_bayes.GaussianNB").fit(X, y).save(tmp_path)
    other = SklearnLearner(estimator="sklearn.linear_model.LogisticRegression").fit(X, y)
    sio.dump(other.estimator, tmp_path / "model.skops")
    with pytest.raises(ArtifactError, match="expected a sklearn.naive_bayes.GaussianNB"):
        SklearnLearner.load(tmp_path)


def test_tampered_manifest_estimator_is_refused(tmp_path: Path) -> None:
    X, y = drifting_binary()
    SklearnLearner(estimator="sklearn.naive_bayes.GaussianNB").fit(X, y).save(tmp_path)
    manifest = json.loads((tmp_path / "learner.json").read_text())
    manifest["params"]["estimator"] = "os.system"
    (tmp_path / "learner.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="'os.system'"):
        SklearnLearner.load(tmp_path)


def test_corrupt_skops_file_is_an_artifact_error(tmp_path: Path) -> None:
    X, y = drifting_binary()
    SklearnLearner(estimator="sklearn.naive_bayes.GaussianNB").fit(X, y).save(tmp_path)
    (tmp_path / "model.skops").write_bytes(b"not a zip file")
    with pytest.raises(ArtifactError, match="expected a skops file"):
        SklearnLearner.load(tmp_path)


@pytest.mark.parametrize(
    ("name", "allowed"),
    [
        ("sklearn.tree._tree.Tree", True),
        ("numpy.dtype", True),
        ("scipy.sparse._csr.csr_matrix", True),
        ("builtins.dict", True),
        ("builtins.eval", False),
        ("scipy.linalg.something", False),
        ("sklearnx.Model", False),
        ("posix.system", False),
    ],
)
def test_allow_list(name: str, allowed: bool) -> None:
    assert is_allowed_type(name) is allowed
