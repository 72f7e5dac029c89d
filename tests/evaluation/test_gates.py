from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from lifelong.config import EvaluationConfig
from lifelong.evaluation import Comparison, Evaluator, MinimumRowsGate, NotWorseGate, get_metric
from lifelong.errors import ConfigError


def data(seed: int = 0, n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.5, size=n) > 0).astype(int)
    return X, y


def test_worse_challenger_is_rejected_and_better_one_passes() -> None:
    X, y = data()
    good = LogisticRegression().fit(X, y)
    weak = LogisticRegression().fit(X[:, 2:], y)  # sees only the noise column

    class Slice:
        classes_ = weak.classes_

        def predict_proba(self, X: np.ndarray) -> np.ndarray:
            return weak.predict_proba(X[:, 2:])

    evaluator = Evaluator.from_config(EvaluationConfig(metric="roc_auc"))
    rejected = evaluator.evaluate(Slice(), good, X, y, champion_version="1.0")
    assert not rejected.passed and rejected.champion is not None and rejected.challenger < rejected.champion
    assert "beyond tolerance" in rejected.reason
    accepted = evaluator.evaluate(good, Slice(), X, y, champion_version="1.0")
    assert accepted.passed
    report = accepted.to_dict()
    assert report["gates"][0]["values"]["gain"] > 0 and report["champion_version"] == "1.0"


def test_tolerance_and_direction_for_losses() -> None:
    loss = Comparison(metric="log_loss", higher_is_better=False, challenger=0.52, champion=0.50, rows=100)
    assert not NotWorseGate(tolerance=0.01).check(loss).passed
    assert NotWorseGate(tolerance=0.03).check(loss).passed


def test_undefined_metric_fails_the_gate() -> None:
    comparison = Comparison(metric="roc_auc", higher_is_better=True, challenger=math.nan, champion=0.7, rows=10)
    assert not NotWorseGate().check(comparison).passed


def test_minimum_rows_gate() -> None:
    comparison = Comparison(metric="accuracy", higher_is_better=True, challenger=0.9, champion=None, rows=50)
    assert not MinimumRowsGate(rows=100).check(comparison).passed
    assert MinimumRowsGate(rows=50).check(comparison).passed


def test_unknown_metric_and_bad_tolerance() -> None:
    with pytest.raises(ConfigError, match="evaluation.metric: expected one of"):
        get_metric("auc")
    with pytest.raises(ConfigError, match="tolerance"):
        NotWorseGate(tolerance=-1)


def test_metrics_match_direction() -> None:
    X, y = data(1)
    model = LogisticRegression().fit(X, y)
    proba = model.predict_proba(X)
    assert get_metric("accuracy").compute(y, proba, model.classes_) > 0.7
    assert get_metric("log_loss").compute(y, proba, model.classes_) < 0.6
    assert get_metric("log_loss").better(0.4, 0.5) > 0
