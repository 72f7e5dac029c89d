"""The learner protocol: fit from scratch, update from the current state, save safely."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


class Learner(ABC):
    """A model family that lifelong can train statelessly or statefully.

    Hyperparameters are keyword-only constructor arguments. ``fit`` starts from scratch,
    ``update`` continues from the current state (and behaves as ``fit`` on an unfitted
    learner). ``save`` writes only safe formats (skops, native model text, npz, safetensors,
    or HMAC-signed files) into a directory; ``load`` reads them back.
    """

    kind: ClassVar[str]

    @property
    def supports_update(self) -> bool:
        """Whether :meth:`update` continues from the current state (else only ``fit`` works)."""
        return True

    @abstractmethod
    def fit(self, X: FloatArray, y: NDArray[Any], *, sample_weight: FloatArray | None = None) -> Self:
        """Train from scratch on ``X``, ``y``."""

    @abstractmethod
    def update(
        self, X: FloatArray, y: NDArray[Any], *, sample_weight: FloatArray | None = None
    ) -> Self:
        """Continue training from the current state on new rows."""

    @abstractmethod
    def predict(self, X: FloatArray) -> NDArray[Any]:
        """Predicted labels."""

    @abstractmethod
    def predict_proba(self, X: FloatArray) -> FloatArray:
        """Class probabilities, shape ``(n_rows, n_classes)``, columns ordered as ``classes_``."""

    @property
    @abstractmethod
    def classes_(self) -> NDArray[Any]:
        """Class labels seen in training."""

    @property
    @abstractmethod
    def is_fitted(self) -> bool:
        """Whether the learner has been trained."""

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """JSON-serialisable hyperparameters, enough to rebuild an unfitted copy."""

    @abstractmethod
    def signature(self) -> dict[str, Any]:
        """Hyperparameters that shape the state: a parent is compatible only if these match."""

    @abstractmethod
    def save(self, directory: Path) -> None:
        """Write the fitted state into ``directory`` in safe formats."""

    @classmethod
    @abstractmethod
    def load(cls, directory: Path) -> Self:
        """Read a learner written by :meth:`save`."""

    @abstractmethod
    def clone(self) -> Self:
        """An unfitted copy with the same hyperparameters."""

    def feature_importance(self) -> FloatArray | None:
        """Importance per input column when the family has one, else ``None``."""
        return None
