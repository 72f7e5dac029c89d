"""A profiled stream loaded as matrices for the offline experiments (freshness, iteration).

The experiments train and score the same feature pipeline and learners as the loop
(:class:`lifelong.features.FeaturePipeline`, :mod:`lifelong.learners`) on slices of the stream
by event time, without the event store: they ask "what if we had trained on this window",
many times over, and need no serving or registry.

Examples
--------
>>> import tempfile, pathlib
>>> from lifelong.experiments.profile import profile_stream
>>> path = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
>>> _ = path.write_text("ts,x,y\\n2024-01-01,1.5,0\\n2024-01-02,0.5,1\\n2024-01-03,0.7,1\\n")
>>> data = load_stream(profile_stream(path, timestamp="ts", target="y", initial_fraction=1.0))
>>> data.X.shape, data.y.tolist(), data.rows_between(data.times[1], None)
((3, 1), [0, 1, 1], slice(1, 3, None))
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from lifelong.events.batch import EVENT_TIME
from lifelong.experiments.context import StreamContext
from lifelong.experiments.profile import StreamProfile
from lifelong.features import FeaturePipeline


@dataclass(frozen=True)
class StreamData:
    """Event times, the feature matrix and the labels of a stream, in time order."""

    times: pd.DatetimeIndex
    X: NDArray[np.float64]
    y: NDArray[Any]
    features: FeaturePipeline

    def rows_between(self, start: datetime | pd.Timestamp | None, end: datetime | pd.Timestamp | None) -> slice:
        """The rows with ``start <= event_time < end`` (either bound may be open)."""
        first = 0 if start is None else int(self.times.searchsorted(pd.Timestamp(start), side="left"))
        last = len(self.times) if end is None else int(self.times.searchsorted(pd.Timestamp(end), side="left"))
        return slice(first, max(first, last))


def load_stream(profile: StreamProfile, *, context: bool = False, delay: pd.Timedelta | None = None) -> StreamData:
    """Read the profiled CSV; with ``context``, add the point-in-time context features.

    Rows without a label are dropped (they can neither train nor score).
    """
    frame = pd.read_csv(profile.path, low_memory=False)
    frame[EVENT_TIME] = pd.to_datetime(frame[profile.timestamp], utc=True, format="mixed")
    numeric = list(profile.numeric)
    categorical = {name: tuple(values) for name, values in profile.categorical.items()}
    if context:
        enricher = StreamContext(
            numeric=profile.numeric,
            target=profile.target,
            classes=profile.classes,
            delay=delay.to_pytimedelta() if delay is not None else pd.Timedelta(0).to_pytimedelta(),
        )
        frame = pd.concat([enricher.enrich(frame.iloc[i : i + 1000]) for i in range(0, len(frame), 1000)], ignore_index=True)
        extra_numeric, extra_categorical = enricher.columns()
        numeric += list(extra_numeric)
        categorical.update(extra_categorical)
    frame = frame[frame[profile.target].notna()].reset_index(drop=True)
    features = FeaturePipeline(numeric=tuple(numeric), categorical=categorical, missing="impute", unseen="ignore")
    for name in categorical:
        frame[name] = frame[name].where(frame[name].isna(), frame[name].astype(str))
    labels = frame[profile.target]
    if pd.api.types.is_float_dtype(labels) and bool((labels == labels.round()).all()):
        labels = labels.astype("int64")
    return StreamData(
        times=pd.DatetimeIndex(frame[EVENT_TIME]),
        X=features.transform(frame),
        y=labels.to_numpy(),
        features=features,
    )


__all__ = ["StreamData", "load_stream"]
