"""A model bundle: the learner, the feature pipeline and the spec that ties them together.

This is what the registry stores as a version's artifact and what the server loads:
``learner/`` (the learner's own safe files) and ``spec.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from lifelong.errors import ArtifactError, IncompatibleParentError
from lifelong.features import FeaturePipeline
from lifelong.learners import load_learner
from lifelong.learners.base import Learner
from lifelong.registry.signing import Signer

SPEC_FILE = "spec.json"
LEARNER_DIR = "learner"


@dataclass
class ModelBundle:
    """Learner plus features; ``model_hash`` identifies the model's shape (features, family, hyperparameters)."""

    learner: Learner
    features: FeaturePipeline
    model_hash: str
    passthrough: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def classes_(self) -> NDArray[Any]:
        return self.learner.classes_

    def transform(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        """Feature matrix of ``frame``, the same on training and serving paths."""
        return self.features.transform(frame)

    def predict_proba_frame(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        return self.learner.predict_proba(self.transform(frame))

    def spec(self) -> dict[str, Any]:
        return {
            "model_hash": self.model_hash,
            "learner_kind": self.learner.kind,
            "signature": self.learner.signature(),
            "features": self.features.to_dict(),
            "passthrough": list(self.passthrough),
            "classes": [c.item() if hasattr(c, "item") else c for c in self.classes_],
            **self.extra,
        }

    def save(self, directory: Path) -> None:
        """Write ``spec.json`` and ``learner/`` into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        (directory / LEARNER_DIR).mkdir(exist_ok=True)
        self.learner.save(directory / LEARNER_DIR)
        (directory / SPEC_FILE).write_text(json.dumps(self.spec(), sort_keys=True, indent=1, default=str))

    @classmethod
    def load(cls, directory: Path, *, signer: Signer | None = None) -> ModelBundle:
        """Read a bundle written by :meth:`save` (the registry has already verified its hashes).

        ``signer`` is the registry's key, needed by learners whose state is signed (River).
        """
        try:
            spec = json.loads((directory / SPEC_FILE).read_text())
        except (OSError, ValueError) as exc:
            raise ArtifactError(f"{directory / SPEC_FILE}: expected a readable JSON spec: {exc}") from exc
        learner = load_learner(directory / LEARNER_DIR, signer=signer)
        return cls(
            learner=learner,
            features=FeaturePipeline.from_dict(spec["features"]),
            model_hash=str(spec["model_hash"]),
            passthrough=tuple(spec.get("passthrough", ())),
        )

    def check_compatible(self, other_model_hash: str, other_signature: dict[str, Any], *, version: str) -> None:
        """Refuse a stateful update of this bundle by a model of another shape."""
        if other_model_hash != self.model_hash or other_signature != self.learner.signature():
            raise IncompatibleParentError(
                f"parent {version}: expected the same features and model shape for a stateful update "
                f"(model hash {self.model_hash[:12]}, signature {self.learner.signature()}), got model hash "
                f"{other_model_hash[:12]}, signature {other_signature}; train from scratch to start a new major version"
            )


__all__ = ["LEARNER_DIR", "SPEC_FILE", "ModelBundle"]
