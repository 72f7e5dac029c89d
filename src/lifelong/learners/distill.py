"""Distillation: train a new model (any family) on recent rows with the champion as teacher.

A model iteration — another family, other features of the same rows, other hyperparameters —
normally starts cold. With :func:`distill` the new learner (the *student*) learns from the
recent labelled rows *and* from the champion's (the *teacher's*) predictions on them, which
carry what the champion learned from all the rows before.

* Students that accept soft targets (a ``fit_soft(X, targets, *, classes, sample_weight)``
  method, as the PyTorch learners have) are trained on
  ``(1 - alpha) * onehot(y) + alpha * q`` where ``q`` is the teacher's probabilities softened
  by ``temperature`` (``softmax(log p / T)``). Their cross-entropy loss on these targets
  equals ``(1 - alpha) * CE(y) + alpha * KL(q || student)`` up to a constant. The student is
  trained at temperature 1, so Hinton et al.'s ``T^2`` rescaling does not apply.
* Every other learner (trees, River, scikit-learn) is fitted on hard labels: each row's label
  is the teacher's predicted class with probability ``alpha`` and the true label otherwise
  (a seeded draw), so the row order and count are unchanged and no sample weights are needed.

Examples
--------
>>> import numpy as np
>>> from lifelong.learners import LightGBMLearner, SklearnLearner
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(300, 3))
>>> y = (X[:, 0] + X[:, 1] > 0).astype(int)
>>> teacher = LightGBMLearner(n_estimators=20).fit(X, y)
>>> student = SklearnLearner(estimator="sklearn.naive_bayes.GaussianNB")
>>> distill(teacher, student, X[:50], y[:50], alpha=0.5).is_fitted
True
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from lifelong.errors import TrainingError
from lifelong.learners._checks import (
    FloatArray,
    check_features,
    check_float,
    check_int,
    check_known_labels,
    check_target,
)
from lifelong.learners.base import Learner

L = TypeVar("L", bound=Learner)


@runtime_checkable
class SoftTargetLearner(Protocol):
    """A learner that can be fitted from scratch on class-probability targets."""

    def fit_soft(
        self,
        X: FloatArray,
        targets: FloatArray,
        *,
        classes: NDArray[Any],
        sample_weight: FloatArray | None = None,
    ) -> Any:
        """Train from scratch on ``targets`` (rows of probabilities over ``classes``)."""


def soften(proba: FloatArray, temperature: float) -> FloatArray:
    """Probabilities raised to ``1 / temperature`` and renormalised: ``softmax(log p / T)``.

    Examples
    --------
    >>> soften(np.array([[0.8, 0.2]]), 2.0).round(3).tolist()
    [[0.667, 0.333]]
    """
    logits = np.log(np.clip(proba, 1e-12, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    return np.asarray(weights / weights.sum(axis=1, keepdims=True), dtype=np.float64)


def distill(
    teacher: Learner,
    student: L,
    X: FloatArray,
    y: NDArray[Any],
    *,
    alpha: float = 0.5,
    temperature: float = 1.0,
    seed: int = 0,
    teacher_X: FloatArray | None = None,
) -> L:
    """Fit ``student`` from scratch on ``X``, ``y`` with ``teacher``'s predictions mixed in.

    Parameters
    ----------
    teacher
        The fitted champion.
    student
        The learner to train (any family); it is fitted and returned.
    X, y
        Recent labelled rows; every label must be one of the teacher's classes.
    alpha
        Weight of the teacher, 0 (true labels only) to 1 (teacher only).
    temperature
        Softening of the teacher's probabilities (soft-target students only).
    seed
        Seeds the hard-label draw.
    teacher_X
        The same rows as the teacher's own features, when they differ from the student's
        (a model iteration that changes the features); default ``X``.
    """
    if not teacher.is_fitted:
        raise TrainingError("teacher: expected a fitted champion, got an unfitted learner")
    weight = check_float("alpha", alpha, low=0.0, high=1.0)
    heat = check_float("temperature", temperature, low=0.0, high=np.inf, low_inclusive=False)
    draw_seed = check_int("seed", seed, minimum=0)
    features = check_features(X)
    target = check_target(y, features.shape[0])
    teacher_rows = features if teacher_X is None else check_features(teacher_X)
    if teacher_rows.shape[0] != features.shape[0]:
        raise TrainingError(
            f"teacher_X: expected {features.shape[0]} rows (those of X), got {teacher_rows.shape[0]}"
        )
    classes = teacher.classes_
    check_known_labels(target, classes)
    if isinstance(student, SoftTargetLearner):
        onehot = np.eye(classes.size)[np.searchsorted(classes, target)]
        soft = soften(teacher.predict_proba(teacher_rows), heat)
        student.fit_soft(features, (1.0 - weight) * onehot + weight * soft, classes=classes)
        return student
    rng = np.random.default_rng(draw_seed)
    from_teacher = rng.random(features.shape[0]) < weight
    mixed = np.where(from_teacher, teacher.predict(teacher_rows), target)
    return student.fit(features, mixed)


__all__ = ["SoftTargetLearner", "distill", "soften"]
