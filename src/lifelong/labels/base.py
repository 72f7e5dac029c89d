"""The labeler protocol: turn a window of stored events into labeled training rows.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"x": [1.0], "label": [1], "event_time": pd.to_datetime(["2024-01-01"], utc=True)})
>>> window = LabeledWindow(frame, {"rows": 1, "pending": 0})
>>> window.rows
1
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import numpy as np
import pandas as pd

from lifelong.events.store import EventStore

LabelSource = Literal["natural", "function", "human", "column"]
LABEL = "label"
LABEL_SOURCE = "label_source"
LABEL_TIME = "label_time"
Stat = int | float | None


@dataclass(frozen=True)
class LabeledWindow:
    """Labeled rows and how the labeling went.

    Attributes
    ----------
    frame
        Feature and pass-through columns, ``label``, ``event_time``, ``label_time`` and
        ``label_source`` (``natural``, ``function``, ``human`` or ``column``).
    stats
        At least ``rows`` (labeled), ``pending`` (not labeled yet), ``late_updates``,
        ``too_late``, ``duplicates``, ``label_delay_p50_s`` and ``label_delay_p95_s``
        (None when no label had a delay to measure).
    """

    frame: pd.DataFrame
    stats: dict[str, Stat] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return len(self.frame)


def delay_stats(delays_s: pd.Series | np.ndarray) -> dict[str, Stat]:
    """Median and 95th percentile of label delays in seconds (None when there are none)."""
    values = np.asarray(delays_s, dtype=np.float64)
    values = values[~np.isnan(values)]
    if not values.size:
        return {"label_delay_p50_s": None, "label_delay_p95_s": None}
    p50, p95 = np.percentile(values, [50, 95])
    return {"label_delay_p50_s": float(p50), "label_delay_p95_s": float(p95)}


class Labeler(ABC):
    """Labels the events of a time window, as they can be known at ``now``."""

    @abstractmethod
    def label(
        self,
        store: EventStore,
        start: datetime | None,
        end: datetime | None,
        *,
        now: datetime,
    ) -> LabeledWindow:
        """Labeled rows of events with ``start <= event_time < end``; unknown labels wait."""


__all__ = [
    "LABEL",
    "LABEL_SOURCE",
    "LABEL_TIME",
    "LabelSource",
    "LabeledWindow",
    "Labeler",
    "delay_stats",
]
