"""The recommender protocol: collaborative filtering over (user, item, weight) interactions.

A recommender is not a classifier: it learns from interactions and answers "which items for
this user". It shares the learner's life cycle — ``fit`` from scratch, ``update`` from the
current state (folding in new users and items), ``save``/``load`` in safe formats, ``clone`` —
so the registry, the executors and the contract suite treat it the same way. Ids are compared
as strings: ``7`` and ``"7"`` name the same user.

Examples
--------
>>> batch = Interactions.from_pairs([("ana", "tea", 2.0), ("bob", "tea", 1.0)])
>>> len(batch), batch.users.tolist()
(2, ['ana', 'bob'])
>>> Interactions.from_pairs([("ana", "tea", -1.0)])
Traceback (most recent call last):
...
lifelong.errors.ValidationError: weights: expected finite numbers > 0, got -1.0 at row 0
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from lifelong.errors import ConfigError, ValidationError

StrArray = NDArray[np.str_]
Ranked = list[tuple[str, float]]


def as_ids(values: Iterable[object], *, field: str) -> StrArray:
    """``values`` as a 1-D array of non-empty strings (numbers become their text)."""
    array = np.asarray([str(value) for value in values], dtype=np.str_)
    if array.ndim != 1:
        raise ValidationError(
            f"{field}: expected a 1-D sequence of ids, got {array.ndim}-D", field=field
        )
    empty = (
        np.flatnonzero(np.char.str_len(array) == 0) if array.size else np.empty(0, dtype=np.intp)
    )
    if empty.size:
        raise ValidationError(
            f"{field}: expected non-empty ids, got '' at row {int(empty[0])}", field=field
        )
    return array


@dataclass(frozen=True)
class Interactions:
    """Parallel arrays of users, items and positive weights (confidence of the interaction)."""

    users: StrArray
    items: StrArray
    weights: NDArray[np.float64]

    def __post_init__(self) -> None:
        n = len(self.users)
        if len(self.items) != n or len(self.weights) != n:
            raise ValidationError(
                f"interactions: expected users, items and weights of one length, got "
                f"{n}, {len(self.items)}, {len(self.weights)}",
                field="interactions",
            )
        bad = np.flatnonzero(~np.isfinite(self.weights) | (self.weights <= 0))
        if bad.size:
            row = int(bad[0])
            raise ValidationError(
                f"weights: expected finite numbers > 0, got {float(self.weights[row])} at row {row}",
                field="weights",
            )

    def __len__(self) -> int:
        return len(self.users)

    @classmethod
    def of(
        cls,
        users: Iterable[object],
        items: Iterable[object],
        weights: Iterable[float] | None = None,
    ) -> Interactions:
        """Build from ids (any type, compared as text) and optional weights (default 1)."""
        user_ids, item_ids = as_ids(users, field="users"), as_ids(items, field="items")
        try:
            values = (
                np.ones(len(user_ids))
                if weights is None
                else np.asarray(list(weights), dtype=np.float64)
            )
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"weights: expected numbers, got {exc}", field="weights") from exc
        return cls(user_ids, item_ids, values)

    @classmethod
    def from_pairs(cls, rows: Sequence[tuple[object, object, float]]) -> Interactions:
        """Build from ``(user, item, weight)`` tuples."""
        return cls.of([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        user: str = "user",
        item: str = "item",
        weight: str | None = None,
    ) -> Interactions:
        """Build from the columns of ``frame`` (weight column optional)."""
        absent = [
            name for name in (user, item, weight) if name is not None and name not in frame.columns
        ]
        if absent:
            raise ValidationError(
                f"{absent[0]}: expected the column in the interactions, got columns {list(map(str, frame.columns))}",
                field=absent[0],
            )
        weights = None if weight is None else frame[weight].to_numpy(dtype=np.float64)
        return cls.of(frame[user].tolist(), frame[item].tolist(), weights)

    def concat(self, other: Interactions) -> Interactions:
        """These interactions followed by ``other``'s."""
        return Interactions(
            np.concatenate([self.users, other.users]),
            np.concatenate([self.items, other.items]),
            np.concatenate([self.weights, other.weights]),
        )


class Recommender(ABC):
    """A collaborative-filtering model lifelong trains statelessly or statefully.

    ``fit`` starts from scratch; ``update`` continues from the current state, folding in new
    users and items (and behaves as ``fit`` when unfitted). ``recommend`` ranks the items a
    user has not interacted with; ``score`` gives the preference of (user, item) pairs, 0 for
    an unknown user or item. ``save`` writes npz arrays and ``learner.json`` only (no pickle).
    """

    kind: ClassVar[str]

    @abstractmethod
    def fit(self, interactions: Interactions) -> Self:
        """Train from scratch on ``interactions``."""

    @abstractmethod
    def update(self, interactions: Interactions) -> Self:
        """Add ``interactions`` to the state and fold in the users and items they touch."""

    @abstractmethod
    def recommend(
        self, users: Sequence[object], *, k: int = 10, exclude_seen: bool = True
    ) -> list[Ranked]:
        """For each user, up to ``k`` ``(item, score)`` pairs, best first (popular items for unknown users)."""

    @abstractmethod
    def score(self, users: Sequence[object], items: Sequence[object]) -> NDArray[np.float64]:
        """Preference of each (user, item) pair; 0.0 where either is unknown."""

    @property
    @abstractmethod
    def is_fitted(self) -> bool:
        """Whether the recommender has been trained."""

    @property
    @abstractmethod
    def users_(self) -> StrArray:
        """Known user ids, in internal order."""

    @property
    @abstractmethod
    def items_(self) -> StrArray:
        """Known item ids, in internal order."""

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """JSON-serialisable hyperparameters, enough to rebuild an unfitted copy."""

    @abstractmethod
    def signature(self) -> dict[str, Any]:
        """Hyperparameters that shape the state: a parent is compatible only if these match."""

    @abstractmethod
    def save(self, directory: Path) -> None:
        """Write the state into ``directory`` (npz without pickle, and ``learner.json``)."""

    @classmethod
    @abstractmethod
    def load(cls, directory: Path) -> Self:
        """Read a recommender written by :meth:`save`."""

    def clone(self) -> Self:
        """An unfitted copy with the same hyperparameters."""
        return type(self)(**self.params())


def check_k(k: object) -> int:
    """``k`` as an integer >= 1."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ConfigError(f"k: expected an integer >= 1, got {k!r}")
    return int(k)


def index_of(known: Mapping[str, int], ids: StrArray) -> NDArray[np.intp]:
    """Internal index of each id, -1 where unknown."""
    return np.fromiter((known.get(str(value), -1) for value in ids), dtype=np.intp, count=len(ids))


RECOMMENDERS: Mapping[str, str] = MappingProxyType(
    {
        "implicit_als": "lifelong.learners.implicit_als:ImplicitALSRecommender",
        "river_mf": "lifelong.learners.river_mf:RiverFunkMFRecommender",
    }
)


def recommender_class(kind: str) -> type[Recommender]:
    """The recommender class of ``kind``, imported on demand (its library is an optional extra)."""
    if kind not in RECOMMENDERS:
        raise ConfigError(f"recommender kind: expected one of {sorted(RECOMMENDERS)}, got {kind!r}")
    module, _, name = RECOMMENDERS[kind].partition(":")
    try:
        found = getattr(importlib.import_module(module), name)
    except ImportError as exc:
        raise ConfigError(
            f"recommender kind {kind!r}: needs the 'cf' extra (pip install 'lifelong[cf]'): {exc}"
        ) from exc
    cls: type[Recommender] = found
    return cls


def build_recommender(kind: str, params: Mapping[str, Any]) -> Recommender:
    """An unfitted recommender of ``kind`` from keyword ``params``."""
    cls = recommender_class(kind)
    try:
        return cls(**params)
    except TypeError as exc:
        raise ConfigError(f"recommender.{kind}: {exc}") from exc


def load_recommender(directory: Path) -> Recommender:
    """Read a recommender saved by ``Recommender.save``, whichever its kind (from ``learner.json``)."""
    from lifelong.learners.manifest import read_manifest

    return recommender_class(str(read_manifest(directory)["kind"])).load(directory)


__all__ = [
    "RECOMMENDERS",
    "Interactions",
    "Ranked",
    "Recommender",
    "StrArray",
    "as_ids",
    "build_recommender",
    "check_k",
    "index_of",
    "load_recommender",
    "recommender_class",
]
