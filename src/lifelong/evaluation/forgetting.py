"""Forgetting gate: the challenger must not be worse than the champion on an older labeled window.

Examples
--------
>>> import numpy as np
>>> from lifelong.evaluation.data import EvaluationData, ScoredRows
>>> from lifelong.evaluation.metrics import get_metric
>>> y = np.array([0, 1] * 100)
>>> right = np.column_stack([1 - y * 0.8 - 0.1, y * 0.8 + 0.1])
>>> older = ScoredRows(y, np.array([0, 1]), right[:, ::-1], right, None)
>>> data = EvaluationData(get_metric("accuracy"), older, None, older=older)
>>> ForgettingGate(tolerance=0.05).check(Comparison("accuracy", True, 1.0, 1.0, 200, data=data)).passed
False
"""

from __future__ import annotations

import math
from typing import Any

from lifelong.errors import ConfigError
from lifelong.evaluation.gates import Comparison, Gate, GateResult, needs_data


class ForgettingGate(Gate):
    """Reject a challenger worse than the champion on the older window by more than ``tolerance``.

    An older window with fewer than ``min_rows`` labeled rows is reported and not judged (a new
    model has no past to forget).
    """

    kind = "forgetting"

    def __init__(self, *, tolerance: float = 0.01, min_rows: int = 100) -> None:
        if not tolerance >= 0:
            raise ConfigError(f"tolerance: expected a number >= 0, got {tolerance!r}")
        if min_rows < 1:
            raise ConfigError(f"min_rows: expected an integer >= 1, got {min_rows!r}")
        self.tolerance = float(tolerance)
        self.min_rows = min_rows

    def check(self, comparison: Comparison) -> GateResult:
        data = comparison.data
        if data is None:
            return needs_data(self.kind)
        values: dict[str, Any] = {"tolerance": self.tolerance, "min_rows": self.min_rows}
        older = data.older
        rows = 0 if older is None else len(older.y)
        values["rows"] = rows
        if older is None or rows < self.min_rows:
            return GateResult(
                self.kind, True, f"older window not judged: {rows} labeled rows (< {self.min_rows})", values
            )
        if older.champion is None:
            return GateResult(self.kind, True, "no champion to compare with", values)
        challenger = older.score(data.metric, "challenger")
        champion = older.score(data.metric, "champion")
        gain = data.metric.better(challenger, champion)
        values.update({"challenger": challenger, "champion": champion, "gain": gain})
        if math.isnan(gain):
            return GateResult(self.kind, True, f"older window not judged: {comparison.metric} undefined there", values)
        passed = gain >= -self.tolerance
        reason = (
            f"older window ({rows} rows): {comparison.metric} {challenger:.4f} vs champion {champion:.4f} "
            f"(gain {gain:+.4f}, {'within' if passed else 'beyond'} tolerance {self.tolerance})"
        )
        return GateResult(self.kind, passed, reason, values)


__all__ = ["ForgettingGate"]
