"""Served performance: the prediction log joined with its labels, per day and per version.

The labeler of the pipeline (the natural-label join for click-like feedback) turns logged
predictions into labeled rows; each day then gets the share of predictions that were right
(accuracy) and the pipeline's metric computed from the logged scores, for all traffic and for
each version that answered.

Examples
--------
>>> import tempfile
>>> from datetime import datetime, timedelta, timezone
>>> import pandas as pd
>>> from lifelong.events import ParquetEventStore
>>> from lifelong.labels import NaturalLabelJoin
>>> store = ParquetEventStore(tempfile.mkdtemp())
>>> at = pd.to_datetime(["2024-01-01 00:00"] * 4, utc=True)
>>> _ = store.append("predictions", pd.DataFrame({
...     "event_id": ["a", "b", "c", "d"], "event_time": at, "request_id": ["a", "b", "c", "d"],
...     "model": "ctr", "model_version": "1.0", "prediction": [1, 0, 0, 1],
...     "score": [0.9, 0.2, 0.4, 0.6]}))
>>> _ = store.append("feedback", pd.DataFrame({
...     "event_id": ["f1", "f2"], "event_time": pd.to_datetime(["2024-01-01 00:05"] * 2, utc=True),
...     "request_id": ["a", "c"]}))
>>> join = NaturalLabelJoin(key="request_id", window=timedelta(minutes=30))
>>> served = served_daily(store, join, "ctr", metric="roc_auc", min_rows=1,
...                       now=datetime(2024, 1, 2, tzinfo=timezone.utc))
>>> [(row.day, row.version, row.rows, row.accuracy) for row in served.rows]
[('2024-01-01', 'all', 4, 0.5), ('2024-01-01', '1.0', 4, 0.5)]
>>> store.close()
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from lifelong.errors import ConfigError
from lifelong.evaluation import get_metric
from lifelong.events.store import EventStore
from lifelong.labels import Labeler
from lifelong.labels.base import LABEL

ALL = "all"
_NEEDED = ("model_version", "prediction", "score", "event_time", LABEL)


@dataclass(frozen=True)
class ServedDay:
    """One day of served predictions of one version (``'all'`` for all traffic)."""

    day: str
    version: str
    rows: int
    accuracy: float | None
    metric: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ServedMetrics:
    """Daily served performance, or why it could not be measured (``note``)."""

    metric: str
    rows: list[ServedDay] = field(default_factory=list)
    note: str = ""
    labeled: int = 0
    pending: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "rows": [row.to_dict() for row in self.rows],
            "note": self.note,
            "labeled": self.labeled,
            "pending": self.pending,
        }


def latest_event_time(store: EventStore) -> datetime | None:
    """The newest event time over every stream of ``store`` (the present of a replay)."""
    latest: pd.Timestamp | None = None
    for stream in store.streams():
        frame = store.window(stream, columns=["event_time"])
        if len(frame):
            value = frame["event_time"].max()
            latest = value if latest is None or value > latest else latest
    return None if latest is None else latest.to_pydatetime()


def _accuracy(predicted: pd.Series, label: pd.Series) -> float | None:
    if not len(label):
        return None
    left = pd.to_numeric(predicted, errors="coerce")
    right = pd.to_numeric(label, errors="coerce")
    if left.notna().all() and right.notna().all():
        hits = left.to_numpy(dtype=np.float64) == right.to_numpy(dtype=np.float64)
    else:
        hits = predicted.astype("str").to_numpy() == label.astype("str").to_numpy()
    return round(float(hits.mean()), 4)


def _metric(name: str, label: pd.Series, score: pd.Series, min_rows: int) -> float | None:
    """The metric from positive-class scores, for binary 0/1 labels with both classes present."""
    y = pd.to_numeric(label, errors="coerce").to_numpy(dtype=np.float64)
    p = score.to_numpy(dtype=np.float64)
    keep = ~np.isnan(p) & ~np.isnan(y)
    y, p = y[keep], p[keep]
    if len(y) < min_rows or set(np.unique(y)) != {0.0, 1.0}:
        return None
    value = get_metric(name).compute(
        y.astype(np.int64), np.column_stack([1 - p, p]), np.array([0, 1])
    )
    return None if np.isnan(value) else round(float(value), 4)


def served_daily(
    store: EventStore,
    labeler: Labeler,
    model: str,
    *,
    metric: str,
    now: datetime | None = None,
    days: int = 60,
    min_rows: int = 20,
) -> ServedMetrics:
    """Accuracy and ``metric`` of the predictions served for ``model``, per UTC day.

    Parameters
    ----------
    store, labeler
        The pipeline's event store and labeler (it reads the prediction log).
    model
        Rows of other models in the log are left out.
    metric
        Name of the metric computed from logged scores (``roc_auc``...).
    now
        What is known: labels after it are not (default: the newest stored event).
    days
        How many days back from ``now`` are read.
    min_rows
        Fewest labeled rows for a day's metric (fewer gives None).
    """
    get_metric(metric)
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ConfigError(f"days: expected an integer >= 1, got {days!r}")
    now = now if now is not None else latest_event_time(store)
    if now is None:
        return ServedMetrics(metric, note="the event store is empty: nothing was served yet")
    reference = now + timedelta(microseconds=1)
    labeled = labeler.label(store, now - timedelta(days=days), reference, now=reference)
    frame = labeled.frame
    pending = int(labeled.stats.get("pending") or 0)
    missing = [name for name in _NEEDED if name not in frame.columns]
    if missing:
        note = (
            "labeled rows do not carry the prediction log's columns "
            f"{missing}: served accuracy needs labels joined to predictions (natural labels)"
        )
        return ServedMetrics(
            metric, note=note if len(frame) else "no labeled predictions yet", pending=pending
        )
    if "model" in frame.columns:
        frame = frame[frame["model"].astype("str") == model]
    frame = frame[frame["model_version"].notna()]
    if not len(frame):
        return ServedMetrics(
            metric, note=f"no labeled predictions of {model!r} yet", pending=pending
        )
    frame = frame.assign(
        _day=frame["event_time"].dt.strftime("%Y-%m-%d"),
        _version=frame["model_version"].astype("str"),
    )
    rows: list[ServedDay] = []
    for day, group in frame.groupby("_day", sort=True):
        whole = ServedDay(
            str(day),
            ALL,
            len(group),
            _accuracy(group["prediction"], group[LABEL]),
            _metric(metric, group[LABEL], group["score"], min_rows),
        )
        rows.append(whole)
        parts = sorted(group.groupby("_version"), key=lambda item: version_key(str(item[0])))
        for version, part in parts:
            if len(parts) == 1:  # one version answered the whole day: its numbers are the day's
                rows.append(
                    ServedDay(str(day), str(version), whole.rows, whole.accuracy, whole.metric)
                )
                continue
            accuracy = _accuracy(part["prediction"], part[LABEL])
            rows.append(
                ServedDay(
                    str(day),
                    str(version),
                    len(part),
                    accuracy,
                    _metric(metric, part[LABEL], part["score"], min_rows),
                )
            )
    return ServedMetrics(metric, rows=rows, labeled=len(frame), pending=pending)


def version_key(version: str) -> tuple[int, int]:
    """Sort key of ``'MAJOR.MINOR'`` strings (others last)."""
    major, _, minor = version.partition(".")
    return (int(major), int(minor)) if major.isdigit() and minor.isdigit() else (1 << 30, 0)


def traffic_shares(
    store: EventStore, model: str, *, stream: str = "predictions", hours: int = 24
) -> list[dict[str, Any]]:
    """Which version answered what share of ``model``'s logged predictions in the last ``hours`` of data.

    Examples
    --------
    >>> import tempfile
    >>> from lifelong.events import ParquetEventStore
    >>> store = ParquetEventStore(tempfile.mkdtemp())
    >>> traffic_shares(store, "ctr")
    []
    >>> store.close()
    """
    if isinstance(hours, bool) or not isinstance(hours, int) or hours < 1:
        raise ConfigError(f"hours: expected an integer >= 1, got {hours!r}")
    if stream not in store.streams():
        return []
    log = store.window(stream, columns=["event_time", "model", "model_version"])
    log = log[(log["model"].astype("str") == model) & log["model_version"].notna()]
    if not len(log):
        return []
    end = log["event_time"].max()
    recent = log[log["event_time"] > end - pd.Timedelta(hours=hours)]
    counts = recent["model_version"].astype("str").value_counts()
    total = int(counts.sum())
    return [
        {
            "version": str(version),
            "predictions": int(count),
            "share": round(int(count) / total, 4),
            "since": (end - pd.Timedelta(hours=hours)).isoformat(),
            "until": end.isoformat(),
        }
        for version, count in sorted(counts.items(), key=lambda item: version_key(str(item[0])))
    ]


__all__ = [
    "ALL",
    "ServedDay",
    "ServedMetrics",
    "latest_event_time",
    "served_daily",
    "traffic_shares",
    "version_key",
]
