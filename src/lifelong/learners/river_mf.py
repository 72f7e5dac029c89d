"""River's online matrix factorization (``river.reco.FunkMF``) as a recommender, for comparison.

FunkMF learns one (user, item, target) at a time by SGD. On implicit feedback each observed
interaction is a target of 1 and ``negatives`` items the user has not interacted with are drawn
as targets of 0. Latent vectors of new ids are drawn from a generator seeded by the id, so
training does not depend on the order ids first appear in, nor on a save/load in between. The
state is saved as npz arrays (ids, latent vectors, interactions) without pickle.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np
from numpy.typing import NDArray
from river import optim, reco

from lifelong.errors import ArtifactError, ConfigError, TrainingError
from lifelong.learners._checks import check_float, check_int
from lifelong.learners.manifest import read_manifest, write_manifest
from lifelong.learners.recommender import (
    Interactions,
    Ranked,
    Recommender,
    StrArray,
    as_ids,
    check_k,
)

STATE_FILE = "latents.npz"


class RiverFunkMFRecommender(Recommender):
    """Online SGD matrix factorization (River's FunkMF) with sampled negatives.

    Parameters
    ----------
    n_factors
        Latent dimensions.
    learning_rate
        SGD step size.
    l2
        L2 penalty on the latent vectors.
    negatives
        Unobserved items drawn as 0-targets per observed interaction.
    epochs
        Passes over the interactions of a fit from scratch (an update makes one pass).
    seed
        Seeds the initial latents and the negative draws.

    Examples
    --------
    >>> model = RiverFunkMFRecommender(n_factors=4).fit(Interactions.of(["a", "a", "b"], ["x", "y", "x"]))
    >>> model.recommend(["b"], k=1)[0][0][0]
    'y'
    """

    kind = "river_mf"

    def __init__(
        self,
        *,
        n_factors: int = 16,
        learning_rate: float = 0.05,
        l2: float = 0.001,
        negatives: int = 1,
        epochs: int = 3,
        seed: int = 0,
    ) -> None:
        self.n_factors = check_int("n_factors", n_factors, minimum=1)
        self.learning_rate = check_float(
            "learning_rate", learning_rate, low=0.0, high=np.inf, low_inclusive=False
        )
        self.l2 = check_float("l2", l2, low=0.0, high=np.inf)
        self.negatives = check_int("negatives", negatives, minimum=0)
        self.epochs = check_int("epochs", epochs, minimum=1)
        self.seed = check_int("seed", seed, minimum=0)
        self._reset()

    def _reset(self) -> None:
        self._model: reco.FunkMF | None = None
        self._item_ids: list[str] = []
        self._item_index: dict[str, int] = {}
        self._seen: dict[str, set[int]] = {}
        self._pairs: list[tuple[str, int, float]] = []
        self._passes = 0

    def _new_model(self) -> reco.FunkMF:
        return reco.FunkMF(
            n_factors=self.n_factors,
            optimizer=optim.SGD(self.learning_rate),
            l2=self.l2,
            initializer=optim.initializers.Zeros(),
            seed=self.seed,
        )

    def _initial(self, side: str, key: str) -> NDArray[np.float64]:
        rng = np.random.default_rng([self.seed, zlib.crc32(f"{side}:{key}".encode())])
        return rng.normal(0.0, 0.1, size=self.n_factors)

    def _learn(self, model: reco.FunkMF, batch: Interactions) -> None:
        for item in batch.items.tolist():
            if item not in self._item_index:
                self._item_index[item] = len(self._item_ids)
                self._item_ids.append(item)
                model.i_latents[item] = self._initial("item", item)
        rng = np.random.default_rng([self.seed, self._passes])
        self._passes += 1
        n_items = len(self._item_ids)
        for user, item, weight in zip(
            batch.users.tolist(), batch.items.tolist(), batch.weights.tolist(), strict=True
        ):
            if user not in model.u_latents:
                model.u_latents[user] = self._initial("user", user)
            seen = self._seen.setdefault(user, set())
            seen.add(self._item_index[item])
            model.learn_one(user, item, 1.0)
            if self.negatives and len(seen) < n_items:
                for j in rng.integers(0, n_items, size=self.negatives).tolist():
                    if j not in seen:
                        model.learn_one(user, self._item_ids[j], 0.0)

    def fit(self, interactions: Interactions) -> Self:
        if len(interactions) == 0:
            raise TrainingError("interactions: expected at least one interaction to fit, got 0")
        self._reset()
        model = self._new_model()
        for _ in range(self.epochs):
            self._learn(model, interactions)
        self._pairs = list(
            zip(
                interactions.users.tolist(),
                (self._item_index[i] for i in interactions.items.tolist()),
                interactions.weights.tolist(),
                strict=True,
            )
        )
        self._model = model
        return self

    def update(self, interactions: Interactions) -> Self:
        if self._model is None:
            return self.fit(interactions)
        self._learn(self._model, interactions)
        self._pairs.extend(
            zip(
                interactions.users.tolist(),
                (self._item_index[i] for i in interactions.items.tolist()),
                interactions.weights.tolist(),
                strict=True,
            )
        )
        return self

    def _fitted(self) -> reco.FunkMF:
        if self._model is None:
            raise TrainingError("recommend: the FunkMF recommender is not fitted; call fit first")
        return self._model

    def _item_matrix(self, model: reco.FunkMF) -> NDArray[np.float64]:
        return np.vstack([model.i_latents[item] for item in self._item_ids])

    def recommend(
        self, users: Sequence[object], *, k: int = 10, exclude_seen: bool = True
    ) -> list[Ranked]:
        model = self._fitted()
        k = min(check_k(k), len(self._item_ids))
        items = self._item_matrix(model)
        counts = np.bincount([i for _, i, _ in self._pairs], minlength=len(self._item_ids))
        popular = [
            (self._item_ids[i], 0.0) for i in np.argsort(-counts, kind="stable")[:k].tolist()
        ]
        out: list[Ranked] = []
        for user in as_ids(users, field="users").tolist():
            if user not in model.u_latents:
                out.append(list(popular))
                continue
            scores = items @ np.asarray(model.u_latents[user])
            if exclude_seen:
                scores[list(self._seen.get(user, ()))] = -np.inf
            order = np.argsort(-scores, kind="stable")[:k]
            out.append(
                [
                    (self._item_ids[i], float(scores[i]))
                    for i in order.tolist()
                    if np.isfinite(scores[i])
                ]
            )
        return out

    def score(self, users: Sequence[object], items: Sequence[object]) -> NDArray[np.float64]:
        model = self._fitted()
        user_ids, item_ids = (
            as_ids(users, field="users").tolist(),
            as_ids(items, field="items").tolist(),
        )
        if len(user_ids) != len(item_ids):
            raise ConfigError(
                f"items: expected one item per user ({len(user_ids)}), got {len(item_ids)}"
            )
        return np.asarray(
            [
                float(np.dot(model.u_latents[u], model.i_latents[i]))
                if u in model.u_latents and i in self._item_index
                else 0.0
                for u, i in zip(user_ids, item_ids, strict=True)
            ],
            dtype=np.float64,
        )

    @property
    def is_fitted(self) -> bool:
        return self._model is not None

    @property
    def users_(self) -> StrArray:
        return np.asarray(
            list(self._model.u_latents) if self._model is not None else [], dtype=np.str_
        )

    @property
    def items_(self) -> StrArray:
        return np.asarray(self._item_ids, dtype=np.str_)

    def params(self) -> dict[str, Any]:
        return {
            "n_factors": self.n_factors,
            "learning_rate": self.learning_rate,
            "l2": self.l2,
            "negatives": self.negatives,
            "epochs": self.epochs,
            "seed": self.seed,
        }

    def signature(self) -> dict[str, Any]:
        return {"kind": self.kind, "n_factors": self.n_factors}

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        model = self._model
        if model is not None:
            users = list(model.u_latents)
            with (directory / STATE_FILE).open("wb") as handle:
                np.savez_compressed(
                    handle,
                    users=np.asarray(users, dtype=np.str_),
                    user_latents=np.vstack([model.u_latents[u] for u in users]).reshape(
                        len(users), self.n_factors
                    ),
                    items=self.items_,
                    item_latents=self._item_matrix(model),
                    pair_users=np.asarray([u for u, _, _ in self._pairs], dtype=np.str_),
                    pair_items=np.asarray([i for _, i, _ in self._pairs], dtype=np.int64),
                    pair_weights=np.asarray([w for _, _, w in self._pairs], dtype=np.float64),
                )
        write_manifest(
            directory,
            kind=self.kind,
            params=self.params(),
            fitted=model is not None,
            passes=self._passes,
        )

    @classmethod
    def load(cls, directory: Path) -> Self:
        manifest = read_manifest(directory, kind=cls.kind)
        try:
            learner = cls(**manifest["params"])
        except (TypeError, ConfigError) as exc:
            raise ArtifactError(
                f"{directory}: learner.json params do not build a recommender: {exc}"
            ) from exc
        if not manifest.get("fitted"):
            return learner
        try:
            with np.load(directory / STATE_FILE, allow_pickle=False) as state:
                arrays = {name: state[name] for name in state.files}
            users, items = arrays["users"].tolist(), arrays["items"].tolist()
            user_latents, item_latents = arrays["user_latents"], arrays["item_latents"]
            if user_latents.shape != (len(users), learner.n_factors) or item_latents.shape != (
                len(items),
                learner.n_factors,
            ):
                raise ValueError(
                    f"latent shapes {user_latents.shape} and {item_latents.shape} do not match the ids"
                )
        except (OSError, KeyError, ValueError, TypeError) as exc:
            raise ArtifactError(
                f"{directory / STATE_FILE}: expected the FunkMF state arrays: {exc}"
            ) from exc
        model = learner._new_model()
        for n, user in enumerate(users):
            model.u_latents[str(user)] = user_latents[n].copy()
        for n, item in enumerate(items):
            model.i_latents[str(item)] = item_latents[n].copy()
        learner._item_ids = [str(i) for i in items]
        learner._item_index = {i: n for n, i in enumerate(learner._item_ids)}
        learner._pairs = list(
            zip(
                arrays["pair_users"].tolist(),
                arrays["pair_items"].tolist(),
                arrays["pair_weights"].tolist(),
                strict=True,
            )
        )
        for user, item, _ in learner._pairs:
            learner._seen.setdefault(user, set()).add(int(item))
        learner._passes = int(manifest.get("passes", 0))
        learner._model = model
        return learner


__all__ = ["RiverFunkMFRecommender"]
