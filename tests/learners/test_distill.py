"""Distillation: a new learner of any family learns from the champion on recent rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from learner_support import TEST_SIGNER, circle, require_torch

from lifelong.errors import ConfigError, TrainingError, ValidationError
from lifelong.learners import LightGBMLearner, RiverLearner, SklearnLearner, XGBoostLearner
from lifelong.learners.distill import SoftTargetLearner, distill, soften


@pytest.fixture(scope="module")
def teacher() -> LightGBMLearner:
    return LightGBMLearner(n_estimators=60, num_leaves=8).fit(*circle(0, 3000))


def _accuracy(learner: Any, X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(learner.predict(X) == y))


@pytest.mark.parametrize(
    "student",
    [
        lambda: XGBoostLearner(n_estimators=30, max_depth=3),
        lambda: RiverLearner(model="hoeffding_adaptive_tree", grace_period=20, signer=TEST_SIGNER),
        lambda: SklearnLearner(
            estimator="sklearn.tree.DecisionTreeClassifier",
            params={"max_depth": 4, "random_state": 0},
        ),
    ],
    ids=["xgboost", "river", "sklearn"],
)
def test_hard_label_students_follow_alpha(teacher: LightGBMLearner, student: Any) -> None:
    X, y = circle(5, 400)
    probe = circle(6, 500)[0]
    taught = distill(teacher, student(), X, y, alpha=1.0)
    assert not isinstance(taught, SoftTargetLearner)
    # alpha 1: the student saw only the teacher's labels, so it imitates the teacher closely
    agreement = np.mean(taught.predict(probe) == teacher.predict(probe))
    assert agreement > 0.85
    # alpha 0: exactly a plain fit on the true labels
    plain = student().fit(X, y)
    untaught = distill(teacher, student(), X, y, alpha=0.0)
    np.testing.assert_array_equal(untaught.predict_proba(probe), plain.predict_proba(probe))


def test_soft_targets_reach_the_champion_with_few_rows() -> None:
    """On 100 recent rows a distilled MLP comes near the champion; one trained cold does not.

    Measured (see benchmarks/model_iteration.py): champion 0.935, distilled 0.915, scratch 0.858.
    """
    require_torch()
    from lifelong.learners.torch_mlp import TorchMLPLearner

    champion = TorchMLPLearner(hidden=(16,), epochs=40).fit(*circle(0, 2000))
    test_X, test_y = circle(99, 2000)
    target = _accuracy(champion, test_X, test_y)
    X, y = circle(105, 100)
    student = TorchMLPLearner(hidden=(32, 16), epochs=20, batch_size=32)
    assert isinstance(student, SoftTargetLearner)
    distill(champion, student, X, y, alpha=0.8)
    scratch = TorchMLPLearner(hidden=(32, 16), epochs=20, batch_size=32).fit(X, y)
    distilled, cold = _accuracy(student, test_X, test_y), _accuracy(scratch, test_X, test_y)
    assert distilled > cold + 0.03, f"distilled {distilled:.3f}, from scratch {cold:.3f}"
    assert distilled > target - 0.05, f"distilled {distilled:.3f}, champion {target:.3f}"
    assert student.classes_.tolist() == champion.classes_.tolist()


def test_temperature_softens_the_teacher() -> None:
    proba = np.array([[0.9, 0.1], [0.5, 0.5]])
    np.testing.assert_allclose(soften(proba, 1.0), proba)
    hot = soften(proba, 3.0)
    assert 0.5 < hot[0, 0] < 0.9 and np.allclose(hot.sum(axis=1), 1.0)
    np.testing.assert_allclose(hot[1], [0.5, 0.5])


def test_bad_calls_are_refused(teacher: LightGBMLearner) -> None:
    X, y = circle(5, 50)
    student = XGBoostLearner(n_estimators=3)
    with pytest.raises(TrainingError, match="teacher: expected a fitted champion"):
        distill(LightGBMLearner(), student, X, y)
    with pytest.raises(ConfigError, match=r"alpha: expected a number in \[0.0, 1.0\]"):
        distill(teacher, student, X, y, alpha=1.5)
    with pytest.raises(ConfigError, match="temperature"):
        distill(teacher, student, X, y, temperature=0.0)
    with pytest.raises(ValidationError, match="unseen label"):
        distill(teacher, student, X, np.where(y == 1, 3, y))
