"""The learner registry: build by kind, load by the saved manifest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lifelong.errors import ArtifactError, ConfigError, NotFoundError
from lifelong.learners import (
    LEARNERS,
    LightGBMLearner,
    SklearnLearner,
    build_learner,
    load_learner,
)
from lifelong.learners.base import Learner
from lifelong.testing import drifting_binary


def test_builtin_kinds() -> None:
    kinds = {"implicit_als", "lightgbm", "river", "river_mf", "sklearn", "torch_embedding", "torch_mlp", "xgboost"}
    assert kinds <= set(LEARNERS.kinds())


def test_build_learner_by_kind() -> None:
    learner = build_learner("sklearn", {"estimator": "sklearn.naive_bayes.GaussianNB"})
    assert isinstance(learner, SklearnLearner)
    lgbm = build_learner("lightgbm", {"num_leaves": 7})
    assert isinstance(lgbm, LightGBMLearner) and lgbm.num_leaves == 7


@pytest.mark.parametrize(
    ("kind", "params", "match"),
    [
        ("tensorflow", {}, r"learner kind: expected one of \['implicit_als', 'lightgbm', .*\], got 'tensorflow'"),
        ("lightgbm", {"trees": 5}, r"learner\.trees: not a parameter of kind 'lightgbm'"),
        ("sklearn", {}, r"learner\.estimator: required by kind 'sklearn'"),
        ("lightgbm", {"num_leaves": 0}, r"learner: num_leaves: expected an integer >= 2"),
        ("sklearn", {"estimator": "os.system"}, r"learner: estimator: expected a dotted path"),
    ],
)
def test_build_learner_names_the_bad_field(
    kind: str, params: dict[str, object], match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        build_learner(kind, params)


@pytest.mark.parametrize(
    "learner",
    [
        SklearnLearner(estimator="sklearn.linear_model.SGDClassifier", params={"random_state": 1}),
        LightGBMLearner(n_estimators=5),
    ],
    ids=["sklearn", "lightgbm"],
)
def test_load_learner_dispatches_on_the_manifest(learner: Learner, tmp_path: Path) -> None:
    X, y = drifting_binary()
    learner.fit(X, y).save(tmp_path)
    loaded = load_learner(tmp_path)
    assert type(loaded) is type(learner)
    np.testing.assert_array_equal(loaded.predict(X), learner.predict(X))


def test_load_learner_refuses_unknown_or_missing_manifests(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="learner.json"):
        load_learner(tmp_path)
    (tmp_path / "learner.json").write_text(json.dumps({"format": 1, "kind": "torch", "params": {}}))
    with pytest.raises(ConfigError, match="got 'torch'"):
        load_learner(tmp_path)
    (tmp_path / "learner.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="expected a JSON learner manifest"):
        load_learner(tmp_path)


def test_wrong_kind_for_the_class_is_refused(tmp_path: Path) -> None:
    X, y = drifting_binary()
    LightGBMLearner(n_estimators=5).fit(X, y).save(tmp_path)
    with pytest.raises(ArtifactError, match="kind: expected 'sklearn', got 'lightgbm'"):
        SklearnLearner.load(tmp_path)
