"""LightGBMLearner: continued boosting, the tree cap, leaf refits, and native persistence."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lifelong.errors import ConfigError, TrainingError, ValidationError
from lifelong.learners import LightGBMLearner
from lifelong.testing import drifting_binary


def test_update_adds_rounds_on_top_of_the_parent() -> None:
    X, y = drifting_binary()
    X2, y2 = drifting_binary(seed=1, drift=1.0)
    parent = LightGBMLearner(n_estimators=20, update_estimators=5).fit(X, y)
    parent_raw = parent.predict_proba(X2)[:, 1]
    child = LightGBMLearner(n_estimators=20, update_estimators=5).fit(X, y).update(X2, y2)
    assert child.num_rounds == 25
    assert child.booster is not None and child.booster.num_trees() == 25
    assert not child.last_update_refit
    # the child's first 20 trees are the parent's: boosting started from its predictions
    np.testing.assert_array_equal(child.booster.predict(X2, num_iteration=20), parent_raw)
    assert not np.allclose(child.predict_proba(X2)[:, 1], parent_raw)
    # and it is not a model trained on the new rows alone
    fresh = LightGBMLearner(n_estimators=5).fit(X2, y2)
    assert not np.allclose(child.predict_proba(X2), fresh.predict_proba(X2))


def test_update_reaching_the_cap_refits_from_scratch() -> None:
    X, y = drifting_binary()
    X2, y2 = drifting_binary(seed=1, drift=1.0)
    learner = LightGBMLearner(n_estimators=20, update_estimators=5, max_trees=30).fit(X, y)
    learner.update(X2, y2).update(X2, y2)
    assert learner.num_rounds == 30 and not learner.last_update_refit
    learner.update(X2, y2)
    assert learner.last_update_refit
    assert learner.num_rounds == 20
    fresh = LightGBMLearner(n_estimators=20, update_estimators=5, max_trees=30).fit(X2, y2)
    np.testing.assert_array_equal(learner.predict_proba(X), fresh.predict_proba(X))
    learner.update(X, y)
    assert learner.num_rounds == 25 and not learner.last_update_refit


def test_refit_leaves_changes_the_old_trees_then_boosts() -> None:
    X, y = drifting_binary()
    X2, y2 = drifting_binary(seed=1, drift=1.0)
    plain = LightGBMLearner(n_estimators=20, update_estimators=5).fit(X, y).update(X2, y2)
    refit = LightGBMLearner(
        n_estimators=20, update_estimators=5, refit_leaves=True, refit_decay=0.5
    )
    refit.fit(X, y).update(X2, y2)
    assert refit.num_rounds == 25
    assert plain.booster is not None and refit.booster is not None
    old_plain = plain.booster.predict(X2, num_iteration=20)
    old_refit = refit.booster.predict(X2, num_iteration=20)
    assert not np.allclose(old_plain, old_refit)


def test_multiclass_with_string_labels(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 3))
    y = np.array(["low", "mid", "high"])[np.digitize(X[:, 0], [-0.5, 0.5])]
    learner = LightGBMLearner(objective="multiclass", n_estimators=10, update_estimators=4)
    learner.fit(X, y).update(X[:100], y[:100])
    assert learner.classes_.tolist() == ["high", "low", "mid"]
    proba = learner.predict_proba(X)
    assert proba.shape == (300, 3)
    assert learner.booster is not None and learner.booster.num_trees() == 14 * 3
    assert (learner.predict(X) == y).mean() > 0.9
    learner.save(tmp_path)
    loaded = LightGBMLearner.load(tmp_path)
    np.testing.assert_array_equal(loaded.predict(X), learner.predict(X))
    assert json.loads((tmp_path / "learner.json").read_text())["classes"] == ["high", "low", "mid"]


def test_regression_objective(tmp_path: Path) -> None:
    X, _ = drifting_binary()
    target = X[:, 0] * 3.0
    learner = LightGBMLearner(objective="regression", n_estimators=30).fit(X, target)
    assert np.corrcoef(learner.predict(X), target)[0, 1] > 0.9
    assert learner.classes_.size == 0
    with pytest.raises(ConfigError, match="regression"):
        learner.predict_proba(X)
    learner.save(tmp_path)
    np.testing.assert_array_equal(LightGBMLearner.load(tmp_path).predict(X), learner.predict(X))


def test_binary_needs_two_classes_and_update_refuses_new_labels() -> None:
    X, y = drifting_binary()
    with pytest.raises(TrainingError, match="exactly 2 classes, got \\[1\\]"):
        LightGBMLearner().fit(X[y == 1], y[y == 1])
    learner = LightGBMLearner(n_estimators=5).fit(X, y)
    with pytest.raises(ValidationError, match="unseen"):
        learner.update(X[:3], np.array([0, 1, 2]))
    assert learner.num_rounds == 5


def test_saved_model_is_native_text(tmp_path: Path) -> None:
    X, y = drifting_binary()
    LightGBMLearner(n_estimators=5).fit(X, y).save(tmp_path)
    assert (tmp_path / "model.txt").read_text().startswith("tree\n")
    manifest = json.loads((tmp_path / "learner.json").read_text())
    assert manifest["kind"] == "lightgbm" and manifest["classes"] == [0, 1]
    assert manifest["params"]["n_estimators"] == 5


def test_max_bin_bounds_the_split_thresholds_and_survives_a_save(tmp_path: Path) -> None:
    X, y = drifting_binary()
    coarse = LightGBMLearner(n_estimators=5, max_bin=4).fit(X, y)
    fine = LightGBMLearner(n_estimators=5).fit(X, y)

    def thresholds(learner: LightGBMLearner) -> set[float]:
        assert learner.booster is not None
        frame = learner.booster.trees_to_dataframe()
        return set(frame.loc[frame["split_feature"] == "Column_0", "threshold"].dropna())

    assert len(thresholds(coarse)) <= 3 < len(thresholds(fine))
    coarse.save(tmp_path)
    assert LightGBMLearner.load(tmp_path).max_bin == 4


def test_feature_importance_is_normalised_gain() -> None:
    X, y = drifting_binary()
    learner = LightGBMLearner(n_estimators=20)
    assert learner.feature_importance() is None
    importance = learner.fit(X, y).feature_importance()
    assert importance is not None
    assert importance.sum() == pytest.approx(1.0)
    assert int(np.argmax(importance)) == 0


def test_sample_weight_changes_the_model() -> None:
    X, y = drifting_binary()
    plain = LightGBMLearner(n_estimators=10).fit(X, y)
    weighted = LightGBMLearner(n_estimators=10).fit(X, y, sample_weight=np.where(y == 1, 4.0, 1.0))
    assert weighted.predict_proba(X)[:, 1].mean() > plain.predict_proba(X)[:, 1].mean()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"objective": "poisson"}, "objective: expected one of"),
        ({"num_leaves": 1}, "num_leaves: expected an integer >= 2, got 1"),
        ({"num_leaves": 2.5}, "num_leaves: expected an integer"),
        ({"learning_rate": 0}, "learning_rate: expected a number in \\(0.0"),
        ({"n_estimators": True}, "n_estimators: expected an integer"),
        ({"max_trees": 10, "n_estimators": 20}, "max_trees: expected at least n_estimators"),
        ({"feature_fraction": 1.5}, "feature_fraction: expected a number in \\(0.0, 1.0\\]"),
        ({"refit_leaves": "yes"}, "refit_leaves: expected true or false"),
        ({"refit_decay": -0.1}, "refit_decay: expected a number in \\[0.0, 1.0\\]"),
        ({"num_threads": 0}, "num_threads: expected an integer >= 1"),
        ({"max_bin": 1}, "max_bin: expected an integer >= 2, got 1"),
    ],
)
def test_bad_hyperparameters_are_refused(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        LightGBMLearner(**kwargs)  # type: ignore[arg-type]
