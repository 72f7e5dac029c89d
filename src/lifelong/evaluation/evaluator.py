"""Compare a challenger with the champion on the most recent held-out labeled rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from lifelong.config import EvaluationConfig, MinimumRowsGateConfig, NotWorseGateConfig
from lifelong.evaluation.gates import Comparison, Gate, GateResult, MinimumRowsGate, NotWorseGate
from lifelong.evaluation.metrics import Metric, get_metric


class Predictor(Protocol):
    """Anything that gives class probabilities: a learner, or a loaded version."""

    @property
    def classes_(self) -> NDArray[Any]: ...

    def predict_proba(self, X: NDArray[np.float64]) -> NDArray[np.float64]: ...


@dataclass(frozen=True)
class EvaluationReport:
    """The verdict and everything measured to reach it; stored on the version."""

    passed: bool
    metric: str
    higher_is_better: bool
    challenger: float
    champion: float | None
    champion_version: str | None
    rows: int
    gates: tuple[GateResult, ...]
    reason: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "metric": self.metric,
            "higher_is_better": self.higher_is_better,
            "challenger": self.challenger,
            "champion": self.champion,
            "champion_version": self.champion_version,
            "rows": self.rows,
            "gates": [gate.to_dict() for gate in self.gates],
            "reason": self.reason,
            **self.extra,
        }


def _aligned_proba(model: Predictor, X: NDArray[np.float64], classes: NDArray[Any]) -> NDArray[np.float64]:
    """Probabilities with columns in the order of ``classes`` (zeros for unseen classes)."""
    proba = np.asarray(model.predict_proba(X), dtype=np.float64)
    own = list(np.asarray(model.classes_))
    if own == list(classes):
        return proba
    out = np.zeros((len(X), len(classes)))
    for column, label in enumerate(own):
        matches = np.flatnonzero(classes == label)
        if len(matches):
            out[:, matches[0]] = proba[:, column]
    return out


class Evaluator:
    """Scores challenger and champion on the same rows and applies the gates.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 2)); y = (X[:, 0] > 0).astype(int)
    >>> good = LogisticRegression().fit(X, y); bad = LogisticRegression().fit(X, 1 - y)
    >>> evaluator = Evaluator.from_config(EvaluationConfig(metric="accuracy"))
    >>> evaluator.evaluate(bad, good, X, y, champion_version="1.0").passed
    False
    """

    def __init__(self, metric: Metric, gates: Sequence[Gate]) -> None:
        self.metric = metric
        self.gates = tuple(gates)

    @classmethod
    def from_config(cls, config: EvaluationConfig) -> Evaluator:
        gates: list[Gate] = []
        for gate in config.gates:
            if isinstance(gate, NotWorseGateConfig):
                gates.append(NotWorseGate(tolerance=gate.tolerance))
            elif isinstance(gate, MinimumRowsGateConfig):
                gates.append(MinimumRowsGate(rows=gate.rows))
        return cls(get_metric(config.metric), gates)

    def score(self, model: Predictor, X: NDArray[np.float64], y: NDArray[Any]) -> float:
        """The metric of ``model`` on ``X``, ``y``."""
        classes = np.asarray(model.classes_)
        return self.metric.compute(y, _aligned_proba(model, X, classes), classes)

    def evaluate(
        self,
        challenger: Predictor,
        champion: Predictor | None,
        X: NDArray[np.float64],
        y: NDArray[Any],
        *,
        champion_version: str | None = None,
    ) -> EvaluationReport:
        """Measure both on ``X``, ``y`` and return the gates' verdict."""
        challenger_value = self.score(challenger, X, y)
        champion_value = self.score(champion, X, y) if champion is not None else None
        comparison = Comparison(
            metric=self.metric.name,
            higher_is_better=self.metric.higher_is_better,
            challenger=challenger_value,
            champion=champion_value,
            rows=len(y),
        )
        results = tuple(gate.check(comparison) for gate in self.gates)
        failed = [result for result in results if not result.passed]
        passed = not failed
        reason = "; ".join(r.reason for r in (failed or results)) or "no gates configured"
        return EvaluationReport(
            passed=passed,
            metric=self.metric.name,
            higher_is_better=self.metric.higher_is_better,
            challenger=challenger_value,
            champion=champion_value,
            champion_version=champion_version,
            rows=len(y),
            gates=results,
            reason=reason,
        )


__all__ = ["EvaluationReport", "Evaluator", "Predictor"]
