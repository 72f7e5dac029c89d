"""The direct binary logistic-regression path answers bitwise as scikit-learn does, or is not used."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from lifelong.features import FeaturePipeline
from lifelong.learners import build_learner
from lifelong.serving.fastpath import binary_logistic_proba
from lifelong.serving.registry_loader import served_from_bundle
from lifelong.training import ModelBundle


def fitted(seed: int, width: int, labels: tuple[object, object] = (0, 1), **params: object) -> tuple[LogisticRegression, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(400, width))
    y = np.where(X @ rng.normal(size=width) + rng.normal(size=400) > 0, labels[1], labels[0])
    return LogisticRegression(**params).fit(X, y), X  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seed", "width", "labels", "params"),
    [
        (1, 1, (0, 1), {}),
        (2, 4, (0, 1), {}),
        (3, 17, ("no", "yes"), {"C": 0.01}),
        (4, 6, (False, True), {"fit_intercept": False}),
        (5, 3, (-1, 1), {"solver": "liblinear"}),
    ],
)
def test_probabilities_are_bitwise_those_of_scikit_learn(
    seed: int, width: int, labels: tuple[object, object], params: dict[str, object]
) -> None:
    estimator, X = fitted(seed, width, labels, **params)
    proba = binary_logistic_proba(estimator)
    assert proba is not None
    rng = np.random.default_rng(seed + 100)
    for rows in (1, 2, 3, 31, 400, 1025):
        matrix = rng.normal(scale=rng.choice([0.1, 1.0, 50.0]), size=(rows, width))
        np.testing.assert_array_equal(proba(matrix), estimator.predict_proba(matrix))
    np.testing.assert_array_equal(proba(X), estimator.predict_proba(X))


def test_other_models_keep_scikit_learns_call() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y3 = rng.integers(0, 3, size=300)
    y2 = (X[:, 0] > 0).astype(int)
    assert binary_logistic_proba(LogisticRegression().fit(X, y3)) is None  # three classes
    assert binary_logistic_proba(make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y2)) is None
    assert binary_logistic_proba(SGDClassifier(loss="log_loss").fit(X, y2)) is None

    class Custom(LogisticRegression):
        pass

    assert binary_logistic_proba(Custom().fit(X, y2)) is None  # a subclass may change predict_proba
    sparse = LogisticRegression().fit(X, y2).sparsify()
    assert binary_logistic_proba(sparse) is None
    assert binary_logistic_proba(LogisticRegression()) is None  # not fitted


def test_the_served_model_answers_as_the_learner() -> None:
    rng = np.random.default_rng(9)
    X = rng.normal(size=(500, 4))
    y = (X @ np.array([1.0, -0.5, 0.25, 0.0]) > 0).astype(int)
    learner = build_learner("sklearn", {"estimator": "sklearn.linear_model.LogisticRegression", "params": {}})
    learner.fit(X, y)
    bundle = ModelBundle(learner=learner, features=FeaturePipeline(numeric=("a", "b", "c", "d")), model_hash="t")
    served = served_from_bundle("m", "1.0", bundle)
    assert served.predict_array is not None
    rows = rng.normal(size=(50, 4))
    for n in (1, 50):
        labels, proba = served.predict_array(rows[:n])
        np.testing.assert_array_equal(proba, learner.predict_proba(rows[:n]))
        np.testing.assert_array_equal(labels, learner.predict(rows[:n]))
