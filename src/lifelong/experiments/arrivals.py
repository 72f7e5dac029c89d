"""When labels arrive: which of a stream's earlier labels each new row may know.

A label of row ``j`` arrives at ``event_time_j + delay``; it is known to row ``i`` when
``j < i`` and it arrived strictly before ``event_time_i`` (a label landing at the very instant
of a request is not assumed to be there). Rows come in time order, batch after batch, so the
arrivals are non-decreasing and the labels a row knows are a prefix of those in flight.

Examples
--------
>>> import numpy as np
>>> from datetime import timedelta
>>> arrivals = LabelArrivals(timedelta(minutes=1), dtype=object)
>>> times = np.array(["2024-01-01T00:00", "2024-01-01T00:01", "2024-01-01T00:03"], dtype="datetime64[ns]")
>>> values, known, arrived = arrivals.add(times, np.array(["a", "b", "c"], dtype=object))
>>> values.tolist(), known.tolist(), arrived  # row 1 is at 00:01, when row 0's label lands: not before
(['a', 'b', 'c'], [0, 0, 2], 2)
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from lifelong.events.batch import EVENT_TIME


def event_times(frame: pd.DataFrame) -> NDArray[np.datetime64]:
    """The frame's event times as naive UTC ``datetime64[ns]``."""
    return frame[EVENT_TIME].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]")


class LabelArrivals:
    """The labels still in flight between batches, and the prefix of them each new row knows."""

    def __init__(self, delay: timedelta, *, dtype: Any) -> None:
        self._delay = np.timedelta64(delay)
        self._times = np.empty(0, dtype="datetime64[ns]")
        self._values = np.empty(0, dtype=dtype)

    def add(self, times: NDArray[np.datetime64], values: NDArray[Any]) -> tuple[NDArray[Any], NDArray[np.intp], int]:
        """Put these rows' labels in flight; return the labels in flight (earlier ones first),
        how many of them each row knows, and how many had arrived by the last row (no longer
        kept in flight)."""
        arrivals = np.concatenate([self._times, times + self._delay])
        flying = np.concatenate([self._values, values])
        earlier = len(self._times)
        known = np.minimum(np.searchsorted(arrivals, times, side="left"), earlier + np.arange(len(times)))
        arrived = int(np.searchsorted(arrivals, times[-1], side="left")) if len(times) else 0
        self._times, self._values = arrivals[arrived:], flying[arrived:]
        return flying, known, arrived


__all__ = ["LabelArrivals", "event_times"]
