"""Combine the answers of labeling functions into one label per row (or abstain).

``majority`` counts the votes of the functions that did not abstain; a tie abstains, as
Snorkel's ``MajorityLabelVoter`` with ``tie_break_policy="abstain"``. ``label_model`` fits
Snorkel's ``LabelModel`` (which weighs each function by its estimated accuracy) on the
window; it needs the optional package ``snorkel`` (extra ``weak-supervision``).

Examples
--------
>>> import numpy as np
>>> L = np.array([[0, 0, 1], [1, 0, -1], [-1, -1, -1], [1, -1, -1]])
>>> majority_vote(L, cardinality=2).tolist()
[0, -1, -1, 1]
"""

from __future__ import annotations

import importlib
import warnings
from types import ModuleType
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from lifelong.errors import ConfigError, DataError
from lifelong.labels.analysis import ABSTAIN_INDEX

Combine = Literal["majority", "label_model"]
SNORKEL_HINT = "pip install 'lifelong[weak-supervision]' (or snorkel==0.10.0)"
MIN_FUNCTIONS_FOR_LABEL_MODEL = 3


def majority_vote(L: NDArray[np.integer], *, cardinality: int) -> NDArray[np.int64]:
    """The most frequent class index per row; ``-1`` when every function abstained or on a tie."""
    matrix = np.asarray(L, dtype=np.int64)
    if matrix.ndim != 2:
        raise ConfigError(f"L: expected a 2-d label matrix, got shape {matrix.shape}")
    if cardinality < 2:
        raise ConfigError(f"cardinality: expected at least 2 classes, got {cardinality}")
    out_of_range = (matrix < ABSTAIN_INDEX) | (matrix >= cardinality)
    if out_of_range.any():
        raise DataError(
            f"L: expected class indices in [-1, {cardinality - 1}], got {int(matrix[out_of_range][0])}"
        )
    counts = np.zeros((matrix.shape[0], cardinality), dtype=np.int64)
    rows, columns = np.nonzero(matrix != ABSTAIN_INDEX)
    np.add.at(counts, (rows, matrix[rows, columns]), 1)
    top = counts.max(axis=1, initial=0)
    tied = (counts == top[:, None]).sum(axis=1) > 1
    winner = counts.argmax(axis=1)
    return np.where((top == 0) | tied, ABSTAIN_INDEX, winner).astype(np.int64)


def load_snorkel() -> ModuleType:
    """Snorkel's label-model module, or a ConfigError naming the missing optional package."""
    try:
        return importlib.import_module("snorkel.labeling.model")
    except ImportError as exc:
        raise ConfigError(
            f"labels.combine: 'label_model' needs the optional package 'snorkel' ({SNORKEL_HINT}), "
            f"got it missing: {exc}"
        ) from exc


def label_model_vote(
    L: NDArray[np.integer], *, cardinality: int, epochs: int = 500, seed: int = 0
) -> NDArray[np.int64]:
    """Fit Snorkel's LabelModel on ``L`` (seeded) and predict; ties and all-abstain rows abstain."""
    matrix = np.asarray(L, dtype=np.int64)
    if matrix.ndim != 2 or matrix.shape[1] < MIN_FUNCTIONS_FOR_LABEL_MODEL:
        raise ConfigError(
            f"labels.functions: 'label_model' expected at least {MIN_FUNCTIONS_FOR_LABEL_MODEL} "
            f"functions, got {matrix.shape[1] if matrix.ndim == 2 else matrix.shape}"
        )
    labeled = (matrix != ABSTAIN_INDEX).any(axis=1)
    if not labeled.any():
        return np.full(matrix.shape[0], ABSTAIN_INDEX, dtype=np.int64)
    module = load_snorkel()
    model: Any = module.LabelModel(cardinality=cardinality, verbose=False)
    with warnings.catch_warnings():
        # Snorkel 0.10 calls APIs that newer SciPy/PyTorch flag as deprecated; not ours to fix.
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.simplefilter("ignore", category=DeprecationWarning)
        model.fit(L_train=matrix[labeled], n_epochs=epochs, seed=seed, progress_bar=False)
        predicted = np.asarray(model.predict(matrix, tie_break_policy="abstain"), dtype=np.int64)
    return np.where(labeled, predicted, ABSTAIN_INDEX)


def combine_votes(
    L: NDArray[np.integer], *, combine: Combine, cardinality: int, epochs: int = 500, seed: int = 0
) -> NDArray[np.int64]:
    """One class index per row (``-1``: abstain) by ``combine``."""
    if combine == "majority":
        return majority_vote(L, cardinality=cardinality)
    if combine == "label_model":
        return label_model_vote(L, cardinality=cardinality, epochs=epochs, seed=seed)
    raise ConfigError(f"combine: expected 'majority' or 'label_model', got {combine!r}")


__all__ = [
    "MIN_FUNCTIONS_FOR_LABEL_MODEL",
    "SNORKEL_HINT",
    "Combine",
    "combine_votes",
    "label_model_vote",
    "load_snorkel",
    "majority_vote",
]
