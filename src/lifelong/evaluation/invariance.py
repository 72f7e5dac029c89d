"""Invariance and directional checks: how the challenger's score reacts to controlled edits of its inputs.

A ``perturb`` check adds a seeded uniform draw from ``[low, high]`` to a column; the score (the
probability of the positive class, or of any class for multiclass) may move at most
``max_change``. A ``directional`` check adds ``delta`` and expects the positive score to move
up (``increase``) or down (``decrease``), allowing ``tolerance`` the wrong way. Each check
passes while the share of violating rows stays within ``max_violations``.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from sklearn.linear_model import LogisticRegression
>>> from lifelong.evaluation.data import EvaluationData, ScoredRows
>>> from lifelong.evaluation.metrics import get_metric
>>> from lifelong.config import DirectionalCheckConfig, PerturbCheckConfig
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame({"price": rng.normal(size=300), "noise": rng.normal(size=300)})
>>> y = (X["price"] > 0).astype(int).to_numpy()
>>> model = LogisticRegression().fit(X, y)
>>> rows = ScoredRows.score_models(model, None, X, y)
>>> gate = InvarianceGate(checks=(
...     PerturbCheckConfig(kind="perturb", column="noise", low=-0.01, high=0.01, max_change=0.05),
...     DirectionalCheckConfig(kind="directional", column="price", delta=1.0, expect="increase"),
... ))
>>> gate.check(Comparison("accuracy", True, 1.0, None, 300, data=EvaluationData(get_metric("accuracy"), rows, model))).passed
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from lifelong.config import DirectionalCheckConfig, InvarianceCheckConfig, PerturbCheckConfig
from lifelong.errors import ConfigError
from lifelong.evaluation.data import Predictor, aligned_proba
from lifelong.evaluation.gates import Comparison, Gate, GateResult, needs_data


class InvarianceGate(Gate):
    """Run behavioural ``checks`` on a seeded sample of at most ``rows`` held-out rows."""

    kind = "invariance"

    def __init__(
        self, *, checks: Sequence[InvarianceCheckConfig], rows: int = 500, seed: int = 0
    ) -> None:
        if not checks:
            raise ConfigError("checks: expected at least one invariance check, got none")
        if rows < 1:
            raise ConfigError(f"rows: expected an integer >= 1, got {rows!r}")
        self.checks = tuple(checks)
        self.rows = rows
        self.seed = seed

    def check(self, comparison: Comparison) -> GateResult:
        data = comparison.data
        if data is None:
            return needs_data(self.kind)
        frame = data.holdout.frame
        values: dict[str, Any] = {"checks": []}
        if frame is None:
            return GateResult(
                self.kind, False, "invariance: expected held-out rows with named columns, got a plain matrix", values
            )
        rng = np.random.default_rng(self.seed)
        if len(frame) > self.rows:
            frame = frame.iloc[np.sort(rng.choice(len(frame), self.rows, replace=False))]
        frame = frame.reset_index(drop=True)
        classes = data.holdout.classes
        base = aligned_proba(data.challenger, frame, classes)
        results = [self._run(check, data.challenger, frame, classes, base, rng) for check in self.checks]
        values["checks"] = results
        values["rows"] = len(frame)
        failed = [r for r in results if not r["passed"]]
        if failed:
            reason = "; ".join(r["reason"] for r in failed)
            return GateResult(self.kind, False, f"invariance: {reason}", values)
        return GateResult(self.kind, True, f"{len(results)} invariance checks passed on {len(frame)} rows", values)

    def _run(
        self,
        check: InvarianceCheckConfig,
        model: Predictor,
        frame: pd.DataFrame,
        classes: NDArray[Any],
        base: NDArray[np.float64],
        rng: np.random.Generator,
    ) -> dict[str, Any]:
        record: dict[str, Any] = check.model_dump(mode="json")
        if check.column not in frame.columns:
            record.update(passed=False, reason=f"{check.column}: expected a column of the held-out rows, got none")
            return record
        column = pd.to_numeric(frame[check.column], errors="coerce").astype("float64")
        edited = frame.copy()
        if isinstance(check, PerturbCheckConfig):
            edited[check.column] = column + rng.uniform(check.low, check.high, len(frame))
            moved = np.abs(aligned_proba(model, edited, classes) - base).max(axis=1)
            violating = moved > check.max_change
            record.update(max_observed=float(np.nanmax(moved)), mean_observed=float(np.nanmean(moved)))
            what = f"{check.column} ± [{check.low}, {check.high}] moves the score more than {check.max_change}"
        else:
            if len(classes) != 2:
                record.update(passed=False, reason=f"{check.column}: directional checks need a binary model")
                return record
            edited[check.column] = column + check.delta
            moved = aligned_proba(model, edited, classes)[:, 1] - base[:, 1]
            direction = 1.0 if check.expect == "increase" else -1.0
            violating = direction * moved < -check.tolerance
            record.update(mean_observed=float(np.nanmean(moved)), worst_observed=float(np.nanmin(direction * moved)))
            what = f"{check.column} + {check.delta} does not {check.expect} the score (tolerance {check.tolerance})"
        share = float(np.mean(violating)) if len(violating) else 0.0
        passed = share <= check.max_violations
        record.update(
            violations=share,
            passed=passed,
            reason=f"{what} on {share:.1%} of rows (allowed {check.max_violations:.1%})",
        )
        return record


__all__ = ["DirectionalCheckConfig", "InvarianceGate", "PerturbCheckConfig"]
