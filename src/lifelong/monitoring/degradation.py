"""Has the champion got worse? Its losses on a recent complete window against its held-out ones.

:func:`assess_performance` takes the champion's per-row losses on the window it was judged on
at training time (the baseline) and on the latest window since then whose labels are complete,
and tests whether the recent mean loss is greater with a one-sided Welch t-test (the losses of a
few hundred rows are means of independent rows, so the test's normal approximation holds). The
assessment keeps the numbers; :class:`~lifelong.triggers.performance.PerformanceTrigger`
decides from them.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> before = (rng.uniform(size=800) < 0.10).astype(float)
>>> after = (rng.uniform(size=800) < 0.20).astype(float)
>>> p_value = one_sided_welch(after, before)[1]
>>> bool(p_value < 1e-6)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from lifelong.labels.base import LABEL
from lifelong.monitoring.context import MonitorContext, trained_at
from lifelong.monitoring.performance import (
    Loss,
    PerformanceMonitor,
    WindowPerformance,
    aligned_end,
    row_losses,
)


def one_sided_welch(current: NDArray[np.float64], baseline: NDArray[np.float64]) -> tuple[float, float]:
    """Welch's t statistic and the p-value of "the current mean loss is greater than the baseline's"."""
    if len(current) < 2 or len(baseline) < 2:
        return 0.0, 1.0
    spread = float(np.var(current, ddof=1) / len(current) + np.var(baseline, ddof=1) / len(baseline))
    if spread <= 0.0:  # constant losses on both sides: the means are exactly known
        worse = float(np.mean(current)) > float(np.mean(baseline))
        return (float("inf"), 0.0) if worse else (0.0, 1.0)
    result = stats.ttest_ind(current, baseline, equal_var=False, alternative="greater")
    return float(result.statistic), float(result.pvalue)


@dataclass(frozen=True)
class PerformanceAssessment:
    """The champion's baseline losses, its latest complete window, and the test between them."""

    at: datetime
    champion: str
    loss: Loss
    baseline_rows: int
    baseline_loss: float | None
    baseline_value: float | None
    window: WindowPerformance | None
    statistic: float | None
    p_value: float | None
    note: str = ""

    @property
    def increase(self) -> float | None:
        """Mean loss of the window minus the baseline's (positive: worse)."""
        if self.window is None or self.window.mean_loss is None or self.baseline_loss is None:
            return None
        return self.window.mean_loss - self.baseline_loss

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "champion": self.champion,
            "loss": self.loss,
            "baseline_rows": self.baseline_rows,
            "baseline_loss": self.baseline_loss,
            "baseline_value": self.baseline_value,
            "window": self.window.to_dict() if self.window is not None else None,
            "increase": self.increase,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "note": self.note,
        }


def assess_performance(
    context: MonitorContext,
    *,
    now: datetime,
    window: timedelta,
    loss: Loss = "log_loss",
    min_rows: int = 100,
    lookback: int = 3,
) -> PerformanceAssessment | None:
    """The champion's latest complete window since its training against its baseline; None without a champion."""
    version = context.champion()
    if version is None:
        return None
    at = trained_at(version)
    holdout = context.holdout_rows(version, now)
    scorer = context.scorer(version)
    monitor = PerformanceMonitor(labeler=context.labeler, store=context.store, scorer=scorer, metric=context.metric, loss=loss,
                                 min_rows=min_rows, memo=context.window_memo(version))
    if len(holdout) < 2 or LABEL not in holdout.columns:
        return PerformanceAssessment(now, version.version, loss, len(holdout), None, None, None, None, None, "no labeled held-out rows to compare with")
    baseline_value, baseline_losses = context.derived(version, f"losses:{loss}", lambda: monitor.score(holdout))
    baseline_loss = float(baseline_losses.mean())
    latest: WindowPerformance | None = None
    end = aligned_end(now, window)
    for k in range(lookback):
        candidate = monitor.window(end - (k + 1) * window, end - k * window, now=now)
        if at is not None and candidate.start < at:
            break  # older windows belong to the data the champion was trained or judged on
        if candidate.complete and candidate.value is not None and candidate.rows >= min_rows:
            latest = candidate
            break
    if latest is None:
        note = f"no complete window of {window} since training with at least {min_rows} labeled rows"
        return PerformanceAssessment(now, version.version, loss, len(holdout), baseline_loss, baseline_value, None, None, None, note)
    statistic, p_value = one_sided_welch(latest.losses, baseline_losses)
    return PerformanceAssessment(now, version.version, loss, len(holdout), baseline_loss, baseline_value, latest, statistic, p_value)


__all__ = ["PerformanceAssessment", "assess_performance", "one_sided_welch", "row_losses"]
