"""Choosing among several challengers evaluated on the same held-out rows.

Examples
--------
>>> from lifelong.evaluation.evaluator import EvaluationReport
>>> def report(value, passed):
...     return EvaluationReport(passed, "roc_auc", True, value, 0.7, "1.0", 100, (), "")
>>> best_passing([report(0.80, False), report(0.75, True), report(0.78, True)])
2
>>> best_passing([report(0.80, False)]) is None
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from lifelong.evaluation.evaluator import EvaluationReport


def best_passing(reports: Sequence[EvaluationReport]) -> int | None:
    """Index of the passing report with the best metric (the first on ties), or None."""
    best: int | None = None
    for index, report in enumerate(reports):
        if not report.passed or math.isnan(report.challenger):
            continue
        if best is None:
            best = index
            continue
        sign = 1.0 if report.higher_is_better else -1.0
        if sign * (report.challenger - reports[best].challenger) > 0:
            best = index
    return best


__all__ = ["best_passing"]
