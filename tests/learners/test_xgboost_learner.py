"""XGBoostLearner: continued boosting through xgb_model, the cap, native formats, NaN/inf."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from lifelong.config import PipelineConfig
from lifelong.errors import ArtifactError, ConfigError, TrainingError, ValidationError
from lifelong.learners import XGBoostLearner, build_learner, load_learner
from lifelong.runtime import learner_params
from lifelong.testing import drifting_binary


def test_update_adds_rounds_on_top_of_the_parent() -> None:
    X, y = drifting_binary()
    X2, y2 = drifting_binary(seed=1, drift=1.0)
    parent = XGBoostLearner(n_estimators=20, update_estimators=5, max_depth=3).fit(X, y)
    parent_proba = parent.predict_proba(X2)
    child = XGBoostLearner(n_estimators=20, update_estimators=5, max_depth=3).fit(X, y)
    child.update(X2, y2)
    assert child.num_rounds == 25 and not child.last_update_refit
    assert child.booster is not None
    # the first 20 rounds are the parent's trees, unchanged
    first = child.booster.predict(xgb.DMatrix(X2), iteration_range=(0, 20))
    np.testing.assert_allclose(first, parent_proba[:, 1], rtol=0, atol=1e-7)
    # the 5 new rounds moved the predictions towards the drifted labels
    before = np.mean((parent_proba[:, 1] > 0.5) == y2)
    after = np.mean(child.predict(X2) == y2)
    assert after > before
    fresh = XGBoostLearner(n_estimators=5, max_depth=3).fit(X2, y2)
    assert not np.allclose(child.predict_proba(X2), fresh.predict_proba(X2))


def test_update_reaching_the_cap_refits_from_scratch() -> None:
    X, y = drifting_binary()
    X2, y2 = drifting_binary(seed=1, drift=1.0)
    learner = XGBoostLearner(n_estimators=10, update_estimators=5, max_trees=15).fit(X, y)
    learner.update(X2, y2)
    assert learner.num_rounds == 15 and not learner.last_update_refit
    learner.update(X2, y2)
    assert learner.last_update_refit and learner.num_rounds == 10
    fresh = XGBoostLearner(n_estimators=10, update_estimators=5, max_trees=15).fit(X2, y2)
    np.testing.assert_array_equal(learner.predict_proba(X), fresh.predict_proba(X))


@pytest.mark.parametrize(("model_format", "first_byte"), [("ubj", b"{"), ("json", b"{")])
def test_saved_in_the_native_format(tmp_path: Path, model_format: str, first_byte: bytes) -> None:
    X, y = drifting_binary()
    learner = XGBoostLearner(n_estimators=10, model_format=model_format).fit(X, y)  # type: ignore[arg-type]
    learner.save(tmp_path)
    files = sorted(path.name for path in tmp_path.iterdir())
    assert files == ["learner.json", f"model.{model_format}"]
    raw = (tmp_path / f"model.{model_format}").read_bytes()
    assert raw[:1] == first_byte
    if model_format == "json":
        assert "learner" in json.loads(raw)
    loaded = load_learner(tmp_path)
    assert isinstance(loaded, XGBoostLearner)
    np.testing.assert_array_equal(loaded.predict_proba(X), learner.predict_proba(X))
    # continuing from the loaded checkpoint equals continuing in memory
    X2, y2 = drifting_binary(seed=1, drift=1.0)
    np.testing.assert_array_equal(
        loaded.update(X2, y2).predict_proba(X), learner.update(X2, y2).predict_proba(X)
    )


def test_a_corrupt_or_mismatched_model_file_is_refused(tmp_path: Path) -> None:
    X, y = drifting_binary()
    XGBoostLearner(n_estimators=5).fit(X, y).save(tmp_path)
    manifest = json.loads((tmp_path / "learner.json").read_text())
    (tmp_path / "learner.json").write_text(json.dumps({**manifest, "n_features": 7}))
    with pytest.raises(ArtifactError, match="n_features"):
        XGBoostLearner.load(tmp_path)
    (tmp_path / "model.ubj").write_bytes(b"not a model")
    with pytest.raises(ArtifactError, match="model.ubj"):
        XGBoostLearner.load(tmp_path)


def test_nan_is_missing_and_inf_is_refused() -> None:
    X, y = drifting_binary()
    holes = X.copy()
    holes[::7, 0] = np.nan
    learner = XGBoostLearner(n_estimators=10).fit(holes, y)
    proba = learner.predict_proba(holes)
    assert np.isfinite(proba).all()
    for bad in (np.inf, -np.inf):
        dirty = X.copy()
        dirty[3, 2] = bad
        with pytest.raises(ValidationError, match="row 3, column 2"):
            learner.predict(dirty)
        with pytest.raises(ValidationError, match="finite"):
            XGBoostLearner(n_estimators=2).fit(dirty, y)


def test_deterministic_with_several_threads() -> None:
    X, y = drifting_binary(n_rows=400)
    params = {"n_estimators": 15, "subsample": 0.7, "colsample_bytree": 0.7, "nthread": 2}
    first = XGBoostLearner(**params).fit(X, y)  # type: ignore[arg-type]
    second = XGBoostLearner(**params).fit(X, y)  # type: ignore[arg-type]
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    other_seed = XGBoostLearner(**params, seed=1).fit(X, y)  # type: ignore[arg-type]
    assert not np.array_equal(first.predict_proba(X), other_seed.predict_proba(X))


def test_update_refuses_a_new_class_and_keeps_the_model() -> None:
    X, y = drifting_binary()
    learner = XGBoostLearner(n_estimators=5).fit(X, y)
    before = learner.predict_proba(X)
    with pytest.raises(ValidationError, match="unseen label"):
        learner.update(X, np.where(y == 1, 2, y))
    np.testing.assert_array_equal(learner.predict_proba(X), before)


def test_multiclass_and_feature_importance() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = np.digitize(X[:, 1], [-0.5, 0.5])
    learner = XGBoostLearner(objective="multiclass", n_estimators=20, max_depth=3).fit(X, y)
    assert learner.predict_proba(X).shape == (300, 3)
    assert np.mean(learner.predict(X) == y) > 0.9
    importance = learner.feature_importance()
    assert importance is not None and int(np.argmax(importance)) == 1
    assert importance.sum() == pytest.approx(1.0)


def test_hyperparameters_are_validated_with_the_name() -> None:
    with pytest.raises(ConfigError, match="tree_method: expected one of"):
        XGBoostLearner(tree_method="gpu")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="max_trees: expected at least n_estimators"):
        XGBoostLearner(n_estimators=10, max_trees=5)
    with pytest.raises(ConfigError, match="learning_rate"):
        build_learner("xgboost", {"learning_rate": 0})


def test_shape_hyperparameters_are_in_the_signature() -> None:
    base = XGBoostLearner().signature()
    assert XGBoostLearner(max_depth=3).signature() != base
    assert XGBoostLearner(n_estimators=7, learning_rate=0.5).signature() == base


def test_config_kind_builds_the_learner() -> None:
    config = PipelineConfig.model_validate(
        {
            "name": "m",
            "source": {"kind": "file", "path": "x.csv", "timestamp": "ts"},
            "labels": {"kind": "column", "column": "y"},
            "features": {"kind": "tabular", "numeric": ["a"]},
            "model": {"kind": "xgboost", "max_depth": 3, "n_estimators": 7},
        }
    )
    kind, params = learner_params(config)
    learner = build_learner(kind, params)
    assert isinstance(learner, XGBoostLearner)
    assert (learner.max_depth, learner.n_estimators) == (3, 7)


def test_update_boosts_the_live_booster_as_xgb_train_would() -> None:
    X, y = drifting_binary()
    X2, y2 = drifting_binary(seed=1, drift=1.0)
    params = {"n_estimators": 10, "update_estimators": 3, "max_depth": 3}
    learner = XGBoostLearner(**params).fit(X, y)  # type: ignore[arg-type]
    live = learner.booster
    reference = xgb.train(
        learner._train_params(2),
        xgb.DMatrix(X2, label=y2.astype(np.int64), nthread=1),
        num_boost_round=3,
        xgb_model=XGBoostLearner(**params).fit(X, y).booster,  # type: ignore[arg-type]
    )
    learner.update(X2, y2)
    # the same booster object grew in place (no copy of the model per update) ...
    assert learner.booster is live and learner.num_rounds == 13
    # ... into exactly the trees that xgb.train continuing from a copy grows
    np.testing.assert_array_equal(
        learner.booster.predict(xgb.DMatrix(X)), reference.predict(xgb.DMatrix(X))
    )


def test_drop_oldest_keeps_a_sliding_window_of_the_newest_rounds() -> None:
    X, y = drifting_binary()
    X2, y2 = drifting_binary(seed=1, drift=1.0)
    learner = XGBoostLearner(
        n_estimators=10, update_estimators=2, max_trees=12, at_cap="drop_oldest", drop_rounds=3
    ).fit(X, y)
    learner.update(X2, y2)
    assert (learner.num_rounds, learner.last_update_dropped) == (12, 0)
    assert learner.booster is not None
    before = learner.booster.copy()
    learner.update(X2, y2)
    # 3 oldest rounds dropped (more than the 2 the cap needed), 2 new ones on top of the 9 kept
    assert (learner.num_rounds, learner.last_update_dropped) == (11, 3)
    assert not learner.last_update_refit
    kept = learner.booster.predict(xgb.DMatrix(X2), output_margin=True, iteration_range=(0, 9))
    np.testing.assert_array_equal(kept, before[3:].predict(xgb.DMatrix(X2), output_margin=True))
    learner.update(X2, y2)
    assert (learner.num_rounds, learner.last_update_dropped) == (10, 3)
    assert learner.params()["at_cap"] == "drop_oldest" and learner.clone().drop_rounds == 3


def test_drop_oldest_refits_when_nothing_would_be_left() -> None:
    X, y = drifting_binary()
    learner = XGBoostLearner(
        n_estimators=4, update_estimators=4, max_trees=4, at_cap="drop_oldest", drop_rounds=4
    ).fit(X, y)
    learner.update(X, y)
    assert learner.last_update_refit and learner.num_rounds == 4


def test_a_failed_update_leaves_the_model_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = drifting_binary()
    learner = XGBoostLearner(n_estimators=5, update_estimators=3).fit(X, y)
    before = learner.predict_proba(X)
    calls = {"n": 0}
    original = xgb.Booster.update

    def flaky(self: xgb.Booster, *args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise xgb.core.XGBoostError("simulated failure")
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(xgb.Booster, "update", flaky)
    with pytest.raises(TrainingError, match="xgboost: training failed: simulated failure"):
        learner.update(X, y)
    monkeypatch.undo()
    assert learner.num_rounds == 5
    np.testing.assert_array_equal(learner.predict_proba(X), before)
    assert learner.update(X, y).num_rounds == 8


def test_cap_policy_is_validated_with_the_name() -> None:
    with pytest.raises(ConfigError, match="at_cap: expected one of"):
        XGBoostLearner(at_cap="forget")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="drop_rounds"):
        XGBoostLearner(drop_rounds=0)


def test_sampled_updates_do_not_depend_on_other_boosters_trained_meanwhile() -> None:
    X, y = drifting_binary()
    X2, y2 = drifting_binary(seed=1, drift=1.0)
    params = {"n_estimators": 10, "update_estimators": 3, "subsample": 0.7}
    params["colsample_bytree"] = 0.7
    alone = XGBoostLearner(**params).fit(X, y).update(X2, y2)  # type: ignore[arg-type]
    interleaved = XGBoostLearner(**params).fit(X, y)  # type: ignore[arg-type]
    XGBoostLearner(**params, seed=4).fit(X2, y2).update(X, y)  # type: ignore[arg-type]
    interleaved.update(X2, y2)
    np.testing.assert_array_equal(interleaved.predict_proba(X), alone.predict_proba(X))
    other_seed = XGBoostLearner(**params, seed=1).fit(X, y).update(X2, y2)  # type: ignore[arg-type]
    assert not np.array_equal(other_seed.predict_proba(X), alone.predict_proba(X))


def test_a_failed_update_after_a_drop_keeps_the_oldest_rounds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    X, y = drifting_binary()
    learner = XGBoostLearner(
        n_estimators=6, update_estimators=2, max_trees=6, at_cap="drop_oldest", drop_rounds=2
    ).fit(X, y)
    before = learner.predict_proba(X)

    def broken(self: xgb.Booster, *args: object, **kwargs: object) -> None:
        raise xgb.core.XGBoostError("simulated failure")

    monkeypatch.setattr(xgb.Booster, "update", broken)
    with pytest.raises(TrainingError, match="simulated failure"):
        learner.update(X, y)
    assert (learner.num_rounds, learner.last_update_dropped) == (6, 0)
    np.testing.assert_array_equal(learner.predict_proba(X), before)


def test_a_configured_sliding_window_with_fewer_bins_keeps_its_parameters() -> None:
    config = PipelineConfig.model_validate(
        {
            "name": "m",
            "source": {"kind": "file", "path": "x.csv", "timestamp": "ts"},
            "labels": {"kind": "column", "column": "y"},
            "features": {"kind": "tabular", "numeric": ["a"]},
            "model": {
                "kind": "xgboost",
                "n_estimators": 6,
                "update_estimators": 1,
                "max_trees": 6,
                "at_cap": "drop_oldest",
                "drop_rounds": 3,
                "max_bin": 64,
            },
        }
    )
    learner = build_learner(*learner_params(config))
    assert isinstance(learner, XGBoostLearner)
    X, y = drifting_binary()
    X2, y2 = drifting_binary(seed=1, drift=1.0)
    learner.fit(X, y).update(X2, y2)  # the cap reached: 3 oldest rounds dropped, 1 added
    assert (learner.num_rounds, learner.last_update_dropped) == (4, 3)
    assert learner.booster is not None
    # the sliced booster trains with the configured bins (the default is 256)
    trained = json.dumps(json.loads(learner.booster.save_config()), separators=(",", ":"))
    assert '"max_bin":"64"' in trained and '"max_bin":"256"' not in trained
