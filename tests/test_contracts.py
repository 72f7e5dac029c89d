"""The contract suites, run on every built-in plugin."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from learner_support import TEST_SIGNER, SignedRiverLearner, require_torch
from numpy.typing import NDArray

from lifelong.learners import LightGBMLearner, SklearnLearner, XGBoostLearner
from lifelong.learners.base import Learner
from lifelong.testing import check_learner, learner_checks
from lifelong.testing.contracts import (
    DatasetFactory,
    check_deterministic,
    check_non_finite_features,
    check_probabilities,
    check_refuses_mismatched_features,
    check_saved_files_are_not_pickle,
    check_update_continues,
    drifting_interactions,
    with_dataset,
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
    "xgboost-binary-ubj": lambda: XGBoostLearner(n_estimators=20, update_estimators=5, max_depth=3),
    "xgboost-multiclass-json": lambda: XGBoostLearner(
        objective="multiclass", n_estimators=20, update_estimators=5, model_format="json"
    ),
    "river-hoeffding-adaptive-tree": lambda: SignedRiverLearner(signer=TEST_SIGNER),
    "river-arf": lambda: SignedRiverLearner(model="arf", n_models=3, signer=TEST_SIGNER),
    "river-logistic-regression": lambda: SignedRiverLearner(
        model="logistic_regression", signer=TEST_SIGNER
    ),
    "river-logistic-learn-many": lambda: SignedRiverLearner(
        model="logistic_regression", batch_size=16, signer=TEST_SIGNER
    ),
}


def _torch_mlp(**params: Any) -> Learner:
    from lifelong.learners.torch_mlp import TorchMLPLearner

    return TorchMLPLearner(**{"hidden": (16,), "epochs": 10, "update_epochs": 3, **params})


def _torch_embedding() -> Learner:
    from lifelong.learners.torch_embedding import TorchEmbeddingLearner

    # the suite's rows are all real-valued: column 3 as an id column exercises the embedding
    # path through its "unknown" row; tests/learners/test_torch_embedding.py covers real ids
    return TorchEmbeddingLearner(
        id_columns=[[3, 5]], embedding_dim=2, hidden=(16,), epochs=10, update_epochs=3
    )


TORCH_FACTORIES: dict[str, Callable[[], Learner]] = {
    "torch-mlp": _torch_mlp,
    "torch-mlp-tanh-replay-ewc": lambda: _torch_mlp(
        activation="tanh", hidden=(16, 8), replay_size=100, ewc_lambda=10.0
    ),
    "torch-embedding": _torch_embedding,
}


def _implicit_als(**params: Any) -> Learner:
    from lifelong.learners.recommender_learner import ImplicitALSLearner

    return ImplicitALSLearner(
        **{
            "user_column": 0,
            "item_column": 1,
            "factors": 4,
            "iterations": 5,
            "num_threads": 1,
            **params,
        }
    )


def _river_mf(**params: Any) -> Learner:
    from lifelong.learners.recommender_learner import RiverMFLearner

    return RiverMFLearner(
        **{"user_column": 0, "item_column": 1, "n_factors": 4, "epochs": 3, **params}
    )


# recommenders read integer user and item ids: they are checked on drifting_interactions
RECOMMENDER_FACTORIES: dict[str, DatasetFactory] = {
    "implicit-als": with_dataset(_implicit_als, drifting_interactions),
    "implicit-als-refit-each-update": with_dataset(
        lambda: _implicit_als(refit_every=1), drifting_interactions
    ),
    "river-mf": with_dataset(_river_mf, drifting_interactions),
}


@pytest.mark.parametrize("check", learner_checks(), ids=lambda check: check.__name__)
@pytest.mark.parametrize(
    "factory", RECOMMENDER_FACTORIES.values(), ids=RECOMMENDER_FACTORIES.keys()
)
def test_recommender_learner_contract(factory: DatasetFactory, check: Callable[..., None]) -> None:
    pytest.importorskip("implicit", reason="the 'cf' extra (implicit) is not installed")
    check(factory)


@pytest.mark.parametrize("check", learner_checks(), ids=lambda check: check.__name__)
@pytest.mark.parametrize("factory", LEARNER_FACTORIES.values(), ids=LEARNER_FACTORIES.keys())
def test_learner_contract(factory: Callable[[], Learner], check: Callable[..., None]) -> None:
    check(factory)


@pytest.mark.parametrize("check", learner_checks(), ids=lambda check: check.__name__)
@pytest.mark.parametrize("factory", TORCH_FACTORIES.values(), ids=TORCH_FACTORIES.keys())
def test_torch_learner_contract(factory: Callable[[], Learner], check: Callable[..., None]) -> None:
    require_torch()
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


class _LeaksNaN(LightGBMLearner):
    def predict_proba(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        proba = super().predict_proba(X)
        proba[~np.isfinite(np.asarray(X)).all(axis=1)] = np.nan
        return proba


class _RawErrorOnNaN(XGBoostLearner):
    def predict_proba(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        if not np.isfinite(np.asarray(X)).all():
            raise ValueError("Input contains NaN")
        return super().predict_proba(X)


def _broken_recommenders() -> dict[str, DatasetFactory]:
    """Recommenders that break a contract: fold-in ignored, width not checked (needs ``implicit``)."""
    from lifelong.learners.recommender_learner import ImplicitALSLearner

    class _IgnoresFoldIn(ImplicitALSLearner):
        def update(
            self, X: NDArray[np.float64], y: NDArray[Any], *, sample_weight: Any = None
        ) -> _IgnoresFoldIn:
            return self if self.is_fitted else self.fit(X, y)

    class _AnyWidth(ImplicitALSLearner):
        def predict_proba(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
            self._n_features = None  # forgets the fitted width: extra columns slip through
            return super().predict_proba(X)

    def build(cls: type[ImplicitALSLearner]) -> DatasetFactory:
        return with_dataset(
            lambda: cls(user_column=0, item_column=1, factors=4, iterations=5),
            drifting_interactions,
        )

    return {"fold-in": build(_IgnoresFoldIn), "width": build(_AnyWidth)}


@pytest.mark.parametrize(
    ("broken", "check", "message"),
    [
        ("fold-in", check_update_continues, "did not change"),
        ("width", check_refuses_mismatched_features, "raised nothing"),
    ],
)
def test_checks_catch_broken_recommenders(
    broken: str, check: Callable[..., None], message: str
) -> None:
    pytest.importorskip("implicit", reason="the 'cf' extra (implicit) is not installed")
    with pytest.raises(AssertionError, match=message):
        check(_broken_recommenders()[broken])


def test_factories_carry_their_dataset() -> None:
    """A plain factory is checked on drifting_binary; a recommender's on integer ids."""
    plain = LEARNER_FACTORIES["gaussian-nb"]
    assert not isinstance(plain, DatasetFactory)
    factory = RECOMMENDER_FACTORIES["implicit-als"]
    assert isinstance(factory, DatasetFactory) and factory.dataset is drifting_interactions
    X, _ = factory.dataset(seed=3, n_rows=40, drift=0.5)
    assert X.shape == (40, 4) and np.array_equal(X[:, :2], np.round(X[:, :2]))
    assert set(np.unique(X[:, :2]).tolist()) <= set(range(8))


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
        (lambda: _LeaksNaN(n_estimators=5), check_non_finite_features, "non-finite"),
        (lambda: _RawErrorOnNaN(n_estimators=5), check_non_finite_features, "ValueError"),
    ],
    ids=["proba", "pickle", "update", "raw-error", "determinism", "nan-proba", "nan-raw-error"],
)
def test_checks_catch_broken_learners(
    factory: Callable[[], Learner], check: Callable[..., None], message: str
) -> None:
    with pytest.raises(AssertionError, match=message):
        check(factory)


def test_check_learner_names_the_failing_check() -> None:
    with pytest.raises(AssertionError, match="^check_probabilities: "):
        check_learner(_gnb(_UnnormalisedProba))


def test_pickle_scan_tells_safetensors_from_pickle(tmp_path: Path) -> None:
    """A safetensors header length may begin with byte 0x80; a real pickle still is caught."""
    header = b'{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}'
    header = header + b" " * (0x80 - len(header))
    safetensors_like = (0x80).to_bytes(8, "little") + header + bytes(8)

    class _Writes(SklearnLearner):
        payload = b""

        def save(self, directory: Path) -> None:
            super().save(directory)
            (directory / "extra.bin").write_bytes(self.payload)

    def factory(payload: bytes) -> Callable[[], Learner]:
        def build() -> Learner:
            learner = _Writes(estimator="sklearn.naive_bayes.GaussianNB")
            learner.payload = payload
            return learner

        return build

    check_saved_files_are_not_pickle(factory(safetensors_like))
    with pytest.raises(AssertionError, match="extra.bin"):
        check_saved_files_are_not_pickle(factory(pickle.dumps([1.0], protocol=5)))
