"""Compare a challenger with the champion on the most recent held-out labeled rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from lifelong.config import EvaluationConfig, ForgettingGateConfig
from lifelong.evaluation.data import EvaluationData, Predictor, ScoredRows, aligned_proba
from lifelong.evaluation.factory import build_gate
from lifelong.evaluation.gates import Comparison, Gate, GateResult
from lifelong.evaluation.metrics import Metric, get_metric


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
    log_loss: float | None = None  # the challenger's, on the same rows: breaks ties of the metric

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
            **({"log_loss": self.log_loss} if self.log_loss is not None else {}),
            **self.extra,
        }


def _aligned_proba(model: Predictor, X: NDArray[np.float64], classes: NDArray[Any]) -> NDArray[np.float64]:
    """Probabilities with columns in the order of ``classes`` (kept for older callers)."""
    return aligned_proba(model, X, classes)


def _log_loss(rows: ScoredRows) -> float | None:
    """The challenger's log loss on ``rows`` (probabilities clipped at 1e-15); None where a label is outside its classes.

    Computed here rather than through the ``log_loss`` metric: this runs for every challenger of
    every update, and scikit-learn's input checks cost milliseconds per call on a few hundred rows.
    """
    positions = pd.Index(list(rows.classes), dtype=object).get_indexer(pd.Series(rows.y, dtype=object))
    if not len(positions) or (positions < 0).any():
        return None
    chosen = rows.challenger[np.arange(len(positions)), positions]
    return float(-np.log(np.clip(chosen, 1e-15, 1.0)).mean())


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

    def __init__(
        self,
        metric: Metric,
        gates: Sequence[Gate],
        *,
        older_window: tuple[timedelta, timedelta] | None = None,
    ) -> None:
        self.metric = metric
        self.gates = tuple(gates)
        self.older_window = older_window

    @classmethod
    def from_config(cls, config: EvaluationConfig) -> Evaluator:
        older = next((g for g in config.gates if isinstance(g, ForgettingGateConfig)), None)
        return cls(
            get_metric(config.metric),
            [build_gate(gate) for gate in config.gates],
            older_window=(older.start, older.end) if older is not None else None,
        )

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
        older: tuple[Any, NDArray[Any]] | None = None,
        artifact_dir: Path | None = None,
        holdout: ScoredRows | None = None,
    ) -> EvaluationReport:
        """Measure both on ``X``, ``y`` and return the gates' verdict.

        Parameters
        ----------
        challenger, champion
            The models (``champion`` None when there is none yet).
        X, y
            Held-out inputs (a DataFrame gives slices and perturbations named columns) and labels.
        champion_version
            Recorded in the report.
        older
            ``(X, y)`` of an older labeled window, for the forgetting gate.
        artifact_dir
            The challenger's saved artifact, for the infra gate.
        holdout
            Rows already scored on ``X`` (several challengers share the champion's scores).
        """
        rows = holdout if holdout is not None else ScoredRows.score_models(challenger, champion, X, y)
        older_rows = None
        if older is not None and len(older[1]):
            older_rows = ScoredRows.score_models(challenger, champion, older[0], older[1])
        data = EvaluationData(self.metric, rows, challenger, older=older_rows, artifact_dir=artifact_dir)
        challenger_value = rows.score(self.metric, "challenger")
        champion_value = rows.score(self.metric, "champion") if rows.champion is not None else None
        comparison = Comparison(
            metric=self.metric.name,
            higher_is_better=self.metric.higher_is_better,
            challenger=challenger_value,
            champion=champion_value,
            rows=len(y),
            data=data,
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
            log_loss=_log_loss(rows),
        )


__all__ = ["EvaluationReport", "Evaluator", "Predictor"]
