"""Helpers of the event tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

EventsFactory = Callable[..., pd.DataFrame]


def make_events(ids: Sequence[str], times: Sequence[str], **columns: Sequence[Any]) -> pd.DataFrame:
    """A batch with ``event_id``, ``event_time`` (UTC) and payload columns."""
    frame = pd.DataFrame(
        {
            "event_id": pd.Series(list(ids), dtype="str"),
            "event_time": pd.to_datetime(list(times), utc=True, format="ISO8601"),
        }
    )
    for name, values in columns.items():
        frame[name] = list(values)
    return frame
