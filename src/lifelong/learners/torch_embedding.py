"""An embedding + MLP classifier in PyTorch (the ``torch`` extra) for categorical and id columns.

Two kinds of input columns are looked up in learned embedding tables instead of being fed
as numbers:

``onehot_blocks``
    ``[start, width]`` spans of the feature matrix that hold a one-hot encoding — what
    :class:`~lifelong.features.FeaturePipeline` writes for a categorical column. A row whose
    block has exactly one ``1`` looks up that category's row; an all-zero block (an unseen
    category under ``unseen: ignore``, or a missing one under ``missing: impute``) looks up the
    table's extra "unknown" row. A block that is not 0/1 with at most one ``1`` is refused.
    (Multiplying a one-hot block by a table *is* a lookup; the table makes it explicit, adds
    the unknown row, and lets ``embedding_dim`` be smaller than the number of categories.)
``id_columns``
    ``[column, cardinality]``: a column holding integer ids ``0 .. cardinality - 1`` (user or
    item ids, hashed ids). Anything else — another number, a negative or fractional value,
    ``NaN`` — is an unseen id: with ``unseen: unknown`` it looks up the unknown row, with
    ``unseen: error`` it is refused with a :class:`~lifelong.errors.ValidationError`.

The remaining columns are numeric (finite, standardised). The embeddings are concatenated
with them and fed to the MLP. Training, ``update`` from the checkpoint, replay, EWC and
safetensors checkpoints are those of :mod:`lifelong.learners.torch_common`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from lifelong.errors import ConfigError, ValidationError
from lifelong.learners._checks import FloatArray, check_choice, check_int
from lifelong.learners.torch_common import TorchLearnerBase
from lifelong.learners.torch_nets import Activation

UnseenPolicy = Literal["unknown", "error"]
UNSEEN_POLICIES: tuple[UnseenPolicy, ...] = ("unknown", "error")


def _pairs(name: str, value: object, second: str) -> tuple[tuple[int, int], ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ConfigError(f"{name}: expected a list of [column, {second}] pairs, got {value!r}")
    pairs = []
    for item in value:
        if isinstance(item, str) or not isinstance(item, Sequence) or len(item) != 2:
            raise ConfigError(f"{name}: expected [column, {second}] pairs, got {item!r}")
        pairs.append(
            (
                check_int(f"{name}.column", item[0], minimum=0),
                check_int(f"{name}.{second}", item[1], minimum=1),
            )
        )
    return tuple(pairs)


class TorchEmbeddingLearner(TorchLearnerBase):
    """Embedding tables for one-hot blocks and integer id columns, then an MLP.

    Parameters
    ----------
    onehot_blocks
        ``[start, width]`` of each one-hot block (see the module docstring).
    id_columns
        ``[column, cardinality]`` of each integer id column.
    embedding_dim
        Columns of every embedding table.
    unseen
        ``unknown`` (look up the unknown row) or ``error``, for id values outside the ids.
    hidden, activation, learning_rate, weight_decay, epochs, update_epochs, batch_size, seed, num_threads, replay_size, ewc_lambda
        As :class:`~lifelong.learners.torch_mlp.TorchMLPLearner`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ids = rng.integers(0, 4, size=200)
    >>> X = np.column_stack([rng.normal(size=200), ids])
    >>> y = (ids % 2).astype(int)
    >>> learner = TorchEmbeddingLearner(id_columns=[[1, 4]], embedding_dim=2, epochs=30).fit(X, y)
    >>> learner.predict(np.array([[0.0, 1.0], [0.0, 2.0]])).tolist()
    [1, 0]
    >>> learner.predict_proba(np.array([[0.0, 7.0]])).shape  # id 7 is unseen: the unknown row
    (1, 2)
    """

    kind = "torch_embedding"

    def __init__(
        self,
        *,
        onehot_blocks: Sequence[Sequence[int]] = (),
        id_columns: Sequence[Sequence[int]] = (),
        embedding_dim: int = 8,
        unseen: UnseenPolicy = "unknown",
        hidden: Sequence[int] = (32,),
        activation: Activation = "relu",
        learning_rate: float = 0.01,
        weight_decay: float = 0.0,
        epochs: int = 20,
        update_epochs: int = 5,
        batch_size: int = 64,
        seed: int = 0,
        num_threads: int = 1,
        replay_size: int = 0,
        ewc_lambda: float = 0.0,
    ) -> None:
        super().__init__(
            hidden=hidden,
            activation=activation,
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            epochs=epochs,
            update_epochs=update_epochs,
            batch_size=batch_size,
            seed=seed,
            num_threads=num_threads,
            replay_size=replay_size,
            ewc_lambda=ewc_lambda,
        )
        self.onehot_blocks = _pairs("onehot_blocks", onehot_blocks, "width")
        self.id_columns = _pairs("id_columns", id_columns, "cardinality")
        self.embedding_dim = check_int("embedding_dim", embedding_dim, minimum=1)
        self.unseen: UnseenPolicy = check_choice("unseen", unseen, UNSEEN_POLICIES)  # type: ignore[assignment]
        used: list[int] = []
        for start, width in self.onehot_blocks:
            used.extend(range(start, start + width))
        used.extend(column for column, _ in self.id_columns)
        if len(set(used)) != len(used):
            twice = sorted({c for c in used if used.count(c) > 1})
            raise ConfigError(
                f"onehot_blocks/id_columns: expected each column in one place, got {twice} twice"
            )
        self._embedded = np.asarray(sorted(used), dtype=np.intp)

    # ------------------------------------------------------------- subclass hooks
    def _check_layout(self, n_features: int) -> None:
        if self._embedded.size and int(self._embedded[-1]) >= n_features:
            raise ValidationError(
                f"X: expected more than {int(self._embedded[-1])} columns for onehot_blocks "
                f"{self._json(self.onehot_blocks)} and id_columns {self._json(self.id_columns)}, "
                f"got {n_features}",
                field="X",
            )
        if n_features - self._embedded.size < 0:
            raise ValidationError(f"X: expected at least {self._embedded.size} columns", field="X")

    def _numeric_width(self, n_features: int) -> int:
        return n_features - int(self._embedded.size)

    def _tables(self) -> tuple[tuple[int, int], ...]:
        sizes = [width for _, width in self.onehot_blocks] + [card for _, card in self.id_columns]
        return tuple((size + 1, self.embedding_dim) for size in sizes)

    def _split(self, X: FloatArray) -> tuple[FloatArray, NDArray[np.int64] | None]:
        numeric = np.delete(X, self._embedded, axis=1)
        super()._split(numeric)
        ids = np.empty((X.shape[0], len(self._tables())), dtype=np.int64)
        for j, (start, width) in enumerate(self.onehot_blocks):
            ids[:, j] = self._block_index(X[:, start : start + width], start)
        offset = len(self.onehot_blocks)
        for j, (column, cardinality) in enumerate(self.id_columns):
            ids[:, offset + j] = self._id_index(X[:, column], column, cardinality)
        return numeric, ids

    def _block_index(self, block: FloatArray, start: int) -> NDArray[np.int64]:
        binary = np.isin(block, (0.0, 1.0)).all(axis=1)
        ones = (block == 1.0).sum(axis=1)
        bad = ~binary | (ones > 1)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValidationError(
                f"X: expected a one-hot block (0/1, at most one 1) in columns {start}.."
                f"{start + block.shape[1] - 1}, got {block[row].tolist()} at row {row}",
                field="X",
            )
        index: NDArray[np.int64] = np.argmax(block, axis=1).astype(np.int64)
        index[ones == 0] = block.shape[1]  # the unknown row
        return index

    def _id_index(self, values: FloatArray, column: int, cardinality: int) -> NDArray[np.int64]:
        with np.errstate(invalid="ignore"):
            known = np.isfinite(values) & (values >= 0) & (values < cardinality)
            known &= np.floor(np.where(known, values, 0.0)) == values
        if not known.all() and self.unseen == "error":
            row = int(np.flatnonzero(~known)[0])
            raise ValidationError(
                f"X: expected an integer id in 0..{cardinality - 1} in column {column}, "
                f"got {values[row]} at row {row}",
                field="X",
            )
        index: NDArray[np.int64] = np.where(known, values, cardinality).astype(np.int64)
        return index

    @staticmethod
    def _json(pairs: tuple[tuple[int, int], ...]) -> list[list[int]]:
        return [list(pair) for pair in pairs]

    def _extra_params(self) -> dict[str, Any]:
        return {
            "onehot_blocks": self._json(self.onehot_blocks),
            "id_columns": self._json(self.id_columns),
            "embedding_dim": self.embedding_dim,
            "unseen": self.unseen,
        }

    def _extra_signature(self) -> dict[str, Any]:
        return {
            "onehot_blocks": self._json(self.onehot_blocks),
            "id_columns": self._json(self.id_columns),
            "embedding_dim": self.embedding_dim,
        }


def embedding_layout(
    numeric: Sequence[str],
    categorical: Mapping[str, Sequence[object]],
    id_columns: Mapping[str, int],
    *,
    embed_categoricals: bool = True,
) -> dict[str, list[list[int]]]:
    """``onehot_blocks`` and ``id_columns`` for a feature pipeline's matrix layout.

    The pipeline writes its numeric columns first, then each categorical column's one-hot
    block in order (:class:`~lifelong.features.FeaturePipeline`). ``id_columns`` maps numeric
    feature names to their cardinality.

    Examples
    --------
    >>> embedding_layout(["age", "user"], {"colour": ["red", "blue"]}, {"user": 100})
    {'onehot_blocks': [[2, 2]], 'id_columns': [[1, 100]]}
    """
    blocks: list[list[int]] = []
    offset = len(numeric)
    for values in categorical.values():
        if embed_categoricals:
            blocks.append([offset, len(values)])
        offset += len(values)
    ids: list[list[int]] = []
    for name, cardinality in id_columns.items():
        if name not in numeric:
            raise ConfigError(
                f"model.id_columns.{name}: expected one of the numeric features "
                f"{list(numeric)}, got {name!r}"
            )
        ids.append([list(numeric).index(name), cardinality])
    return {"onehot_blocks": blocks, "id_columns": ids}


__all__ = ["UNSEEN_POLICIES", "TorchEmbeddingLearner", "UnseenPolicy", "embedding_layout"]
