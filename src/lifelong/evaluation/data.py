"""The scored rows an evaluation shares with its gates: labels, aligned probabilities, inputs.

Examples
--------
>>> import numpy as np
>>> rows = ScoredRows(y=np.array([0, 1]), classes=np.array([0, 1]),
...                   challenger=np.array([[0.8, 0.2], [0.3, 0.7]]), champion=None, inputs=None)
>>> rows.positive_scores("challenger").tolist(), rows.predicted("challenger").tolist()
([0.2, 0.7], [0, 1])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from lifelong.evaluation.metrics import Metric


class Predictor(Protocol):
    """Anything that gives class probabilities: a learner, or a loaded version."""

    @property
    def classes_(self) -> NDArray[Any]: ...

    def predict_proba(self, X: Any) -> NDArray[np.float64]: ...


Side = Literal["challenger", "champion"]


def aligned_proba(model: Predictor, X: Any, classes: NDArray[Any]) -> NDArray[np.float64]:
    """Probabilities with columns in the order of ``classes`` (zeros for classes it never saw)."""
    proba = np.asarray(model.predict_proba(X), dtype=np.float64)
    own = list(np.asarray(model.classes_))
    if own == list(classes):
        return proba
    out = np.zeros((len(proba), len(classes)))
    for column, label in enumerate(own):
        matches = np.flatnonzero(classes == label)
        if len(matches):
            out[:, matches[0]] = proba[:, column]
    return out


@dataclass(frozen=True)
class ScoredRows:
    """Labels ``y`` and both models' probabilities (columns ordered as ``classes``) on the same rows."""

    y: NDArray[Any]
    classes: NDArray[Any]
    challenger: NDArray[np.float64]
    champion: NDArray[np.float64] | None
    inputs: Any

    def proba(self, side: Side) -> NDArray[np.float64]:
        value = self.challenger if side == "challenger" else self.champion
        if value is None:
            raise LookupError(f"side: expected a scored model, got no {side}")
        return value

    def positive_scores(self, side: Side) -> NDArray[np.float64]:
        """Probability of ``classes[-1]`` (the positive class of a binary model)."""
        return self.proba(side)[:, -1]

    def predicted(self, side: Side) -> NDArray[Any]:
        return self.classes[self.proba(side).argmax(axis=1)]

    def score(self, metric: Metric, side: Side, rows: NDArray[np.bool_] | None = None) -> float:
        """``metric`` of one side, on every row or on the rows selected by the mask ``rows``."""
        proba = self.proba(side)
        if rows is None:
            return metric.compute(self.y, proba, self.classes)
        return metric.compute(self.y[rows], proba[rows], self.classes)

    @property
    def frame(self) -> pd.DataFrame | None:
        """The inputs when they are a DataFrame (named columns, for slices and perturbations)."""
        return self.inputs if isinstance(self.inputs, pd.DataFrame) else None

    @classmethod
    def score_models(
        cls, challenger: Predictor, champion: Predictor | None, X: Any, y: NDArray[Any]
    ) -> ScoredRows:
        classes = np.asarray(challenger.classes_)
        return cls(
            y=np.asarray(y),
            classes=classes,
            challenger=aligned_proba(challenger, X, classes),
            champion=aligned_proba(champion, X, classes) if champion is not None else None,
            inputs=X,
        )


@dataclass(frozen=True)
class EvaluationData:
    """What gates may look at beyond the two metric values."""

    metric: Metric
    holdout: ScoredRows
    challenger: Predictor
    older: ScoredRows | None = None
    artifact_dir: Path | None = None


__all__ = ["EvaluationData", "Predictor", "ScoredRows", "Side", "aligned_proba"]
