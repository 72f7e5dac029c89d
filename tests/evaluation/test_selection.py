"""Choosing the best challenger: the loop's rule and the recovery's rule agree, ties included."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from lifelong.evaluation import EvaluationReport, best_passing
from lifelong.recovery import choose


def _report(value: float, loss: float | None, *, passed: bool = True, higher: bool = True) -> EvaluationReport:
    return EvaluationReport(passed, "accuracy", higher, value, 0.8, "1.0", 200, (), "", log_loss=loss)


CASES = [
    ([(0.85, 0.41, True), (0.85, 0.37, True), (0.84, 0.30, True)], 1),  # a tie: the lower log loss
    ([(0.85, 0.41, True), (0.86, 0.50, True)], 1),  # a better metric wins whatever the loss
    ([(0.85, 0.41, True), (0.85, 0.30, False)], 0),  # a failing one never wins
    ([(0.85, None, True), (0.85, 0.30, True)], 0),  # no loss recorded: the first on a tie
    ([(0.85, 0.41, True), (0.85, 0.41, True)], 0),  # a full tie: the first
]


@pytest.mark.parametrize(("scores", "expected"), CASES)
def test_the_best_challenger_is_the_same_for_the_loop_and_for_recovery(scores: list[tuple[float, float | None, bool]], expected: int) -> None:
    reports = [_report(value, loss, passed=passed) for value, loss, passed in scores]
    assert best_passing(reports) == expected
    versions: list[Any] = [SimpleNamespace(version=str(i), evaluation=report.to_dict()) for i, report in enumerate(reports)]
    assert choose(versions).version == str(expected)


def test_log_loss_is_recorded_only_when_measured() -> None:
    assert _report(0.85, 0.4).to_dict()["log_loss"] == 0.4
    assert "log_loss" not in _report(0.85, None).to_dict()


def test_a_lower_is_better_metric_ties_the_same_way() -> None:
    reports = [_report(0.30, 0.41, higher=False), _report(0.30, 0.37, higher=False), _report(0.31, 0.10, higher=False)]
    assert best_passing(reports) == 1


def test_the_evaluator_records_the_challengers_log_loss_on_the_held_out_rows() -> None:
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    from lifelong.config import EvaluationConfig
    from lifelong.evaluation import Evaluator

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    y = np.where(X[:, 0] + 0.5 * rng.normal(size=300) > 0, "up", "down")
    model = LogisticRegression().fit(X, y)
    report = Evaluator.from_config(EvaluationConfig(metric="accuracy")).evaluate(model, None, X, y)
    assert report.log_loss == pytest.approx(log_loss(y, model.predict_proba(X), labels=model.classes_), rel=1e-9)
    unseen = np.where(np.arange(300) == 0, "sideways", y)  # a label the model has no class for
    assert Evaluator.from_config(EvaluationConfig(metric="accuracy")).evaluate(model, None, X, unseen).log_loss is None
