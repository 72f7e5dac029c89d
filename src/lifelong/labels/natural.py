"""Natural labels: join the prediction log with feedback events (a click, a purchase).

A prediction made at ``t`` is positive when feedback with its key arrives within
``[t, t + window]``, negative once ``now >= t + window`` without feedback, and pending before.
Feedback after the window but within ``allowed_lateness`` turns the negative into a positive
(a late update); later feedback is counted as too late and ignored.

Examples
--------
>>> import tempfile
>>> from datetime import datetime, timedelta, timezone
>>> import pandas as pd
>>> from lifelong.events import ParquetEventStore
>>> store = ParquetEventStore(tempfile.mkdtemp())
>>> at = pd.to_datetime(["2024-01-01 00:00", "2024-01-01 00:00", "2024-01-01 00:50"], utc=True)
>>> _ = store.append("predictions", pd.DataFrame({
...     "event_id": ["p1", "p2", "p3"], "event_time": at, "request_id": ["r1", "r2", "r3"],
...     "x": [0.1, 0.2, 0.3], "prediction": [1, 0, 1], "score": [0.9, 0.2, 0.7],
... }))
>>> _ = store.append("feedback", pd.DataFrame({
...     "event_id": ["f1"], "event_time": pd.to_datetime(["2024-01-01 00:05"], utc=True),
...     "request_id": ["r1"],
... }))
>>> join = NaturalLabelJoin(key="request_id", window=timedelta(minutes=30))
>>> labeled = join.label(store, None, None, now=datetime(2024, 1, 1, 1, 0, tzinfo=timezone.utc))
>>> labeled.frame[["request_id", "label"]].to_dict("records")
[{'request_id': 'r1', 'label': 1}, {'request_id': 'r2', 'label': 0}]
>>> labeled.stats["pending"], labeled.stats["label_delay_p50_s"]
(1, 300.0)
>>> store.close()
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from lifelong.clock import utc
from lifelong.errors import ConfigError, DataError
from lifelong.events.batch import EVENT_ID, EVENT_TIME
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

_MICROSECOND = timedelta(microseconds=1)


def _first_feedback(
    times: pd.Series, keys: pd.Series, feedback: pd.DataFrame, key: str, horizon: pd.Series
) -> tuple[pd.Series, pd.Series]:
    """Per prediction: time of the first feedback at or after it, and how many arrived by ``horizon``."""
    left = pd.DataFrame({"_row": np.arange(len(times)), "_key": keys, "_t": times, "_h": horizon})
    right = pd.DataFrame({"_key": feedback[key].astype("str"), "_f": feedback[EVENT_TIME]})
    pairs = left.merge(right, on="_key", how="inner")
    pairs = pairs[pairs["_f"] >= pairs["_t"]]
    pairs = pairs.assign(_in=(pairs["_f"] <= pairs["_h"]).astype("int64"))
    grouped = pairs.groupby("_row").agg(first=("_f", "min"), within=("_in", "sum"))
    index = pd.RangeIndex(len(times))
    first = grouped["first"].reindex(index)
    within = grouped["within"].reindex(index, fill_value=0).astype("int64")
    return first, within


class NaturalLabelJoin(Labeler):
    """Labels from feedback events that follow predictions, matched by ``key``.

    Parameters
    ----------
    predictions, feedback
        Streams of the prediction log (written by the server: ``event_id``, ``event_time``,
        ``request_id``, ``model``, ``model_version``, the inputs, ``prediction``, ``score``)
        and of the feedback events.
    key
        Column present in both streams that ties feedback to a prediction (``request_id``).
    window
        How long after a prediction feedback makes it positive.
    allowed_lateness
        How much longer feedback still turns a negative into a positive.
    positive, negative
        The label values.

    Notes
    -----
    Each prediction takes the first feedback at or after its time; more feedback for it
    within the deadline is counted in ``duplicates`` (redelivered events with new ids).
    Feedback with a time after ``now`` is not known yet and is ignored. Predictions without
    a key cannot be matched: they are left out and counted in ``missing_key``.
    """

    def __init__(
        self,
        *,
        predictions: str = "predictions",
        feedback: str = "feedback",
        key: str,
        window: timedelta,
        allowed_lateness: timedelta = timedelta(0),
        positive: Any = 1,
        negative: Any = 0,
    ) -> None:
        self._predictions = check_stream_name(predictions)
        self._feedback = check_stream_name(feedback)
        if not isinstance(key, str) or not key:
            raise ConfigError(f"key: expected a column name, got {key!r}")
        if not isinstance(window, timedelta) or window <= timedelta(0):
            raise ConfigError(f"window: expected a timedelta > 0, got {window!r}")
        if not isinstance(allowed_lateness, timedelta) or allowed_lateness < timedelta(0):
            raise ConfigError(
                f"allowed_lateness: expected a timedelta >= 0, got {allowed_lateness!r}"
            )
        if positive == negative:
            raise ConfigError(
                f"negative: expected a value other than positive ({positive!r}), got {negative!r}"
            )
        self._key = key
        self._window = window
        self._lateness = allowed_lateness
        self._positive = positive
        self._negative = negative

    def label(
        self,
        store: EventStore,
        start: datetime | None,
        end: datetime | None,
        *,
        now: datetime,
    ) -> LabeledWindow:
        reference = pd.Timestamp(utc(now))
        log = store.window(self._predictions, start, end)
        if len(log) and self._key not in log.columns:
            raise DataError(
                f"{self._predictions}: key column {self._key!r} is missing; got columns {list(log.columns)}"
            )
        feedback = store.window(
            self._feedback,
            start,
            reference + _MICROSECOND,
            columns=[EVENT_ID, EVENT_TIME, self._key],
        )
        feedback = feedback[feedback[self._key].notna()]
        if self._key not in log.columns:
            log = log.assign(**{self._key: pd.Series(dtype="str")})
        has_key = log[self._key].notna().to_numpy()
        missing_key = int((~has_key).sum())
        log = log.loc[has_key].reset_index(drop=True)

        times = log[EVENT_TIME]
        closes = times + self._window
        deadline = closes + self._lateness
        first, within = _first_feedback(
            times, log[self._key].astype("str"), feedback, self._key, deadline
        )
        found = first.notna().to_numpy()
        on_time = found & (first <= closes).to_numpy()
        late = found & ~on_time & (first <= deadline).to_numpy()
        too_late = found & (first > deadline).to_numpy()
        positive = on_time | late
        closed = (closes <= reference).to_numpy()
        labeled = positive | closed

        frame = log.loc[labeled].reset_index(drop=True)
        positive_rows = positive[labeled]
        frame[LABEL] = np.where(positive_rows, self._positive, self._negative)
        frame[LABEL_TIME] = (
            first[labeled].where(positive_rows, closes[labeled]).reset_index(drop=True)
        )
        frame[LABEL_SOURCE] = pd.Series("natural", index=frame.index, dtype="str")
        delays = (first[positive] - times[positive]).dt.total_seconds()
        stats = {
            "rows": len(frame),
            "pending": int((~labeled).sum()),
            "positives": int(positive.sum()),
            "negatives": int((labeled & ~positive).sum()),
            "late_updates": int(late.sum()),
            "too_late": int(too_late.sum()),
            "duplicates": int(np.maximum(within.to_numpy() - 1, 0).sum()),
            "missing_key": missing_key,
            **delay_stats(delays.to_numpy()),
        }
        return LabeledWindow(frame=frame, stats=stats)


__all__ = ["NaturalLabelJoin"]
