"""Labels that arrive with the events themselves: a column of the event rows.

Examples
--------
>>> import tempfile
>>> from datetime import datetime, timezone
>>> import pandas as pd
>>> from lifelong.events import ParquetEventStore
>>> store = ParquetEventStore(tempfile.mkdtemp())
>>> _ = store.append("events", pd.DataFrame({
...     "event_id": ["a", "b"],
...     "event_time": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True),
...     "x": [0.5, 1.5],
...     "y": [1.0, None],
... }))
>>> window = ColumnLabeler("y").label(store, None, None, now=datetime(2024, 2, 1, tzinfo=timezone.utc))
>>> window.frame[["event_id", "x", "label"]].to_dict("records"), window.stats["pending"]
([{'event_id': 'a', 'x': 0.5, 'label': 1}], 1)
>>> store.close()
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from lifelong.clock import utc
from lifelong.errors import ConfigError, DataError
from lifelong.events.batch import EVENT_TIME
from lifelong.events.normalize import check_stream_name
from lifelong.events.store import EventStore
from lifelong.labels.base import (
    LABEL,
    LABEL_SOURCE,
    LABEL_TIME,
    LabeledWindow,
    Labeler,
    delay_stats,
)


def tidy_labels(values: pd.Series) -> pd.Series:
    """Integer dtype for float labels that are all whole numbers (0.0/1.0 read from CSV)."""
    if pd.api.types.is_float_dtype(values.dtype) and len(values):
        numbers = values.to_numpy(dtype=np.float64)
        if np.all(np.isfinite(numbers)) and np.all(numbers == np.round(numbers)):
            return values.astype("int64")
    return values


class ColumnLabeler(Labeler):
    """The label is the column ``column`` of the events of ``stream``; a missing value waits.

    The label column is moved to ``label`` (and removed from the features). A label becomes
    known ``delay`` after its event (0 by default), so a replay sees labels only once they
    would really have arrived.
    """

    def __init__(self, column: str, *, stream: str = "events", delay: timedelta = timedelta(0)) -> None:
        if not isinstance(column, str) or not column:
            raise ConfigError(f"column: expected a column name, got {column!r}")
        if not isinstance(delay, timedelta) or delay < timedelta(0):
            raise ConfigError(f"delay: expected a duration >= 0, got {delay!r}")
        self._column = column
        self._stream = check_stream_name(stream)
        self._delay = delay

    @property
    def delay(self) -> timedelta:
        """How long after its event a label arrives."""
        return self._delay

    def label(
        self,
        store: EventStore,
        start: datetime | None,
        end: datetime | None,
        *,
        now: datetime,
    ) -> LabeledWindow:
        events = store.window(self._stream, start, end)
        if self._column not in events.columns:
            if len(events):
                raise DataError(
                    f"{self._stream}: label column {self._column!r} is missing; "
                    f"got columns {list(events.columns)}"
                )
            events = events.assign(**{self._column: pd.Series(dtype="float64")})
        cutoff = pd.Timestamp(utc(now)) - self._delay
        known = events[self._column].notna() & (events[EVENT_TIME] <= cutoff)
        frame = events.loc[known].reset_index(drop=True)
        labels = tidy_labels(frame[self._column])
        frame = frame.drop(columns=[self._column])
        frame[LABEL] = labels
        frame[LABEL_TIME] = frame[EVENT_TIME] + self._delay
        frame[LABEL_SOURCE] = pd.Series("column", index=frame.index, dtype="str")
        stats = {
            "rows": len(frame),
            "pending": int((~known).sum()),
            "late_updates": 0,
            "too_late": 0,
            "duplicates": 0,
            **delay_stats(np.full(len(frame), self._delay.total_seconds())),
        }
        return LabeledWindow(frame=frame, stats=stats)


__all__ = ["ColumnLabeler", "tidy_labels"]
