"""Implicit-feedback collaborative filtering with ``implicit``'s alternating least squares.

``fit`` factorizes the accumulated user × item confidence matrix from scratch. ``update`` adds
new interactions to that matrix and folds them in statefully: new users and items get factor
rows, then the users and items the batch touched are re-solved against the other side's
factors (``partial_fit_users`` / ``partial_fit_items``, ``fold_in_sweeps`` times). Every
``refit_every`` updates the whole matrix is factorized again from scratch, which repairs what
folding in cannot (factors of untouched rows drift out of date). The state is saved as npz
arrays (ids, factors, the CSR matrix) loaded with ``allow_pickle=False``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from lifelong.errors import ArtifactError, ConfigError, LifelongError, TrainingError
from lifelong.learners._checks import check_float, check_int
from lifelong.learners.manifest import read_manifest, write_manifest
from lifelong.learners.recommender import (
    Interactions,
    Ranked,
    Recommender,
    StrArray,
    as_ids,
    check_k,
    index_of,
)

STATE_FILE = "factors.npz"


class ImplicitALSRecommender(Recommender):
    """Alternating least squares on implicit feedback, with stateful fold-in.

    Parameters
    ----------
    factors
        Latent dimensions.
    regularization
        L2 penalty of the least-squares solves.
    alpha
        Confidence scale of the interaction weights (``C = alpha * weight``).
    iterations
        ALS sweeps of a fit from scratch.
    fold_in_sweeps
        Alternations (touched users, then touched items) of each stateful update.
    refit_every
        Factorize from scratch every this many updates (0: never).
    seed, num_threads
        Fixed for deterministic training.

    Examples
    --------
    >>> pairs = [(u, i, 1.0) for u in range(20) for i in range(12) if (u + i) % 3 == 0]
    >>> model = ImplicitALSRecommender(factors=4, iterations=5).fit(Interactions.from_pairs(pairs))
    >>> _ = model.update(Interactions.from_pairs([("new-user", "3", 1.0), ("new-user", "6", 1.0)]))
    >>> [item for item, _ in model.recommend(["new-user"], k=2)[0]]
    ['0', '9']
    """

    kind = "implicit_als"

    def __init__(
        self,
        *,
        factors: int = 32,
        regularization: float = 0.05,
        alpha: float = 1.0,
        iterations: int = 15,
        fold_in_sweeps: int = 2,
        refit_every: int = 10,
        seed: int = 0,
        num_threads: int = 1,
    ) -> None:
        self.factors = check_int("factors", factors, minimum=1)
        self.regularization = check_float("regularization", regularization, low=0.0, high=np.inf)
        self.alpha = check_float("alpha", alpha, low=0.0, high=np.inf, low_inclusive=False)
        self.iterations = check_int("iterations", iterations, minimum=1)
        self.fold_in_sweeps = check_int("fold_in_sweeps", fold_in_sweeps, minimum=1)
        self.refit_every = check_int("refit_every", refit_every, minimum=0)
        self.seed = check_int("seed", seed, minimum=0)
        self.num_threads = check_int("num_threads", num_threads, minimum=1)
        self.last_update_refit = False
        self.updates_since_refit = 0
        self._model: AlternatingLeastSquares | None = None
        self._reset()

    def _reset(self) -> None:
        self._user_ids: list[str] = []
        self._item_ids: list[str] = []
        self._user_index: dict[str, int] = {}
        self._item_index: dict[str, int] = {}
        self._matrix: sp.csr_matrix = sp.csr_matrix((0, 0), dtype=np.float32)

    # ------------------------------------------------------------------ state
    def _merge(self, batch: Interactions) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """Add ``batch`` to the matrix; return the (sorted, unique) user and item rows it touched."""
        for ids, index, names in (
            (batch.users, self._user_index, self._user_ids),
            (batch.items, self._item_index, self._item_ids),
        ):
            for value in ids.tolist():
                if value not in index:
                    index[value] = len(names)
                    names.append(value)
        rows, cols = (
            index_of(self._user_index, batch.users),
            index_of(self._item_index, batch.items),
        )
        shape = (len(self._user_ids), len(self._item_ids))
        added = sp.csr_matrix(
            (batch.weights.astype(np.float32), (rows, cols)), shape=shape, dtype=np.float32
        )
        current = self._matrix.copy()
        current.resize(shape)
        merged = sp.csr_matrix(current + added, dtype=np.float32)
        merged.sum_duplicates()
        self._matrix = merged
        return np.unique(rows), np.unique(cols)

    def _new_model(self) -> AlternatingLeastSquares:
        return AlternatingLeastSquares(
            factors=self.factors,
            regularization=self.regularization,
            alpha=self.alpha,
            iterations=self.iterations,
            num_threads=self.num_threads,
            random_state=self.seed,
        )

    def _factorize(self) -> None:
        try:
            with threadpool_limits(limits=1, user_api="blas"):
                model = self._new_model()
                model.fit(self._matrix, show_progress=False)
        except LifelongError:
            raise
        except Exception as exc:
            raise TrainingError(
                f"implicit ALS: factorization failed: {type(exc).__name__}: {exc}"
            ) from exc
        self._model = model

    def _fold_in(
        self, model: AlternatingLeastSquares, users: NDArray[np.intp], items: NDArray[np.intp]
    ) -> None:
        n_users, n_items = self._matrix.shape
        with threadpool_limits(limits=1, user_api="blas"):
            # Grow the factor tables first (an empty row solves to zeros) so every index is valid.
            have_items = model.item_factors.shape[0]
            if n_items > have_items:
                fresh = np.arange(have_items, n_items)
                model.partial_fit_items(
                    fresh,
                    sp.csr_matrix((len(fresh), model.user_factors.shape[0]), dtype=np.float32),
                )
            have_users = model.user_factors.shape[0]
            if n_users > have_users:
                fresh = np.arange(have_users, n_users)
                model.partial_fit_users(
                    fresh, sp.csr_matrix((len(fresh), n_items), dtype=np.float32)
                )
            by_item = self._matrix.T.tocsr()
            for _ in range(self.fold_in_sweeps):
                model.partial_fit_users(users, self._matrix[users])
                model.partial_fit_items(items, by_item[items])

    # --------------------------------------------------------------- training
    def fit(self, interactions: Interactions) -> Self:
        if len(interactions) == 0:
            raise TrainingError("interactions: expected at least one interaction to fit, got 0")
        self._reset()
        self._merge(interactions)
        self._factorize()
        self.updates_since_refit = 0
        return self

    def update(self, interactions: Interactions) -> Self:
        self.last_update_refit = False
        if self._model is None:
            return self.fit(interactions)
        if len(interactions) == 0:
            return self
        users, items = self._merge(interactions)
        self.updates_since_refit += 1
        if self.refit_every and self.updates_since_refit >= self.refit_every:
            self._factorize()
            self.updates_since_refit = 0
            self.last_update_refit = True
            return self
        try:
            self._fold_in(self._model, users, items)
        except LifelongError:
            raise
        except Exception as exc:
            raise TrainingError(
                f"implicit ALS: fold-in failed: {type(exc).__name__}: {exc}"
            ) from exc
        return self

    # ------------------------------------------------------------- prediction
    def _fitted(self) -> AlternatingLeastSquares:
        if self._model is None:
            raise TrainingError("recommend: the ALS recommender is not fitted; call fit first")
        return self._model

    def _popular(self, k: int) -> Ranked:
        totals = np.asarray(self._matrix.sum(axis=0)).ravel()
        order = np.argsort(-totals, kind="stable")[:k]
        return [(self._item_ids[i], 0.0) for i in order.tolist()]

    def recommend(
        self, users: Sequence[object], *, k: int = 10, exclude_seen: bool = True
    ) -> list[Ranked]:
        model = self._fitted()
        k = min(check_k(k), len(self._item_ids))
        rows = index_of(self._user_index, as_ids(users, field="users"))
        known = rows[rows >= 0]
        ranked: dict[int, Ranked] = {}
        if known.size:
            with threadpool_limits(limits=1, user_api="blas"):
                ids, scores = model.recommend(
                    known, self._matrix[known], N=k, filter_already_liked_items=exclude_seen
                )
            for row, found, values in zip(
                known.tolist(), np.atleast_2d(ids), np.atleast_2d(scores), strict=True
            ):
                ranked[row] = [
                    (self._item_ids[int(i)], float(s))
                    for i, s in zip(found, values, strict=True)
                    if i >= 0 and np.isfinite(s)
                ]
        popular = self._popular(k)
        return [ranked[row] if row >= 0 else list(popular) for row in rows.tolist()]

    def score(self, users: Sequence[object], items: Sequence[object]) -> NDArray[np.float64]:
        model = self._fitted()
        u = index_of(self._user_index, as_ids(users, field="users"))
        i = index_of(self._item_index, as_ids(items, field="items"))
        if len(u) != len(i):
            raise ConfigError(f"items: expected one item per user ({len(u)}), got {len(i)}")
        out = np.zeros(len(u), dtype=np.float64)
        both = (u >= 0) & (i >= 0)
        uf = np.asarray(model.user_factors, dtype=np.float64)[u[both]]
        itf = np.asarray(model.item_factors, dtype=np.float64)[i[both]]
        out[both] = np.einsum("ij,ij->i", uf, itf)
        return out

    @property
    def is_fitted(self) -> bool:
        return self._model is not None

    @property
    def users_(self) -> StrArray:
        return np.asarray(self._user_ids, dtype=np.str_)

    @property
    def items_(self) -> StrArray:
        return np.asarray(self._item_ids, dtype=np.str_)

    @property
    def user_factors(self) -> NDArray[np.float32] | None:
        """The user factor table, or ``None`` before ``fit``."""
        return None if self._model is None else np.asarray(self._model.user_factors)

    @property
    def item_factors(self) -> NDArray[np.float32] | None:
        """The item factor table, or ``None`` before ``fit``."""
        return None if self._model is None else np.asarray(self._model.item_factors)

    # ------------------------------------------------------------------- I/O
    def params(self) -> dict[str, Any]:
        return {
            "factors": self.factors,
            "regularization": self.regularization,
            "alpha": self.alpha,
            "iterations": self.iterations,
            "fold_in_sweeps": self.fold_in_sweeps,
            "refit_every": self.refit_every,
            "seed": self.seed,
            "num_threads": self.num_threads,
        }

    def signature(self) -> dict[str, Any]:
        return {"kind": self.kind, "factors": self.factors}

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        if self._model is not None:
            matrix = self._matrix
            with (directory / STATE_FILE).open("wb") as handle:
                np.savez_compressed(
                    handle,
                    users=self.users_,
                    items=self.items_,
                    user_factors=np.asarray(self._model.user_factors),
                    item_factors=np.asarray(self._model.item_factors),
                    data=matrix.data,
                    indices=matrix.indices,
                    indptr=matrix.indptr,
                    shape=np.asarray(matrix.shape, dtype=np.int64),
                )
        write_manifest(
            directory,
            kind=self.kind,
            params=self.params(),
            fitted=self._model is not None,
            updates_since_refit=self.updates_since_refit,
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
            shape = tuple(int(n) for n in arrays["shape"])
            matrix = sp.csr_matrix(
                (arrays["data"], arrays["indices"], arrays["indptr"]), shape=shape, dtype=np.float32
            )
            users, items = arrays["users"].tolist(), arrays["items"].tolist()
        except (OSError, KeyError, ValueError, TypeError) as exc:
            raise ArtifactError(
                f"{directory / STATE_FILE}: expected the ALS state arrays: {exc}"
            ) from exc
        if arrays["user_factors"].shape != (len(users), learner.factors) or arrays[
            "item_factors"
        ].shape != (len(items), learner.factors):
            raise ArtifactError(
                f"{directory / STATE_FILE}: factors: expected shapes ({len(users)}, {learner.factors}) and "
                f"({len(items)}, {learner.factors}), got {arrays['user_factors'].shape} and {arrays['item_factors'].shape}"
            )
        learner._user_ids, learner._item_ids = [str(u) for u in users], [str(i) for i in items]
        learner._user_index = {u: n for n, u in enumerate(learner._user_ids)}
        learner._item_index = {i: n for n, i in enumerate(learner._item_ids)}
        learner._matrix = matrix
        with threadpool_limits(limits=1, user_api="blas"):
            model = learner._new_model()
        model.user_factors = arrays["user_factors"]
        model.item_factors = arrays["item_factors"]
        learner._model = model
        learner.updates_since_refit = int(manifest.get("updates_since_refit", 0))
        return learner


__all__ = ["ImplicitALSRecommender"]
