"""Measured performance on labeled windows, aware of label delay.

Labels arrive late: a natural label is positive as soon as its feedback comes but negative
only once its window closed, so a window whose labels are still pending looks better (or worse)
than it is. :class:`PerformanceMonitor` therefore scores only windows that are *complete*: the
labeler reports no pending row for them at ``now``. Windows are aligned to multiples of their
size (from the Unix epoch), so the same window is the same rows whenever it is computed.

Examples
--------
>>> import numpy as np
>>> y = np.array([0, 1, 1]); proba = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
>>> row_losses(y, proba, np.array([0, 1]), "error").tolist()
[0.0, 0.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from lifelong.errors import ConfigError, DataError
from lifelong.evaluation.metrics import get_metric
from lifelong.events.store import EventStore
from lifelong.labels.base import LABEL, Labeler

Loss = Literal["error", "log_loss", "brier"]
Scorer = Callable[[pd.DataFrame], tuple[NDArray[np.float64], NDArray[Any]]]
"""Rows → (class probabilities, classes in column order)."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def aligned_end(now: datetime, size: timedelta) -> datetime:
    """The latest multiple of ``size`` since the epoch at or before ``now``."""
    if size <= timedelta(0):
        raise ConfigError(f"size: expected a duration > 0, got {size}")
    steps = (now - _EPOCH) // size
    return _EPOCH + steps * size


def row_losses(y: NDArray[Any], proba: NDArray[np.float64], classes: NDArray[Any], loss: Loss) -> NDArray[np.float64]:
    """Per-row loss: 0/1 ``error``, ``log_loss`` of the true class, or multiclass ``brier``."""
    classes = np.asarray(classes)
    y = np.asarray(y)
    proba = np.asarray(proba, dtype=np.float64)
    index = {value.item() if hasattr(value, "item") else value: position for position, value in enumerate(classes)}
    truth = np.array([index.get(value.item() if hasattr(value, "item") else value, -1) for value in y])
    if loss == "error":
        return np.asarray(classes[np.argmax(proba, axis=1)] != y, dtype=np.float64)
    p_true = np.where(truth >= 0, proba[np.arange(len(y)), np.clip(truth, 0, None)], 0.0)
    if loss == "log_loss":
        return np.asarray(-np.log(np.clip(p_true, 1e-15, 1.0)), dtype=np.float64)
    if loss == "brier":
        onehot = np.zeros_like(proba)
        known = truth >= 0
        onehot[np.flatnonzero(known), truth[known]] = 1.0
        return np.asarray(((onehot - proba) ** 2).sum(axis=1), dtype=np.float64)
    raise ConfigError(f"loss: expected 'error', 'log_loss' or 'brier', got {loss!r}")


@dataclass(frozen=True)
class WindowPerformance:
    """A window's labeled rows, pending rows, and (when complete) its metric and losses."""

    start: datetime
    end: datetime
    rows: int
    pending: int
    complete: bool
    metric: str
    value: float | None
    mean_loss: float | None
    losses: NDArray[np.float64] = field(default_factory=lambda: np.empty(0), repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "rows": self.rows,
            "pending": self.pending,
            "complete": self.complete,
            "metric": self.metric,
            "value": self.value,
            "mean_loss": self.mean_loss,
        }


class PerformanceMonitor:
    """Score the champion on labeled windows once their labels are complete.

    Parameters
    ----------
    labeler, store
        Where labeled rows come from (and how many are still pending).
    scorer
        The champion's probabilities for rows.
    metric
        One of lifelong's evaluation metrics (``roc_auc``, ``accuracy``, ``log_loss``, ``f1``).
    loss
        The per-row loss that tests compare (``error``, ``log_loss``, ``brier``).
    min_rows
        Windows with fewer labeled rows have no value.
    memo
        Where complete windows are kept between calls (their labels no longer change); the
        caller owns it and must give a fresh one when the scorer changes.
    """

    def __init__(
        self,
        *,
        labeler: Labeler,
        store: EventStore,
        scorer: Scorer,
        metric: str = "roc_auc",
        loss: Loss = "log_loss",
        min_rows: int = 30,
        memo: MutableMapping[tuple[Any, ...], WindowPerformance] | None = None,
    ) -> None:
        self._memo = memo
        self._metric = get_metric(metric)
        if loss not in ("error", "log_loss", "brier"):
            raise ConfigError(f"loss: expected 'error', 'log_loss' or 'brier', got {loss!r}")
        if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 1:
            raise ConfigError(f"min_rows: expected an integer >= 1, got {min_rows!r}")
        self._labeler = labeler
        self._store = store
        self._scorer = scorer
        self.loss: Loss = loss
        self.min_rows = min_rows

    @property
    def metric(self) -> str:
        return self._metric.name

    def score(self, frame: pd.DataFrame) -> tuple[float | None, NDArray[np.float64]]:
        """The metric and per-row losses of the scorer on labeled ``frame``."""
        if LABEL not in frame.columns:
            raise DataError(f"{LABEL}: expected a label column in the labeled rows, got columns {list(frame.columns)}")
        if len(frame) == 0:
            return None, np.empty(0)
        proba, classes = self._scorer(frame)
        y = frame[LABEL].to_numpy()
        value = self._metric.compute(y, proba, classes)
        return (None if not np.isfinite(value) else float(value)), row_losses(y, proba, classes, self.loss)

    def window(self, start: datetime, end: datetime, *, now: datetime) -> WindowPerformance:
        """The window ``[start, end)`` as known at ``now``."""
        key = (start, end, self.metric, self.loss, self.min_rows)
        if self._memo is not None and key in self._memo:
            return self._memo[key]
        labeled = self._labeler.label(self._store, start, end, now=now)
        pending = int(labeled.stats.get("pending") or 0)
        complete = pending == 0 and end <= now
        value: float | None = None
        losses = np.empty(0)
        if complete and labeled.rows >= self.min_rows:
            value, losses = self.score(labeled.frame)
        mean_loss = float(losses.mean()) if len(losses) else None
        found = WindowPerformance(start, end, labeled.rows, pending, complete, self.metric, value, mean_loss, losses)
        if complete and self._memo is not None:
            self._memo[key] = found
        return found

    def windows(self, now: datetime, *, size: timedelta, count: int) -> list[WindowPerformance]:
        """The last ``count`` aligned windows ending at or before ``now``, oldest first."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ConfigError(f"count: expected an integer >= 1, got {count!r}")
        end = aligned_end(now, size)
        return [self.window(end - (k + 1) * size, end - k * size, now=now) for k in reversed(range(count))]

    def latest_complete(self, now: datetime, *, size: timedelta, lookback: int = 4) -> WindowPerformance | None:
        """The most recent complete window with a value, looking back at most ``lookback`` windows."""
        end = aligned_end(now, size)
        for k in range(lookback):
            found = self.window(end - (k + 1) * size, end - k * size, now=now)
            if found.complete and found.value is not None:
                return found
        return None


__all__ = ["Loss", "PerformanceMonitor", "Scorer", "WindowPerformance", "aligned_end", "row_losses"]
