"""Collaborative filtering: the recommender contract on implicit ALS and River FunkMF, fold-in and refits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lifelong.errors import ArtifactError, ConfigError, ValidationError
from lifelong.learners.implicit_als import ImplicitALSRecommender
from lifelong.learners.recommender import Interactions, build_recommender, load_recommender
from lifelong.learners.river_mf import RiverFunkMFRecommender
from lifelong.testing.recommender_contracts import (
    check_fit_recommend,
    cluster_interactions,
    recommender_checks,
)

FACTORIES = {
    "implicit_als": lambda: ImplicitALSRecommender(factors=8, iterations=6),
    "implicit_als_refit_each_update": lambda: ImplicitALSRecommender(
        factors=8, iterations=6, refit_every=1
    ),
    "river_mf": lambda: RiverFunkMFRecommender(n_factors=8),
}


@pytest.mark.parametrize("check", recommender_checks(), ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_recommender_contract(name: str, check) -> None:  # type: ignore[no-untyped-def]
    check(FACTORIES[name])


class _RecommendsSeen(ImplicitALSRecommender):
    """Broken on purpose: ignores exclude_seen."""

    def recommend(self, users, *, k=10, exclude_seen=True):  # type: ignore[no-untyped-def,override]
        return super().recommend(users, k=k, exclude_seen=False)


def test_contract_catches_a_recommender_that_repeats_seen_items() -> None:
    with pytest.raises(AssertionError, match="already seen"):
        check_fit_recommend(lambda: _RecommendsSeen(factors=8, iterations=6))


def test_fold_in_touches_only_the_batch_and_refit_runs_on_schedule() -> None:
    model = ImplicitALSRecommender(factors=8, iterations=6, refit_every=3).fit(
        cluster_interactions()
    )
    before = model.user_factors.copy()  # type: ignore[union-attr]
    model.update(Interactions.of(["u1", "fresh"], ["i4", "i1"]))
    after = model.user_factors
    assert after is not None and after.shape[0] == before.shape[0] + 1
    untouched = [
        n for n, user in enumerate(model.users_.tolist()[: before.shape[0]]) if user != "u1"
    ]
    assert np.array_equal(
        after[untouched], before[untouched]
    )  # fold-in re-solves only touched users
    assert not np.array_equal(after[1], before[1]) and not model.last_update_refit
    model.update(Interactions.of(["u2"], ["i5"]))
    assert not model.last_update_refit and model.updates_since_refit == 2
    model.update(Interactions.of(["u3"], ["i0"]))
    assert model.last_update_refit and model.updates_since_refit == 0
    refit = ImplicitALSRecommender(factors=8, iterations=6, refit_every=3)
    everything = cluster_interactions().concat(
        Interactions.of(["u1", "fresh", "u2", "u3"], ["i4", "i1", "i5", "i0"])
    )
    refit.fit(everything)
    assert np.allclose(
        refit.score(["u0", "fresh"], ["i3", "i2"]),
        model.score(["u0", "fresh"], ["i3", "i2"]),
        atol=1e-5,
    )


def test_weights_accumulate_and_saved_state_is_plain_npz(tmp_path: Path) -> None:
    model = ImplicitALSRecommender(factors=4, iterations=3).fit(
        Interactions.of(["a", "a", "b"], ["x", "x", "y"], [1.0, 2.0, 1.0])
    )
    model.save(tmp_path / "cf")
    with np.load(tmp_path / "cf" / "factors.npz", allow_pickle=False) as state:
        assert state["data"].tolist() == [3.0, 1.0] and state["users"].dtype.kind == "U"
    loaded = load_recommender(tmp_path / "cf")
    assert isinstance(loaded, ImplicitALSRecommender) and loaded.recommend(
        ["a"], k=1
    ) == model.recommend(["a"], k=1)
    (tmp_path / "cf" / "factors.npz").write_bytes(b"not an npz")
    with pytest.raises(ArtifactError, match="factors.npz"):
        ImplicitALSRecommender.load(tmp_path / "cf")


def test_bad_input_names_the_parameter() -> None:
    with pytest.raises(ConfigError, match="factors: expected an integer >= 1, got 0"):
        ImplicitALSRecommender(factors=0)
    with pytest.raises(ConfigError, match="recommender kind: expected one of"):
        build_recommender("svd", {})
    with pytest.raises(ConfigError, match="recommender.implicit_als"):
        build_recommender("implicit_als", {"rank": 3})
    with pytest.raises(ValidationError, match="expected users, items and weights of one length"):
        Interactions.of(["a"], ["x", "y"])
    with pytest.raises(ValidationError, match="users: expected non-empty ids"):
        Interactions.of([""], ["x"])
