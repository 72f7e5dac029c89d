"""Recommenders in the loop: a collaborative-filtering model seen through the learner protocol.

The loop trains, versions, gates and serves learners: feature rows in, class probabilities
out. :class:`RecommenderLearner` lets a :class:`~lifelong.learners.recommender.Recommender`
take that place. Each row is one (user, item) pair, read from two numeric feature columns
holding integer ids; its label is 1 when the user interacted with the item and 0 when not.
Labels that are not numbers may name the two outcomes instead (``"skip"``/``"click"``): the
greater of the two, as sorted, is the interaction (scikit-learn's positive class). ``fit``
records the classes and the number of feature columns; later rows must match both.

* ``fit`` factorizes the positive rows from scratch; ``update`` adds them to the state (fold-in
  of new users and items, and the recommender's own refit schedule) — a data iteration.
* ``predict_proba`` is the factorization's preference score of each pair clipped to [0, 1]
  (both ALS and FunkMF regress a 0/1 preference), 0 for an unknown user or item, so the
  loop's gates (ROC AUC: observed pairs ranked above the others) and the server work unchanged.
* ``recommend`` ranks items for users, for callers that want the top ``k``, and
  ``recall_at_k`` measures that ranking on held-out rows.

The state is the recommender's own npz files (no pickle) in ``recommender/`` beside
``learner.json``.

Examples
--------
>>> import numpy as np
>>> X = np.array([[u, i] for u in range(12) for i in range(8)], dtype=np.float64)
>>> y = ((X[:, 0] + X[:, 1]) % 2 == 0).astype(int)
>>> learner = ImplicitALSLearner(user_column=0, item_column=1, factors=4, iterations=5).fit(X, y)
>>> learner.classes_.tolist(), learner.predict_proba(X[:2]).shape
([0, 1], (2, 2))
>>> learner.fit(np.array([[0.5, 1.0]]), np.array([1]))
Traceback (most recent call last):
...
lifelong.errors.ValidationError: X: expected an integer user id in column 0, got 0.5 at row 0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import NDArray

from lifelong.errors import ArtifactError, ConfigError, DataError, TrainingError, ValidationError
from lifelong.learners._checks import (
    FloatArray,
    check_features,
    check_int,
    check_known_labels,
    check_target,
    json_labels,
)
from lifelong.learners.base import Learner
from lifelong.learners.manifest import MANIFEST, read_manifest, write_manifest
from lifelong.learners.recommender import (
    Interactions,
    Ranked,
    Recommender,
    build_recommender,
    load_recommender,
)

STATE_DIR = "recommender"
CLASSES = np.array([0, 1])


def recommender_layout(numeric: Sequence[str], *, user: str, item: str) -> dict[str, int]:
    """Column positions of the ``user`` and ``item`` ids among the numeric features.

    Examples
    --------
    >>> recommender_layout(["user_id", "item_id"], user="user_id", item="item_id")
    {'user_column': 0, 'item_column': 1}
    >>> recommender_layout(["user_id"], user="user_id", item="sku")
    Traceback (most recent call last):
    ...
    lifelong.errors.ConfigError: model.item: expected one of the numeric features ['user_id'], got 'sku'
    """
    names = list(numeric)
    for field, column in (("user", user), ("item", item)):
        if column not in names:
            raise ConfigError(
                f"model.{field}: expected one of the numeric features {names}, got {column!r}"
            )
    if user == item:
        raise ConfigError(
            f"model.item: expected a column other than model.user, got {item!r} for both"
        )
    return {"user_column": names.index(user), "item_column": names.index(item)}


class RecommenderLearner(Learner):
    """A recommender of kind ``kind`` behind the learner protocol (see the module docstring)."""

    kind: ClassVar[str]

    def __init__(self, *, user_column: int, item_column: int, **params: Any) -> None:
        self.user_column = check_int("user_column", user_column, minimum=0)
        self.item_column = check_int("item_column", item_column, minimum=0)
        if self.user_column == self.item_column:
            raise ConfigError(
                f"item_column: expected a column other than user_column, got {item_column!r} for both"
            )
        self.recommender: Recommender = build_recommender(self.kind, params)
        self._classes: NDArray[Any] = CLASSES.copy()
        self._n_features: int | None = None

    # ------------------------------------------------------------------ inputs
    def _ids(self, X: FloatArray, *, n_features: int | None) -> tuple[list[str], list[str]]:
        features = check_features(X, n_features=n_features)
        width = max(self.user_column, self.item_column) + 1
        if features.shape[1] < width:
            raise ValidationError(
                f"X: expected at least {width} feature columns (user {self.user_column}, "
                f"item {self.item_column}), got {features.shape[1]}",
                field="X",
            )
        out: list[list[str]] = []
        for name, column in (("user", self.user_column), ("item", self.item_column)):
            values = features[:, column]
            bad = np.flatnonzero(~np.isfinite(values) | (values != np.round(values)))
            if bad.size:
                row = int(bad[0])
                raise ValidationError(
                    f"X: expected an integer {name} id in column {column}, got {values[row]} at row {row}",
                    field="X",
                )
            out.append([str(int(v)) for v in values])
        return out[0], out[1]

    def _interacted(
        self, target: NDArray[Any], classes: NDArray[Any] | None
    ) -> tuple[NDArray[np.bool_], NDArray[Any]]:
        """Which rows are interactions, and the classes (``classes`` given: those of the fit)."""
        if classes is not None and json_labels(classes) != CLASSES.tolist():
            check_known_labels(target, classes)
            return target == classes[1], classes
        try:
            values = target.astype(np.float64)
        except (TypeError, ValueError):
            values = None
        if classes is None and values is None:
            try:
                named = np.unique(target)
            except TypeError as exc:
                raise DataError(f"label: expected labels of one type, got {exc}") from exc
            if len(named) != 2:
                raise DataError(
                    f"label: expected 0 or 1, or two named outcomes (the greater: the user "
                    f"interacted with the item), got {json_labels(named)[:5]}"
                )
            return target == named[1], named
        if values is None:
            values = np.full(len(target), np.nan)
        bad = np.flatnonzero(~np.isin(values, (0.0, 1.0)))
        if bad.size:
            row = int(bad[0])
            value = target[row].item() if isinstance(target[row], np.generic) else target[row]
            raise DataError(
                f"label: expected 0 or 1 (1: the user interacted with the item), got {value!r} at row {row}"
            )
        return values == 1.0, CLASSES.copy()

    def _positives(
        self,
        X: FloatArray,
        y: NDArray[Any],
        sample_weight: FloatArray | None,
        *,
        fitting: bool = False,
    ) -> tuple[Interactions, NDArray[Any]]:
        """The interaction rows of ``X`` (label 1, or the greater named outcome), and the classes.

        When not ``fitting``, ``X`` must have the fitted number of columns and ``y`` the
        fitted classes.
        """
        users, items = self._ids(X, n_features=None if fitting else self._n_features)
        target = check_target(y, len(users))
        positive, classes = self._interacted(target, None if fitting else self._classes)
        if sample_weight is not None:
            weights = np.asarray(sample_weight, dtype=np.float64)
            if (
                weights.shape != (len(users),)
                or not np.isfinite(weights).all()
                or (weights < 0).any()
            ):
                raise ValidationError(
                    f"sample_weight: expected {len(users)} finite numbers >= 0, got {weights!r}",
                    field="sample_weight",
                )
            positive &= weights > 0
        rows = np.flatnonzero(positive)
        batch = Interactions.of(
            [users[r] for r in rows],
            [items[r] for r in rows],
            None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)[rows],
        )
        return batch, classes

    # ---------------------------------------------------------------- training
    def fit(
        self, X: FloatArray, y: NDArray[Any], *, sample_weight: FloatArray | None = None
    ) -> Self:
        batch, classes = self._positives(X, y, sample_weight, fitting=True)
        if len(batch) == 0:
            raise TrainingError(
                f"label: expected at least one row with label {json_labels(classes)[1]!r} "
                "(an interaction) to fit, got none"
            )
        self.recommender.fit(batch)
        self._classes, self._n_features = classes, int(np.shape(X)[1])
        return self

    def update(
        self, X: FloatArray, y: NDArray[Any], *, sample_weight: FloatArray | None = None
    ) -> Self:
        if not self.recommender.is_fitted:
            return self.fit(X, y, sample_weight=sample_weight)
        batch, _ = self._positives(X, y, sample_weight)
        if len(batch):
            self.recommender.update(batch)
        return self

    # -------------------------------------------------------------- prediction
    def predict_proba(self, X: FloatArray) -> FloatArray:
        if not self.recommender.is_fitted:
            raise TrainingError(f"predict: the {self.kind} learner is not fitted; call fit first")
        users, items = self._ids(X, n_features=self._n_features)
        score = np.clip(self.recommender.score(users, items), 0.0, 1.0)
        return np.column_stack([1.0 - score, score]).astype(np.float64)

    def predict(self, X: FloatArray) -> NDArray[Any]:
        return np.asarray(self._classes[np.argmax(self.predict_proba(X), axis=1)])

    def recommend(
        self, users: Sequence[int], *, k: int = 10, exclude_seen: bool = True
    ) -> list[Ranked]:
        """Up to ``k`` ``(item, score)`` pairs per user id, best first (seen items excluded by default)."""
        return self.recommender.recommend(
            [str(int(u)) for u in users], k=k, exclude_seen=exclude_seen
        )

    def recall_at_k(
        self, X: FloatArray, y: NDArray[Any], *, k: int = 10, exclude_seen: bool = False
    ) -> float:
        """Share of each user's held-out positive items found in their top ``k``, averaged over users.

        Each user with a label-1 row in ``X`` counts once: the items of those rows that the
        recommender ranks in the user's top ``k``, divided by ``min(k, number of such items)``.
        With ``exclude_seen``, items already in the user's state are left out of the top ``k``
        (for held-out rows of new pairs only). Unknown users get the most popular items.
        """
        batch, _ = self._positives(X, y, None, fitting=not self.is_fitted)
        if len(batch) == 0:
            raise DataError(
                "label: expected at least one row with label 1 to measure recall, got none"
            )
        wanted: dict[str, set[str]] = {}
        for user, item in zip(batch.users.tolist(), batch.items.tolist(), strict=True):
            wanted.setdefault(user, set()).add(item)
        users = sorted(wanted)
        ranked = self.recommender.recommend(users, k=k, exclude_seen=exclude_seen)
        shares = [
            len(wanted[user] & {item for item, _ in top}) / min(k, len(wanted[user]))
            for user, top in zip(users, ranked, strict=True)
        ]
        return float(np.mean(shares))

    # ------------------------------------------------------------------- state
    @property
    def classes_(self) -> NDArray[Any]:
        return self._classes.copy() if self.recommender.is_fitted else np.empty(0)

    @property
    def is_fitted(self) -> bool:
        return self.recommender.is_fitted

    def params(self) -> dict[str, Any]:
        return {
            "user_column": self.user_column,
            "item_column": self.item_column,
            **self.recommender.params(),
        }

    def signature(self) -> dict[str, Any]:
        return {
            **self.recommender.signature(),
            "kind": self.kind,
            "user_column": self.user_column,
            "item_column": self.item_column,
        }

    def clone(self) -> Self:
        return type(self)(**self.params())

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.recommender.save(directory / STATE_DIR)
        write_manifest(
            directory,
            kind=self.kind,
            params=self.params(),
            fitted=self.is_fitted,
            classes=json_labels(self._classes),
            n_features=self._n_features,
        )

    @classmethod
    def load(cls, directory: Path) -> Self:
        manifest = read_manifest(directory, kind=cls.kind)
        params: Mapping[str, Any] = manifest["params"]
        learner = cls(**params)
        loaded = load_recommender(directory / STATE_DIR)
        if loaded.kind != cls.kind or loaded.params() != learner.recommender.params():
            raise ConfigError(
                f"{directory / STATE_DIR}: expected the {cls.kind} state of {learner.recommender.params()}, "
                f"got {loaded.kind} with {loaded.params()}"
            )
        learner.recommender = loaded
        classes, n_features = manifest.get("classes", CLASSES.tolist()), manifest.get("n_features")
        if (
            not isinstance(classes, list)
            or len(classes) != 2
            or not (n_features is None or (isinstance(n_features, int) and n_features >= 2))
        ):
            raise ArtifactError(
                f"{directory / MANIFEST}: expected two classes and a feature count, "
                f"got classes {classes!r} and n_features {n_features!r}"
            )
        learner._classes, learner._n_features = np.asarray(classes), n_features
        return learner


def ranking_metrics(
    learner: Learner,
    rows: Any,
    *,
    transform: Callable[[Any], FloatArray],
    label: str,
    k: int = 10,
) -> dict[str, float]:
    """``{"holdout_recall_at_K": ...}`` of a recommender on the held-out ``rows`` (a frame).

    ``transform`` turns the rows into the learner's feature matrix (only called for a
    recommender). Empty for other learners, and when the rows hold no label-1 row.
    """
    if not isinstance(learner, RecommenderLearner) or not learner.is_fitted or len(rows) == 0:
        return {}
    try:
        return {
            f"holdout_recall_at_{k}": learner.recall_at_k(
                transform(rows), rows[label].to_numpy(), k=k
            )
        }
    except DataError:
        return {}


class ImplicitALSLearner(RecommenderLearner):
    """``implicit`` ALS with fold-in and a refit every ``refit_every`` updates, as a learner.

    Parameters are those of :class:`~lifelong.learners.implicit_als.ImplicitALSRecommender`,
    plus the positions of the user and item id columns.
    """

    kind = "implicit_als"

    def __init__(
        self,
        *,
        user_column: int,
        item_column: int,
        factors: int = 32,
        regularization: float = 0.05,
        alpha: float = 1.0,
        iterations: int = 15,
        fold_in_sweeps: int = 2,
        refit_every: int = 10,
        seed: int = 0,
        num_threads: int = 1,
    ) -> None:
        super().__init__(
            user_column=user_column,
            item_column=item_column,
            factors=factors,
            regularization=regularization,
            alpha=alpha,
            iterations=iterations,
            fold_in_sweeps=fold_in_sweeps,
            refit_every=refit_every,
            seed=seed,
            num_threads=num_threads,
        )


class RiverMFLearner(RecommenderLearner):
    """River's FunkMF with sampled negatives, as a learner.

    Parameters are those of :class:`~lifelong.learners.river_mf.RiverFunkMFRecommender`, plus
    the positions of the user and item id columns.
    """

    kind = "river_mf"

    def __init__(
        self,
        *,
        user_column: int,
        item_column: int,
        n_factors: int = 16,
        learning_rate: float = 0.05,
        l2: float = 0.001,
        negatives: int = 1,
        epochs: int = 3,
        seed: int = 0,
    ) -> None:
        super().__init__(
            user_column=user_column,
            item_column=item_column,
            n_factors=n_factors,
            learning_rate=learning_rate,
            l2=l2,
            negatives=negatives,
            epochs=epochs,
            seed=seed,
        )


__all__ = [
    "ImplicitALSLearner",
    "RecommenderLearner",
    "RiverMFLearner",
    "ranking_metrics",
    "recommender_layout",
]
