"""The offline gates on real models: significance, slices, forgetting, calibration, invariance, infra."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from lifelong.config import EvaluationConfig
from lifelong.evaluation import Evaluator, InfraGate
from lifelong.features import FeaturePipeline
from lifelong.learners import build_learner
from lifelong.training import ModelBundle


def frame(seed: int, n: int = 1200, *, flip_web: bool = False, web_share: float = 0.15) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n)})
    X["device"] = rng.choice(["ios", "web"], size=n, p=[1 - web_share, web_share])
    signal = X["x1"] + 0.5 * X["x2"]
    if flip_web:
        signal = np.where(X["device"] == "web", -X["x1"] + 0.5 * X["x2"], signal)
    y = (np.asarray(signal) + rng.normal(scale=0.5, size=n) > 0).astype(int)
    return X, y


class Numeric:
    """A fitted logistic regression over the numeric columns of a frame."""

    def __init__(self, X: pd.DataFrame, y: np.ndarray, columns: tuple[str, ...] = ("x1", "x2"), *, web: LogisticRegression | None = None) -> None:
        self.columns = list(columns)
        self.model = LogisticRegression().fit(X[self.columns].to_numpy(), y)
        self.web = web
        self.classes_ = self.model.classes_

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        proba = self.model.predict_proba(X[self.columns].to_numpy())
        if self.web is not None:
            mask = (X["device"] == "web").to_numpy()
            if mask.any():
                proba[mask] = self.web.predict_proba(X.loc[mask, ["x1", "x2"]].to_numpy())
        return np.asarray(proba)


def evaluator(*gates: dict[str, object], metric: str = "roc_auc") -> Evaluator:
    return Evaluator.from_config(EvaluationConfig.model_validate({"metric": metric, "gates": list(gates)}))


def test_significance_gates_pass_a_real_gain_and_reject_noise() -> None:
    X, y = frame(0)
    strong = Numeric(X, y)
    weak = Numeric(X, y, ("x2",))
    for test, metric in (("delong", "roc_auc"), ("bootstrap", "roc_auc"), ("mcnemar", "accuracy")):
        gate = {"kind": "significance", "test": test, "min_gain": 0.01, "resamples": 200}
        better = evaluator(gate, metric=metric).evaluate(strong, weak, X, y, champion_version="1.0")
        assert better.passed, (test, better.reason)
        same = evaluator(gate, metric=metric).evaluate(strong, strong, X, y, champion_version="1.0")
        assert not same.passed, (test, same.reason)
        values = same.gates[0].values
        assert values["test"] == test and values["min_gain"] == 0.01
    too_demanding = evaluator({"kind": "significance", "test": "delong", "min_gain": 0.5})
    assert not too_demanding.evaluate(strong, weak, X, y).passed


def test_a_challenger_better_overall_that_harms_a_slice_is_rejected() -> None:
    X, y = frame(1, n=3000, flip_web=True, web_share=0.05)
    ios = (X["device"] == "ios").to_numpy()
    web_model = LogisticRegression().fit(X.loc[~ios, ["x1", "x2"]].to_numpy(), y[~ios])
    champion = Numeric(X.loc[ios], y[ios], ("x1",), web=web_model)  # weaker on ios, right on web
    bad_for_web = Numeric(X.loc[ios], y[ios])  # better on ios, ignores that web differs
    good = Numeric(X.loc[ios], y[ios], web=web_model)  # better on ios, right on web
    gates = ({"kind": "not_worse"}, {"kind": "slices", "columns": ["device"], "tolerance": 0.02, "min_rows": 50})
    report = evaluator(*gates, metric="accuracy").evaluate(bad_for_web, champion, X, y, champion_version="1.0")
    assert report.champion is not None and report.challenger > report.champion  # better overall...
    assert not report.passed and report.gates[0].passed and not report.gates[1].passed  # ...but not on web
    web = next(s for s in report.gates[1].values["slices"] if s["value"] == "web")
    assert web["gain"] < -0.02 and not web["passed"] and "device='web'" in report.gates[1].reason
    assert evaluator(*gates, metric="accuracy").evaluate(good, champion, X, y).passed


def test_forgetting_gate_compares_on_the_older_window() -> None:
    old_X, old_y = frame(2)
    new_X, new_y = frame(3, flip_web=True)
    champion = Numeric(old_X, old_y)
    forgetful = Numeric(new_X.loc[new_X["device"] == "web"], new_y[(new_X["device"] == "web").to_numpy()])
    gate = {"kind": "forgetting", "tolerance": 0.01, "min_rows": 100}
    report = evaluator(gate).evaluate(forgetful, champion, new_X, new_y, older=(old_X, old_y))
    assert not report.passed and report.gates[0].values["rows"] == len(old_y)
    assert report.gates[0].values["gain"] < -0.01
    assert evaluator(gate).evaluate(champion, champion, new_X, new_y, older=(old_X, old_y)).passed
    assert evaluator(gate).evaluate(forgetful, champion, new_X, new_y).passed  # no older rows: not judged


def test_calibration_gate_limits_ece_absolutely_and_against_the_champion() -> None:
    X, y = frame(4)
    model = Numeric(X, y)

    class Overconfident:
        classes_ = model.classes_

        def predict_proba(self, rows: pd.DataFrame) -> np.ndarray:
            p = model.predict_proba(rows)[:, 1]
            sharp = np.where(p > 0.5, 0.999, 0.001)
            return np.column_stack([1 - sharp, sharp])

    gate = {"kind": "calibration", "bins": 10, "max_ece": 0.05, "max_increase": 0.02}
    assert evaluator(gate).evaluate(model, None, X, y).passed
    report = evaluator(gate).evaluate(Overconfident(), model, X, y)
    assert not report.passed and report.gates[0].values["ece"] > report.gates[0].values["champion_ece"] + 0.02


def test_invariance_checks_catch_a_model_that_reacts_to_noise_and_the_wrong_direction() -> None:
    X, y = frame(5)
    checks = [
        {"kind": "perturb", "column": "x2", "low": -0.05, "high": 0.05, "max_change": 0.05},
        {"kind": "directional", "column": "x1", "delta": 1.0, "expect": "increase"},
    ]
    gate = {"kind": "invariance", "checks": checks, "rows": 300}
    good = Numeric(X, y)
    assert evaluator(gate).evaluate(good, None, X, y).passed
    flipped_X = X.assign(x1=-X["x1"], x2=X["x2"] / 40)
    twitchy = Numeric(flipped_X, y)  # learned x1 backwards and x2 forty times too steep on raw inputs

    class OnRawColumns:
        classes_ = twitchy.classes_

        def predict_proba(self, rows: pd.DataFrame) -> np.ndarray:
            return twitchy.model.predict_proba(np.column_stack([rows["x1"], rows["x2"]]))

    report = evaluator(gate).evaluate(OnRawColumns(), None, X, y)
    assert not report.passed
    results = report.gates[0].values["checks"]
    assert [r["passed"] for r in results] == [False, False]
    assert results[0]["max_observed"] > 0.05 and results[1]["violations"] > 0.5


def test_infra_gate_loads_the_artifact_in_a_fresh_process(tmp_path: Path) -> None:
    X, y = frame(6, n=400)
    features = FeaturePipeline(numeric=("x1", "x2"), categorical={"device": ("ios", "web")})
    learner = build_learner("sklearn", {"estimator": "sklearn.linear_model.LogisticRegression", "params": {}})
    learner.fit(features.transform(X), y)
    bundle = ModelBundle(learner=learner, features=features, model_hash="h")
    bundle.save(tmp_path / "bundle")

    class Frames:
        classes_ = bundle.classes_

        def predict_proba(self, rows: pd.DataFrame) -> np.ndarray:
            return bundle.predict_proba_frame(rows)

    relaxed = {"kind": "infra", "requests": 100, "max_p99_ms": 500.0, "max_artifact_mb": 50.0}
    report = evaluator(relaxed).evaluate(Frames(), None, X, y, artifact_dir=tmp_path / "bundle")
    values = report.gates[0].values
    assert report.passed, report.reason
    assert values["errors"] == 0 and 0 < values["p99_ms"] < 500 and values["max_proba_difference"] <= 1e-6
    assert 0 < values["artifact_mb"] < 1
    strict = InfraGate(requests=20, max_p99_ms=1e-6, max_artifact_mb=1e-6)
    failed = strict.check(_comparison(Frames(), X, y, tmp_path / "bundle"))
    assert not failed.passed and "p99 latency" in failed.reason and "artifact" in failed.reason


def _comparison(model: object, X: pd.DataFrame, y: np.ndarray, artifact: Path):  # type: ignore[no-untyped-def]
    from lifelong.evaluation import Comparison, EvaluationData, ScoredRows, get_metric

    rows = ScoredRows.score_models(model, None, X, y)  # type: ignore[arg-type]
    return Comparison("roc_auc", True, 0.0, None, len(y), data=EvaluationData(get_metric("roc_auc"), rows, model, artifact_dir=artifact))  # type: ignore[arg-type]


def test_infra_gate_fails_on_a_broken_artifact(tmp_path: Path) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "spec.json").write_text("{not json")
    X, y = frame(7, n=50)
    model = Numeric(X, y)
    result = InfraGate(requests=5).check(_comparison(model, X, y, tmp_path / "broken"))
    assert not result.passed and "fresh process failed" in result.reason
