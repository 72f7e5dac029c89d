"""Recommenders behind the learner protocol: ids from feature columns, 0/1 labels, safe state."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from lifelong.errors import ConfigError, DataError, IncompatibleParentError, ValidationError
from lifelong.features import FeaturePipeline
from lifelong.learners import build_learner, load_learner
from lifelong.learners.base import Learner
from lifelong.learners.recommender_learner import ImplicitALSLearner, RiverMFLearner
from lifelong.training.bundle import ModelBundle

pytest.importorskip("implicit", reason="the 'cf' extra (implicit) is not installed")

FACTORIES: dict[str, Callable[[], Learner]] = {
    "implicit_als": lambda: ImplicitALSLearner(
        user_column=1, item_column=2, factors=4, iterations=5, refit_every=3
    ),
    "river_mf": lambda: RiverMFLearner(user_column=1, item_column=2, n_factors=4, epochs=3),
}


def rows(
    seed: int, n: int = 600, users: tuple[int, int] = (0, 30)
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Column 0 is noise, 1 the user, 2 the item; users click items of their own taste group."""
    rng = np.random.default_rng(seed)
    user = rng.integers(*users, size=n)
    item = rng.integers(0, 20, size=n)
    clicked = rng.uniform(size=n) < np.where(user % 2 == item % 2, 0.85, 0.05)
    return np.column_stack([rng.normal(size=n), user, item]).astype(np.float64), clicked.astype(
        np.int64
    )


@pytest.fixture(params=sorted(FACTORIES))
def factory(request: pytest.FixtureRequest) -> Callable[[], Learner]:
    return FACTORIES[request.param]


def test_fit_predicts_probabilities_that_rank_clicks_first(factory: Callable[[], Learner]) -> None:
    X, y = rows(0)
    learner = factory().fit(X, y)
    proba = learner.predict_proba(X)
    assert proba.shape == (len(X), 2) and proba.dtype == np.float64
    assert np.allclose(proba.sum(axis=1), 1.0) and (proba >= 0).all() and (proba <= 1).all()
    assert learner.classes_.tolist() == [0, 1]
    assert (learner.predict(X) == learner.classes_[proba.argmax(axis=1)]).all()
    X_test, y_test = rows(1)
    score = learner.predict_proba(X_test)[:, 1]
    assert score[y_test == 1].mean() > score[y_test == 0].mean()


def test_update_folds_in_new_users(factory: Callable[[], Learner]) -> None:
    X, y = rows(0)
    learner = factory().fit(X, y)
    newcomers, labels = rows(2, users=(100, 110))
    before = learner.predict_proba(newcomers)[:, 1]
    assert (before == 0).all()  # unknown users score 0
    learner.update(newcomers, labels)
    after = learner.predict_proba(newcomers)[:, 1]
    assert after[labels == 1].mean() > after[labels == 0].mean()


def test_save_load_round_trip_without_pickle(
    factory: Callable[[], Learner], tmp_path: Path
) -> None:
    X, y = rows(0)
    learner = factory().fit(X, y)
    learner.save(tmp_path / "saved")
    for path in (tmp_path / "saved").rglob("*"):
        if path.is_file():
            assert not path.read_bytes().startswith(b"\x80"), f"{path} looks like a pickle"
    loaded = load_learner(tmp_path / "saved")
    assert type(loaded) is type(learner) and loaded.params() == learner.params()
    np.testing.assert_array_equal(loaded.predict_proba(X), learner.predict_proba(X))
    # an unfitted learner saves and loads too
    factory().save(tmp_path / "empty")
    assert not load_learner(tmp_path / "empty").is_fitted


def test_clone_and_build_by_kind(factory: Callable[[], Learner]) -> None:
    learner = factory()
    copy = learner.clone()
    assert copy.params() == learner.params() and not copy.is_fitted
    built = build_learner(learner.kind, learner.params())
    assert built.signature() == learner.signature()


def test_bad_inputs_name_the_problem() -> None:
    learner = FACTORIES["implicit_als"]()
    X, y = rows(0)
    with pytest.raises(
        DataError,
        match=r"label: expected 0 or 1 \(1: the user interacted with the item\), got 2 at row 0",
    ):
        learner.fit(X[:3], np.array([2, 1, 0]))
    bad = X.copy()
    bad[4, 1] = np.nan
    with pytest.raises(
        ValidationError, match=r"X: expected an integer user id in column 1, got nan at row 4"
    ):
        learner.fit(bad, y)
    bad = X.copy()
    bad[2, 2] = 3.5
    with pytest.raises(
        ValidationError, match=r"X: expected an integer item id in column 2, got 3.5 at row 2"
    ):
        learner.fit(bad, y)
    with pytest.raises(ValidationError, match=r"X: expected at least 3 feature columns"):
        learner.fit(X[:, :2], y)
    learner.fit(X, y)
    bad = X[:5].copy()
    bad[0, 1] = np.inf
    with pytest.raises(ValidationError, match=r"integer user id in column 1, got inf at row 0"):
        learner.predict_proba(bad)
    with pytest.raises(ConfigError, match=r"item_column: expected a column other than user_column"):
        ImplicitALSLearner(user_column=1, item_column=1)
    with pytest.raises(
        ConfigError, match=r"learner\.factor: not a parameter of kind 'implicit_als'"
    ):
        build_learner("implicit_als", {"user_column": 0, "item_column": 1, "factor": 3})


def test_stateful_update_refuses_a_parent_of_another_shape() -> None:
    X, y = rows(0)
    features = FeaturePipeline(numeric=("noise", "user", "item"))
    parent = ModelBundle(
        learner=FACTORIES["implicit_als"]().fit(X, y), features=features, model_hash="a"
    )
    other = ImplicitALSLearner(user_column=1, item_column=2, factors=8)
    with pytest.raises(IncompatibleParentError, match="expected the same features and model shape"):
        parent.check_compatible("b", other.signature(), version="1.0")


def test_recall_at_k_measures_the_top_k_on_held_out_clicks(factory: Callable[[], Learner]) -> None:
    X, y = rows(0, n=1500)
    learner: Any = factory().fit(X[:1000], y[:1000])
    recall = learner.recall_at_k(X[1000:], y[1000:], k=5)
    # held-out clicks repeat the users' taste group (10 of the 20 items): a random top 5 scores
    # about 0.25 recall, the taste groups learned much more
    assert 0.5 < recall <= 1.0, recall
    assert learner.recall_at_k(X[1000:], y[1000:], k=20) >= recall
    with pytest.raises(DataError, match="expected at least one row with label 1"):
        learner.recall_at_k(X[1000:1010], np.zeros(10, dtype=int), k=5)


def test_named_outcomes_and_the_fitted_width(
    factory: Callable[[], Learner], tmp_path: Path
) -> None:
    """Labels may name the two outcomes (the greater is the interaction); X keeps its fitted width."""
    X, y = rows(0)
    named = np.array(["click", "skip"])[
        1 - y
    ]  # sorted: "click" < "skip", so "skip" is the interaction
    learner = factory().fit(X, np.array(["no", "yes"])[y])
    assert learner.classes_.tolist() == ["no", "yes"]
    numeric = factory().fit(X, y)
    np.testing.assert_array_equal(learner.predict_proba(X), numeric.predict_proba(X))
    assert set(learner.predict(X).tolist()) <= {"no", "yes"}
    flipped = factory().fit(X, named)
    assert flipped.classes_.tolist() == ["click", "skip"]
    assert not np.array_equal(flipped.predict_proba(X), numeric.predict_proba(X))
    learner.save(tmp_path / "saved")
    loaded = load_learner(tmp_path / "saved")
    assert loaded.classes_.tolist() == ["no", "yes"]
    np.testing.assert_array_equal(loaded.predict(X), learner.predict(X))
    with pytest.raises(
        ValidationError,
        match=r"expected labels among the fitted classes \['no', 'yes'\], got unseen label\(s\) \[0, 1\]",
    ):
        learner.update(X, y)
    with pytest.raises(DataError, match=r"expected 0 or 1, or two named outcomes .* got \['yes'\]"):
        factory().fit(X, np.full(len(y), "yes"))
    words = np.array(["no", "yes"])[y]
    with pytest.raises(
        DataError,
        match=rf"expected 0 or 1 \(1: the user interacted with the item\), got '{words[0]}' at row 0",
    ):
        numeric.update(X, words)
    for model in (numeric, loaded):
        with pytest.raises(ValidationError, match=r"X: expected 3 feature columns, got 4"):
            model.predict_proba(np.column_stack([X, X[:, :1]]))
        with pytest.raises(ValidationError, match=r"X: expected 3 feature columns, got 4"):
            model.update(np.column_stack([X, X[:, :1]]), y)
