"""The recommender contract suite: the checks every :class:`~lifelong.learners.recommender.Recommender` passes.

As :mod:`lifelong.testing.contracts` for classifiers: each check takes a factory of unfitted
recommenders and raises :class:`AssertionError` with a clear message when the contract is
broken. Run them all with :func:`check_recommender`, or parametrize over :func:`recommender_checks`.

Examples
--------
>>> from lifelong.learners.implicit_als import ImplicitALSRecommender
>>> check_recommender(lambda: ImplicitALSRecommender(factors=4, iterations=4))
>>> [check.__name__ for check in recommender_checks()][:2]
['check_fit_recommend', 'check_recommendations_learn_the_clusters']
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from lifelong.errors import ConfigError, LifelongError
from lifelong.learners.manifest import MANIFEST
from lifelong.learners.recommender import Interactions, Recommender

RecommenderFactory = Callable[[], Recommender]
RecommenderCheck = Callable[[RecommenderFactory], None]


def cluster_interactions(
    *,
    seed: int = 0,
    n_users: int = 60,
    n_items: int = 30,
    clusters: int = 3,
    per_user: int = 6,
    prefix: str = "",
) -> Interactions:
    """Users of cluster ``c`` interact with items of cluster ``c`` (ids ``{prefix}u<n>`` and ``i<n>``).

    Examples
    --------
    >>> batch = cluster_interactions(n_users=6, n_items=6, clusters=2, per_user=2)
    >>> len(batch), batch.users[0], batch.items[0]
    (12, np.str_('u0'), np.str_('i2'))
    """
    rng = np.random.default_rng(seed)
    users, items, weights = [], [], []
    for user in range(n_users):
        cluster = user % clusters
        pool = np.arange(cluster, n_items, clusters)
        for item in rng.choice(pool, size=min(per_user, len(pool)), replace=False).tolist():
            users.append(f"{prefix}u{user}")
            items.append(f"i{item}")
            weights.append(float(rng.integers(1, 4)))
    return Interactions.of(users, items, weights)


def _name(model: Recommender) -> str:
    return f"{type(model).__name__}({model.params()})"


def _items(ranked: list[tuple[str, float]]) -> list[str]:
    return [item for item, _ in ranked]


def check_fit_recommend(factory: RecommenderFactory) -> None:
    """``fit`` returns self; ``recommend`` gives k known, unseen items, best first, as ``score`` ranks them."""
    data = cluster_interactions()
    model = factory()
    if model.is_fitted:
        raise AssertionError(f"{_name(model)}: a fresh recommender claims is_fitted")
    if model.fit(data) is not model or not model.is_fitted:
        raise AssertionError(f"{_name(model)}: fit must return the fitted recommender itself")
    ranked = model.recommend(["u0", "u1"], k=5)
    if len(ranked) != 2 or any(len(r) != 5 for r in ranked):
        raise AssertionError(f"{_name(model)}: expected 2 lists of 5 recommendations, got {ranked}")
    seen = {str(i) for u, i in zip(data.users, data.items, strict=True) if u == "u0"}
    if seen & set(_items(ranked[0])):
        raise AssertionError(
            f"{_name(model)}: recommended items u0 has already seen: {seen & set(_items(ranked[0]))}"
        )
    if not set(_items(ranked[0])) <= set(model.items_.tolist()):
        raise AssertionError(f"{_name(model)}: recommended unknown items")
    scores = [score for _, score in ranked[0]]
    if scores != sorted(scores, reverse=True):
        raise AssertionError(
            f"{_name(model)}: recommendations are not ordered best first: {scores}"
        )
    direct = model.score(["u0"] * 5, _items(ranked[0]))
    if not np.allclose(direct, scores, rtol=1e-4, atol=1e-5):
        raise AssertionError(
            f"{_name(model)}: score() {direct.tolist()} disagrees with recommend() {scores}"
        )


def check_recommendations_learn_the_clusters(factory: RecommenderFactory) -> None:
    """Most recommendations come from the user's own cluster."""
    model = factory().fit(cluster_interactions())
    users = [f"u{n}" for n in range(30)]
    hits = [
        int(item[1:]) % 3 == n % 3
        for n, ranked in enumerate(model.recommend(users, k=3))
        for item, _ in ranked
    ]
    if np.mean(hits) < 0.6:
        raise AssertionError(
            f"{_name(model)}: only {np.mean(hits):.0%} of recommendations in the user's cluster (expected >= 60%)"
        )


def check_unknowns(factory: RecommenderFactory) -> None:
    """An unknown user gets popular items; unknown pairs score 0; bad ``k`` and unfitted use are refused."""
    model = factory()
    for action in (lambda: model.recommend(["u0"]), lambda: model.score(["u0"], ["i0"])):
        try:
            action()
        except LifelongError:
            pass
        else:
            raise AssertionError(
                f"{_name(model)}: an unfitted recommender must raise a LifelongError"
            )
    model.fit(cluster_interactions())
    cold = model.recommend(["nobody"], k=3)[0]
    if len(cold) != 3 or not set(_items(cold)) <= set(model.items_.tolist()):
        raise AssertionError(
            f"{_name(model)}: an unknown user should get 3 popular items, got {cold}"
        )
    if model.score(["nobody", "u0"], ["i0", "nothing"]).tolist() != [0.0, 0.0]:
        raise AssertionError(f"{_name(model)}: unknown users or items must score 0")
    try:
        model.recommend(["u0"], k=0)
    except ConfigError:
        return
    raise AssertionError(f"{_name(model)}: recommend(k=0) must raise ConfigError")


def check_update_folds_in(factory: RecommenderFactory) -> None:
    """``update`` on an unfitted model fits it; after a fit it learns new users and new items."""
    data = cluster_interactions()
    first = factory()
    if first.update(data) is not first or not first.is_fitted:
        raise AssertionError(
            f"{_name(first)}: update on an unfitted recommender must fit and return self"
        )
    model = factory().fit(data)
    new = Interactions.of(["newbie", "newbie", "newbie", "u0"], ["i0", "i3", "i-new", "i-new"])
    if model.update(new) is not model:
        raise AssertionError(f"{_name(model)}: update must return the recommender itself")
    if "newbie" not in model.users_.tolist() or "i-new" not in model.items_.tolist():
        raise AssertionError(f"{_name(model)}: update did not fold in the new user or the new item")
    if model.score(["newbie"], ["i6"])[0] == 0.0:
        raise AssertionError(f"{_name(model)}: a folded-in user still scores 0 on known items")
    ranked = _items(model.recommend(["newbie"], k=3)[0])
    if {"i0", "i3", "i-new"} & set(ranked):
        raise AssertionError(f"{_name(model)}: recommended the new user's own items {ranked}")


def _roundtrip(model: Recommender, action: Callable[[Path], Any]) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "recommender"
        model.save(directory)
        return action(directory)


def check_save_load_round_trip(factory: RecommenderFactory) -> None:
    """``load(save(model))`` recommends and scores identically, and updates identically afterwards."""
    model = factory().fit(cluster_interactions())
    users = ["u0", "u5", "nobody"]

    def reload(directory: Path) -> Recommender:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("kind") != model.kind:
            raise AssertionError(f"{_name(model)}: {MANIFEST} kind {manifest.get('kind')!r}")
        for path in directory.rglob("*"):
            if path.suffix == ".npz":
                with np.load(path, allow_pickle=False) as arrays:
                    for name in arrays.files:
                        arrays[name]  # raises ValueError on object (pickled) arrays
            elif path.is_file() and path.suffix != ".json":
                raise AssertionError(
                    f"{_name(model)}: saved {path.name}, expected only .npz and .json files"
                )
        return type(model).load(directory)

    loaded = _roundtrip(model, reload)
    if loaded.params() != model.params() or loaded.recommend(users, k=4) != model.recommend(
        users, k=4
    ):
        raise AssertionError(f"{_name(model)}: recommendations differ after a save/load round trip")
    batch = cluster_interactions(seed=3, n_users=10, prefix="later-")
    model.update(batch)
    loaded.update(batch)
    if loaded.recommend(["later-u1", "u0"], k=4) != model.recommend(["later-u1", "u0"], k=4):
        raise AssertionError(f"{_name(model)}: an update after save/load differs from one without")


def check_deterministic_and_clone(factory: RecommenderFactory) -> None:
    """Two fits (and updates) on the same rows agree; ``clone`` is unfitted with equal, JSON params."""
    a, b = factory().fit(cluster_interactions()), factory().fit(cluster_interactions())
    batch = cluster_interactions(seed=4, n_users=8, prefix="x-")
    a.update(batch)
    b.update(batch)
    users = ["u0", "x-u2"]
    if a.recommend(users, k=5) != b.recommend(users, k=5):
        raise AssertionError(f"{_name(a)}: two identical trainings recommend differently")
    copy = a.clone()
    if (
        type(copy) is not type(a)
        or copy.is_fitted
        or copy.params() != a.params()
        or not a.is_fitted
    ):
        raise AssertionError(f"{_name(a)}: clone() must be an unfitted copy with equal params")
    for what, value in (("params", a.params()), ("signature", a.signature())):
        if json.loads(json.dumps(value)) != value:
            raise AssertionError(f"{_name(a)}: {what}() is not plain JSON: {value!r}")


def recommender_checks() -> list[RecommenderCheck]:
    """Every contract check, in a stable order."""
    return [
        check_fit_recommend,
        check_recommendations_learn_the_clusters,
        check_unknowns,
        check_update_folds_in,
        check_save_load_round_trip,
        check_deterministic_and_clone,
    ]


def check_recommender(factory: RecommenderFactory) -> None:
    """Run every contract check on ``factory``; the first broken one raises AssertionError."""
    for check in recommender_checks():
        check(factory)


__all__ = [
    "RecommenderCheck",
    "RecommenderFactory",
    "check_recommender",
    "cluster_interactions",
    "recommender_checks",
]
