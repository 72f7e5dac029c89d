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

Equal on the metric, the lower log loss wins:

>>> def scored(value, loss):
...     return EvaluationReport(True, "accuracy", True, value, 0.7, "1.0", 200, (), "", log_loss=loss)
>>> best_passing([scored(0.85, 0.41), scored(0.85, 0.37), scored(0.84, 0.30)])
1
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from lifelong.evaluation.evaluator import EvaluationReport


def beats(
    value: float, loss: float | None, best: float, best_loss: float | None, *, higher_is_better: bool
) -> bool:
    """Whether a challenger scoring ``value`` (log loss ``loss``) beats the best so far.

    A better metric wins; on an equal metric (accuracy on a few hundred rows moves in steps),
    the lower log loss, a finer proper score of the same probabilities; otherwise the earlier.
    """
    sign = 1.0 if higher_is_better else -1.0
    if sign * (value - best) != 0:
        return sign * (value - best) > 0
    return loss is not None and best_loss is not None and loss < best_loss


def best_passing(reports: Sequence[EvaluationReport]) -> int | None:
    """Index of the passing report with the best metric (ties: lower log loss, then the first), or None."""
    best: int | None = None
    for index, report in enumerate(reports):
        if not report.passed or math.isnan(report.challenger):
            continue
        if best is None:
            best = index
            continue
        leader = reports[best]
        if beats(report.challenger, report.log_loss, leader.challenger, leader.log_loss, higher_is_better=report.higher_is_better):
            best = index
    return best


__all__ = ["beats", "best_passing"]
