"""The contract suites, run on every built-in plugin."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from lifelong.learners import LightGBMLearner, SklearnLearner
from lifelong.learners.base import Learner
from lifelong.testing import check_learner, learner_checks
from lifelong.testing.contracts import (
    check_deterministic,
    check_probabilities,
    check_refuses_mismatched_features,
    check_saved_files_are_not_pickle,
    check_update_continues,
)

LEARNER_FACTORIES: dict[str, Callable[[], Learner]] = {
    "sgd-log-loss": lambda: SklearnLearner(
        estimator="sklearn.linear_model.SGDClassifier",
        params={"loss": "log_loss", "random_state": 0},
    ),
    "logistic-regression": lambda: SklearnLearner(
        estimator="sklearn.linear_model.LogisticRegression"
    ),
    "gaussian-nb": lambda: SklearnLearner(estimator="sklearn.naive_bayes.GaussianNB"),
    "random-forest-warm-start": lambda: SklearnLearner(
        estimator="sklearn.ensemble.RandomForestClassifier",
        params={"n_estimators": 10, "max_depth": 4, "random_state": 0},
        warm_start_increment=5,
    ),
    "lightgbm-binary": lambda: LightGBMLearner(n_estimators=20, update_estimators=5),
    "lightgbm-multiclass": lambda: LightGBMLearner(
        objective="multiclass", n_estimators=20, update_estimators=5
    ),
}


@pytest.mark.parametrize("check", learner_checks(), ids=lambda check: check.__name__)
@pytest.mark.parametrize("factory", LEARNER_FACTORIES.values(), ids=LEARNER_FACTORIES.keys())
def test_learner_contract(factory: Callable[[], Learner], check: Callable[..., None]) -> None:
    check(factory)


def test_logistic_regression_is_stateless_only() -> None:
    """The suite's update checks rely on this flag; make sure it is what we expect."""
    assert not LEARNER_FACTORIES["logistic-regression"]().supports_update
    assert LEARNER_FACTORIES["random-forest-warm-start"]().supports_update


# --------------------------------------------------------------------------------------
# The checks must be able to fail: each broken learner below breaks one contract.


class _UnnormalisedProba(SklearnLearner):
    def predict_proba(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        return super().predict_proba(X) * 2.0


class _PickleSaving(SklearnLearner):
    def save(self, directory: Path) -> None:
        super().save(directory)
        (directory / "extra.bin").write_bytes(pickle.dumps({"state": 1}, protocol=4))


class _IgnoresUpdate(LightGBMLearner):
    def update(
        self, X: NDArray[np.float64], y: NDArray[Any], *, sample_weight: Any = None
    ) -> _IgnoresUpdate:
        if not self.is_fitted:
            return self.fit(X, y)
        return self


class _RawLibraryErrors(LightGBMLearner):
    def predict_proba(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        assert self.booster is not None
        raw = np.asarray(self.booster.predict(X), dtype=np.float64)
        return np.column_stack([1.0 - raw, raw])


def _gnb(cls: type[SklearnLearner]) -> Callable[[], Learner]:
    return lambda: cls(estimator="sklearn.naive_bayes.GaussianNB")


@pytest.mark.parametrize(
    ("factory", "check", "message"),
    [
        (_gnb(_UnnormalisedProba), check_probabilities, "outside"),
        (_gnb(_PickleSaving), check_saved_files_are_not_pickle, "extra.bin"),
        (lambda: _IgnoresUpdate(n_estimators=5), check_update_continues, "did not change"),
        (
            lambda: _RawLibraryErrors(n_estimators=5),
            check_refuses_mismatched_features,
            "LightGBMError",
        ),
        (
            lambda: SklearnLearner(
                estimator="sklearn.linear_model.SGDClassifier", params={"loss": "log_loss"}
            ),
            check_deterministic,
            "differently",
        ),
    ],
    ids=["proba", "pickle", "update", "raw-error", "determinism"],
)
def test_checks_catch_broken_learners(
    factory: Callable[[], Learner], check: Callable[..., None], message: str
) -> None:
    with pytest.raises(AssertionError, match=message):
        check(factory)


def test_check_learner_names_the_failing_check() -> None:
    with pytest.raises(AssertionError, match="^check_probabilities: "):
        check_learner(_gnb(_UnnormalisedProba))
