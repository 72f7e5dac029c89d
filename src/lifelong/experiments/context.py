"""Point-in-time context features of a stream: the last label known at serving time, and recent inputs.

A production system that predicts row ``i`` of a stream knows, at that moment, the rows that
arrived before it and the labels that have arrived so far. :class:`StreamContext` computes,
for each row as it arrives, features from exactly that knowledge and nothing later:

- ``ctx_last_label``: the most recent label that had *arrived* before the row's event time.
  A label of row ``j`` arrives at ``event_time_j + delay`` (the configured label delay); it is
  known to row ``i`` when ``j < i`` and ``event_time_j + delay < event_time_i`` (strictly: a
  label landing at the very instant of the request is not assumed to be there). Before any
  label has arrived the feature is missing. For a binary target it is numeric (the index of the
  class, 0 or 1); otherwise it is a categorical feature over the classes.
- ``ctx_<column>_diff``: for each numeric input, the change since the previous row.
- ``ctx_<column>_dev``: for each numeric input, its deviation from the mean of the last
  ``span`` rows (this one included): where the value stands against its recent level.

The same object is fed every batch in arrival order (batches may be of any size: the features
of a row do not depend on how the stream was cut), so the features that serve a row and the
features stored for training it are identical. It keeps only ``span`` rows of history and the
labels still in flight.

Examples
--------
>>> import pandas as pd
>>> from datetime import timedelta
>>> context = StreamContext(numeric=("x",), target="y", classes=(0, 1), delay=timedelta(hours=1), span=2)
>>> frame = pd.DataFrame({
...     "event_time": pd.to_datetime(["2024-01-01 00:00", "2024-01-01 01:00", "2024-01-01 03:00"], utc=True),
...     "x": [1.0, 3.0, 2.0],
...     "y": [1, 0, 1],
... })
>>> out = context.enrich(frame)
>>> out["ctx_last_label"].tolist()  # row 2 is at 01:00: row 1's label lands at 01:00, not before
[nan, nan, 0.0]
>>> out["ctx_x_diff"].tolist(), out["ctx_x_dev"].tolist()
([nan, 2.0, -1.0], [0.0, 1.0, -0.5])
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from lifelong.errors import ConfigError, DataError
from lifelong.experiments.arrivals import LabelArrivals, event_times
from lifelong.events.batch import EVENT_TIME

PREFIX = "ctx_"
LAST_LABEL = f"{PREFIX}last_label"


class StreamContext:
    """Streaming, point-in-time-correct context features (see the module docstring).

    Parameters
    ----------
    numeric
        Numeric input columns that get ``_diff`` and ``_dev`` features.
    target
        The label column (read only from rows whose label has arrived).
    classes
        The target's classes: two make ``ctx_last_label`` numeric, more make it categorical.
    delay
        How long after its event a label arrives.
    span
        Rows in the recent mean of ``_dev``.
    """

    def __init__(
        self,
        *,
        numeric: Sequence[str],
        target: str,
        classes: Sequence[Any],
        delay: timedelta = timedelta(0),
        span: int = 50,
    ) -> None:
        if isinstance(span, bool) or not isinstance(span, int) or span < 2:
            raise ConfigError(f"span: expected an integer >= 2, got {span!r}")
        if not isinstance(delay, timedelta) or delay < timedelta(0):
            raise ConfigError(f"delay: expected a duration >= 0, got {delay!r}")
        if len(classes) < 2:
            raise ConfigError(f"classes: expected at least two classes, got {list(classes)}")
        self.numeric = tuple(numeric)
        self.target = target
        self.classes = tuple(classes)
        self.delay = delay
        self.span = span
        self._index = {str(value): position for position, value in enumerate(self.classes)}
        self._recent = np.full((span - 1, len(self.numeric)), np.nan)
        self._arrivals = LabelArrivals(delay, dtype=object)
        self._last: Any = None

    @property
    def binary(self) -> bool:
        return len(self.classes) == 2

    def columns(self) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
        """The added features: (numeric names, categorical names with their categories)."""
        numeric = [f"{PREFIX}{name}_{kind}" for name in self.numeric for kind in ("diff", "dev")]
        if self.binary:
            return (LAST_LABEL, *numeric), {}
        return tuple(numeric), {LAST_LABEL: tuple(str(value) for value in self.classes)}

    def enrich(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` (time-ordered rows that follow the previous batch) with the context columns added."""
        if EVENT_TIME not in frame.columns:
            raise DataError(f"{EVENT_TIME}: expected a column of event times, got columns {list(frame.columns)}")
        added: dict[str, Any] = {}
        if len(frame):
            added.update(self._inputs(frame))
            added.update(self._labels(frame))
        else:
            added.update({name: pd.Series(dtype="float64") for name in self.columns()[0]})
            added.update({name: pd.Series(dtype="str") for name in self.columns()[1]})
        # one concatenation, not one insertion per column
        replaced = [name for name in added if name in frame.columns]
        kept = frame.drop(columns=replaced) if replaced else frame
        return pd.concat([kept, pd.DataFrame(added, index=frame.index)], axis=1)

    def _inputs(self, frame: pd.DataFrame) -> dict[str, Any]:
        if not self.numeric:
            return {}
        current = np.column_stack(
            [pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype="float64", na_value=np.nan) for name in self.numeric]
        )
        # the span - 1 rows before this batch (missing before the stream's start), then the batch
        joined = np.concatenate([self._recent, current])
        # each row's mean over its own window, summed alone: the same bits whatever the batch cut
        windows = np.ascontiguousarray(sliding_window_view(joined, self.span, axis=0))
        present = ~np.isnan(windows)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(present, windows, 0.0).sum(axis=-1) / present.sum(axis=-1)
        diff = current - joined[self.span - 2 : -1]
        dev = current - mean
        self._recent = joined[-(self.span - 1) :]
        added: dict[str, Any] = {}
        for position, name in enumerate(self.numeric):
            added[f"{PREFIX}{name}_diff"] = diff[:, position]
            added[f"{PREFIX}{name}_dev"] = dev[:, position]
        return added

    def _labels(self, frame: pd.DataFrame) -> dict[str, Any]:
        labels = frame[self.target].to_numpy(dtype=object) if self.target in frame.columns else np.full(len(frame), None, dtype=object)
        values, known, cut = self._arrivals.add(event_times(frame), labels)
        present = np.array([value is not None and not (isinstance(value, float) and np.isnan(value)) for value in values])
        positions = np.where(present, np.arange(len(values)), -1)
        latest = np.maximum.accumulate(positions) if len(positions) else positions
        result: list[Any] = []
        for cut in known:
            at = latest[cut - 1] if cut > 0 else -1
            value = values[at] if at >= 0 else self._last
            result.append(None if value is None else self._encode(value))
        if self.binary:
            added: Any = np.array([np.nan if value is None else value for value in result], dtype="float64")
        else:
            added = pd.Series(result, index=frame.index, dtype=object)
        # remember the latest label that had arrived by the last row
        arrived = latest[cut - 1] if cut > 0 else -1
        if arrived >= 0:
            self._last = values[arrived]
        return {LAST_LABEL: added}

    def _encode(self, value: Any) -> Any:
        key = str(value)
        if key not in self._index:
            try:  # 1.0 read back for the class 1
                key = str(int(float(value))) if float(value).is_integer() else key
            except (TypeError, ValueError):
                pass
        if self.binary:
            return float(self._index[key]) if key in self._index else None
        return key if key in self._index else None


__all__ = ["LAST_LABEL", "PREFIX", "StreamContext"]
