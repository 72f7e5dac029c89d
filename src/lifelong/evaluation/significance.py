"""Significance gate: a gain over the champion that is both large enough and not noise.

Examples
--------
>>> import numpy as np
>>> from lifelong.evaluation.data import EvaluationData, ScoredRows
>>> from lifelong.evaluation.metrics import get_metric
>>> rng = np.random.default_rng(0)
>>> y = rng.integers(0, 2, 400)
>>> sharp = np.column_stack([1 - (0.6 * y + 0.2), 0.6 * y + 0.2])
>>> rows = ScoredRows(y, np.array([0, 1]), sharp, np.full((400, 2), 0.5), None)
>>> data = EvaluationData(get_metric("roc_auc"), rows, challenger=None)
>>> comparison = Comparison("roc_auc", True, 1.0, 0.5, 400, data=data)
>>> SignificanceGate(test="delong", min_gain=0.1).check(comparison).passed
True
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from lifelong.errors import ConfigError, DataError
from lifelong.evaluation.data import EvaluationData, ScoredRows
from lifelong.evaluation.delong import delong_test
from lifelong.evaluation.gates import Comparison, Gate, GateResult, needs_data
from lifelong.evaluation.metrics import get_metric
from lifelong.evaluation.paired import mcnemar, paired_bootstrap

Test = Literal["bootstrap", "mcnemar", "delong"]


class SignificanceGate(Gate):
    """Pass a challenger whose gain over the champion reaches ``min_gain`` with significance ``alpha``.

    Parameters
    ----------
    test
        ``bootstrap`` (paired, seeded percentile interval of the configured metric's gain),
        ``mcnemar`` (exact test on accuracy) or ``delong`` (ROC AUC, binary).
    min_gain
        Smallest gain worth promoting (negative values make it a non-inferiority margin).
    alpha
        One-sided significance level.
    resamples, seed
        Bootstrap resamples and the seed of their generator.
    """

    kind = "significance"

    def __init__(
        self,
        *,
        test: Test = "bootstrap",
        min_gain: float = 0.0,
        alpha: float = 0.05,
        resamples: int = 1000,
        seed: int = 0,
    ) -> None:
        if test not in ("bootstrap", "mcnemar", "delong"):
            raise ConfigError(f"test: expected 'bootstrap', 'mcnemar' or 'delong', got {test!r}")
        if not 0.0 < alpha < 0.5:
            raise ConfigError(f"alpha: expected a number in (0, 0.5), got {alpha!r}")
        self.test = test
        self.min_gain = float(min_gain)
        self.alpha = float(alpha)
        self.resamples = resamples
        self.seed = seed

    def check(self, comparison: Comparison) -> GateResult:
        data = comparison.data
        if data is None:
            return needs_data(self.kind)
        rows = data.holdout
        values: dict[str, Any] = {"test": self.test, "min_gain": self.min_gain, "alpha": self.alpha}
        if rows.champion is None:
            return GateResult(self.kind, True, "no champion to compare with", values)
        try:
            if self.test == "bootstrap":
                return self._bootstrap(comparison.metric, data, values)
            if self.test == "mcnemar":
                return self._mcnemar(rows, values)
            return self._delong(rows, values)
        except DataError as exc:
            return GateResult(self.kind, False, f"{self.test}: {exc}", values)

    def _bootstrap(self, metric: str, data: EvaluationData, values: dict[str, Any]) -> GateResult:
        rows = data.holdout
        interval = paired_bootstrap(
            rows.y,
            rows.proba("champion"),
            rows.challenger,
            rows.classes,
            data.metric,
            resamples=self.resamples,
            confidence=1.0 - 2.0 * self.alpha,
            seed=self.seed,
        )
        values.update(interval.to_dict())
        passed = bool(np.isfinite(interval.low) and interval.low >= self.min_gain)
        reason = (
            f"{metric} gain {interval.estimate:+.4f}, {100 * (1 - self.alpha):.0f}% lower bound "
            f"{interval.low:+.4f} ({'>=' if passed else '<'} minimum gain {self.min_gain:+.4f}; "
            f"paired bootstrap, {interval.resamples} resamples, seed {interval.seed})"
        )
        return GateResult(self.kind, passed, reason, values)

    def _mcnemar(self, rows: ScoredRows, values: dict[str, Any]) -> GateResult:
        accuracy = get_metric("accuracy")
        gain = rows.score(accuracy, "challenger") - rows.score(accuracy, "champion")
        result = mcnemar(rows.y, rows.predicted("champion"), rows.predicted("challenger"))
        values.update({"accuracy_gain": gain, **result.to_dict()})
        passed = result.p_b_better < self.alpha and gain >= self.min_gain
        reason = (
            f"accuracy gain {gain:+.4f} (minimum {self.min_gain:+.4f}); McNemar: challenger alone right "
            f"on {result.only_b} rows, champion alone on {result.only_a}, one-sided p {result.p_b_better:.4g} "
            f"({'<' if result.p_b_better < self.alpha else '>='} alpha {self.alpha})"
        )
        return GateResult(self.kind, passed, reason, values)

    def _delong(self, rows: ScoredRows, values: dict[str, Any]) -> GateResult:
        if len(rows.classes) != 2:
            return GateResult(
                self.kind, False, f"delong: expected a binary model, got {len(rows.classes)} classes", values
            )
        result = delong_test(
            rows.y == rows.classes[1], rows.positive_scores("champion"), rows.positive_scores("challenger")
        )
        p = result.p_greater(self.min_gain)
        values.update({**result.to_dict(), "p_greater": p})
        passed = p < self.alpha
        reason = (
            f"AUC {result.auc_b:.4f} vs champion {result.auc_a:.4f} (gain {result.difference:+.4f} ± "
            f"{result.std_error:.4f}); DeLong one-sided p {p:.4g} for gain > {self.min_gain:+.4f} "
            f"({'<' if passed else '>='} alpha {self.alpha})"
        )
        return GateResult(self.kind, passed, reason, values)


__all__ = ["SignificanceGate"]
