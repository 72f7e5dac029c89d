"""Forgetting: the metric on older windows before and after an update; replay reduces it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lifelong.evaluation.metrics import get_metric
from lifelong.features import FeaturePipeline
from lifelong.learners import LightGBMLearner
from lifelong.training.bundle import ModelBundle
from lifelong.training.forgetting import ForgettingReport, measure_forgetting


def _concept(seed: int, sign: float, n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    return pd.DataFrame(
        {"x1": x[:, 0], "x2": x[:, 1], "label": ((sign * x[:, 0] + 0.3 * x[:, 1]) > 0).astype(int)}
    )


def _bundle(learner: LightGBMLearner, features: FeaturePipeline) -> ModelBundle:
    return ModelBundle(learner=learner, features=features, model_hash="h")


def test_forgetting_is_positive_after_learning_a_flipped_concept_and_replay_reduces_it() -> None:
    features = FeaturePipeline(numeric=("x1", "x2"))
    old, new = _concept(0, 1.0), _concept(1, -1.0)
    parent = LightGBMLearner(n_estimators=30, update_estimators=30, num_leaves=7).fit(
        features.transform(old), old["label"].to_numpy()
    )
    forgetful = LightGBMLearner(n_estimators=30, update_estimators=30, num_leaves=7).fit(
        features.transform(old), old["label"].to_numpy()
    )
    forgetful.update(features.transform(new), new["label"].to_numpy())
    mixed = pd.concat([new, old.sample(n=300, random_state=0)])
    replayed = LightGBMLearner(n_estimators=30, update_estimators=30, num_leaves=7).fit(
        features.transform(old), old["label"].to_numpy()
    )
    replayed.update(features.transform(mixed), mixed["label"].to_numpy())
    windows = [("1.0", _concept(2, 1.0, n=400))]
    metric = get_metric("accuracy")
    lost = measure_forgetting(
        windows, _bundle(parent, features), _bundle(forgetful, features), metric
    )
    kept = measure_forgetting(
        windows, _bundle(parent, features), _bundle(replayed, features), metric
    )
    assert isinstance(lost, ForgettingReport) and isinstance(kept, ForgettingReport)
    assert lost.before > 0.9 and lost.forgetting > 0.3
    assert kept.forgetting < lost.forgetting - 0.1
    assert lost.to_dict()["windows"][0] == {
        "version": "1.0",
        "rows": 400,
        "before": lost.before,
        "after": lost.after,
    }


def test_lower_is_better_metrics_and_unreadable_windows() -> None:
    report = ForgettingReport("log_loss", False, before=0.30, after=0.45, rows=10, windows=())
    assert abs(report.forgetting - 0.15) < 1e-12
    features = FeaturePipeline(numeric=("x1", "x2"))
    rows = _concept(0, 1.0)
    model = _bundle(
        LightGBMLearner(n_estimators=5).fit(features.transform(rows), rows["label"].to_numpy()),
        features,
    )
    assert (
        measure_forgetting(
            [("1.0", rows.drop(columns=["x2"]))], model, model, get_metric("accuracy")
        )
        is None
    )
