"""Slice gate: a challenger that is better overall may still not harm any slice beyond tolerance.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from lifelong.evaluation.data import EvaluationData, ScoredRows
>>> from lifelong.evaluation.metrics import get_metric
>>> frame = pd.DataFrame({"device": ["ios"] * 4 + ["web"] * 4})
>>> y = np.array([0, 1, 0, 1, 0, 1, 0, 1])
>>> right = np.column_stack([1 - y * 0.8 - 0.1, y * 0.8 + 0.1])
>>> wrong_on_web = right.copy(); wrong_on_web[4:] = right[4:, ::-1]
>>> rows = ScoredRows(y, np.array([0, 1]), wrong_on_web, right, frame)
>>> gate = SliceGate(columns=("device",), tolerance=0.1, min_rows=2)
>>> result = gate.check(Comparison("accuracy", True, 0.5, 1.0, 8, data=EvaluationData(get_metric("accuracy"), rows, None)))
>>> result.passed, [s["value"] for s in result.values["slices"] if not s["passed"]]
(False, ['web'])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from lifelong.errors import ConfigError
from lifelong.evaluation.gates import Comparison, Gate, GateResult, needs_data


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


class SliceGate(Gate):
    """Reject a challenger that loses more than ``tolerance`` of the metric on any judged slice.

    Parameters
    ----------
    columns
        Input columns whose values define the slices (``device``, ``country``).
    tolerance
        Largest loss against the champion allowed on one slice.
    min_rows
        Slices with fewer held-out rows are reported but not judged.
    max_slices
        At most this many slices per column (the most frequent values) are measured.
    """

    kind = "slices"

    def __init__(
        self,
        *,
        columns: Sequence[str],
        tolerance: float = 0.02,
        min_rows: int = 50,
        max_slices: int = 50,
    ) -> None:
        if not columns or not all(isinstance(c, str) and c for c in columns):
            raise ConfigError(f"columns: expected one or more column names, got {columns!r}")
        if not tolerance >= 0:
            raise ConfigError(f"tolerance: expected a number >= 0, got {tolerance!r}")
        if min_rows < 1 or max_slices < 1:
            raise ConfigError(
                f"min_rows, max_slices: expected integers >= 1, got {min_rows!r}, {max_slices!r}"
            )
        self.columns = tuple(columns)
        self.tolerance = float(tolerance)
        self.min_rows = min_rows
        self.max_slices = max_slices

    def check(self, comparison: Comparison) -> GateResult:
        data = comparison.data
        if data is None:
            return needs_data(self.kind)
        rows = data.holdout
        values: dict[str, Any] = {"columns": list(self.columns), "tolerance": self.tolerance, "slices": []}
        if rows.champion is None:
            return GateResult(self.kind, True, "no champion to compare with", values)
        frame = rows.frame
        if frame is None:
            return GateResult(
                self.kind, False, "slices: expected held-out rows with named columns, got a plain matrix", values
            )
        absent = [column for column in self.columns if column not in frame.columns]
        if absent:
            return GateResult(
                self.kind, False, f"slices: expected columns {absent} in the held-out rows, got {list(frame.columns)}", values
            )
        slices: list[dict[str, Any]] = []
        for column in self.columns:
            series = frame[column].astype("object").where(frame[column].notna(), "(missing)")
            counts = series.value_counts()
            for value in counts.index[: self.max_slices]:
                mask = (series == value).to_numpy()
                slices.append(self._measure(data.metric, rows, column, value, mask))
        values["slices"] = slices
        failed = [s for s in slices if not s["passed"]]
        judged = sum(1 for s in slices if s["judged"])
        if failed:
            worst = min(failed, key=lambda s: s["gain"])
            reason = (
                f"{len(failed)} of {judged} judged slices lose more than {self.tolerance} {comparison.metric}; "
                f"worst {worst['column']}={worst['value']!r}: {worst['challenger']:.4f} vs champion "
                f"{worst['champion']:.4f} ({worst['rows']} rows)"
            )
            return GateResult(self.kind, False, reason, values)
        return GateResult(
            self.kind, True, f"no slice loses more than {self.tolerance} {comparison.metric} ({judged} judged)", values
        )

    def _measure(self, metric: Any, rows: Any, column: str, value: Any, mask: np.ndarray[Any, Any]) -> dict[str, Any]:
        count = int(mask.sum())
        challenger = rows.score(metric, "challenger", mask)
        champion = rows.score(metric, "champion", mask)
        gain = metric.better(challenger, champion)
        judged = count >= self.min_rows and not (math.isnan(challenger) or math.isnan(champion))
        return {
            "column": column,
            "value": _plain(value),
            "rows": count,
            "challenger": challenger,
            "champion": champion,
            "gain": gain,
            "judged": judged,
            "passed": (not judged) or gain >= -self.tolerance,
        }


__all__ = ["SliceGate"]
