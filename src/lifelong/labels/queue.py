"""The labeling queue: which rows annotators should label first, exported as CSV or JSON.

Two priorities:

- ``uncertainty``: rows the champion is least sure about first. The score is half the margin
  between the two most probable classes; for two classes it is ``|p - 0.5|``.
- ``drift``: rows farthest from the champion's training snapshot first. The score is the
  root mean square of the z-scores of the numeric features against the snapshot's recorded
  mean and standard deviation (categorical features are not scored).

The file has the row key (``event_id``, or the natural-label key), ``rank`` (1 first), the
score, ``event_time``, the feature columns and an empty ``label`` column to fill in;
:func:`lifelong.labels.answers.import_answers` reads the answers back.

Examples
--------
>>> import numpy as np
>>> import pandas as pd
>>> rows = pd.DataFrame({"event_id": ["a", "b", "c"], "x": [0.0, 3.0, -1.0]})
>>> proba = np.array([[0.9, 0.1], [0.45, 0.55], [0.3, 0.7]])
>>> uncertainty_scores(proba).round(2).tolist()
[0.4, 0.05, 0.2]
>>> queue = build_queue(rows, uncertainty_scores(proba), by="uncertainty", key="event_id", columns=["x"])
>>> queue[["event_id", "rank"]].to_dict("records")
[{'event_id': 'b', 'rank': 1}, {'event_id': 'c', 'rank': 2}, {'event_id': 'a', 'rank': 3}]
>>> drift_scores(rows, {"x": {"mean": 0.0, "std": 1.0}}, ["x"]).tolist()
[0.0, 3.0, 1.0]
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from lifelong.clock import utc
from lifelong.errors import ConfigError, DataError
from lifelong.events.batch import EVENT_TIME
from lifelong.events.payload import rows_to_json
from lifelong.events.store import EventStore
from lifelong.labels.base import Labeler
from lifelong.labels.human import HUMAN_STREAM, labeled_keys

Priority = Literal["uncertainty", "drift"]
FileFormat = Literal["csv", "json"]
RANK = "rank"
ANSWER = "label"


def uncertainty_scores(proba: NDArray[np.float64]) -> NDArray[np.float64]:
    """Half the margin between the two most probable classes (``|p - 0.5|`` for two classes)."""
    matrix = np.asarray(proba, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] < 2:
        raise DataError(f"probabilities: expected shape (rows, classes >= 2), got {matrix.shape}")
    top = np.sort(matrix, axis=1)
    return np.asarray((top[:, -1] - top[:, -2]) / 2.0, dtype=np.float64)


def drift_scores(
    rows: pd.DataFrame, stats: Mapping[str, Any], columns: Sequence[str]
) -> NDArray[np.float64]:
    """Root mean square z-score of ``columns`` against the snapshot's mean and std."""
    scored = [
        name
        for name in columns
        if isinstance(stats.get(name), Mapping) and {"mean", "std"} <= set(stats[name])
    ]
    if not scored:
        raise DataError(
            f"snapshot stats: expected mean and std of at least one numeric feature of {list(columns)}, "
            f"got stats for {sorted(stats)}"
        )
    z = np.empty((len(rows), len(scored)), dtype=np.float64)
    for position, name in enumerate(scored):
        values = pd.to_numeric(rows[name], errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        std = float(stats[name]["std"])
        z[:, position] = (values - float(stats[name]["mean"])) / (std if std > 0 else 1.0)
    squares = np.where(np.isnan(z), 0.0, z * z)
    counted = np.maximum((~np.isnan(z)).sum(axis=1), 1)
    return np.asarray(np.sqrt(squares.sum(axis=1) / counted), dtype=np.float64)


def build_queue(
    rows: pd.DataFrame,
    scores: NDArray[np.float64],
    *,
    by: Priority,
    key: str,
    columns: Sequence[str],
    limit: int | None = None,
) -> pd.DataFrame:
    """The rows in priority order (uncertainty: smallest first; drift: largest first)."""
    if by not in ("uncertainty", "drift"):
        raise ConfigError(f"by: expected 'uncertainty' or 'drift', got {by!r}")
    if limit is not None and limit <= 0:
        raise ConfigError(f"limit: expected a number of rows > 0, got {limit}")
    if key not in rows.columns:
        raise DataError(
            f"{key}: expected the key column in the rows, got columns {list(rows.columns)}"
        )
    if len(scores) != len(rows):
        raise DataError(f"scores: expected one per row ({len(rows)}), got {len(scores)}")
    order = np.argsort(scores if by == "uncertainty" else -np.asarray(scores), kind="stable")
    if limit is not None:
        order = order[:limit]
    kept = [key] + [c for c in (EVENT_TIME, *columns) if c in rows.columns and c != key]
    queue = rows.iloc[order][kept].reset_index(drop=True)
    queue.insert(1, RANK, np.arange(1, len(queue) + 1))
    queue.insert(2, by, np.asarray(scores, dtype=np.float64)[order])
    queue[ANSWER] = ""
    return queue


def candidate_rows(
    store: EventStore,
    *,
    rows_stream: str,
    key: str,
    start: datetime | None,
    end: datetime | None,
    now: datetime,
    human_stream: str = HUMAN_STREAM,
    labeler: Labeler | None = None,
) -> pd.DataFrame:
    """Rows of ``rows_stream`` in the window that no human labeled yet.

    With ``labeler``, rows it labels are left out too (only unlabeled rows are queued).
    """
    rows = store.window(rows_stream, start, end)
    if rows.empty:
        return rows
    if key not in rows.columns:
        raise DataError(
            f"{rows_stream}: key column {key!r} is missing; got columns {list(rows.columns)}"
        )
    rows = rows[rows[EVENT_TIME] <= pd.Timestamp(utc(now))]
    keys = rows[key].astype("str")
    done = labeled_keys(store, stream=human_stream, now=now)
    if labeler is not None:
        labeled = labeler.label(store, start, end, now=now).frame
        if key in labeled.columns:
            done |= set(labeled[key].astype("str"))
    return rows[~keys.isin(done) & rows[key].notna()].reset_index(drop=True)


def queue_format(path: Path, format: FileFormat | None = None) -> FileFormat:
    """The format asked for, else the one the file name's suffix says."""
    if format is not None:
        if format not in ("csv", "json"):
            raise ConfigError(f"format: expected 'csv' or 'json', got {format!r}")
        return format
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix == ".json":
        return "json"
    raise ConfigError(f"path: expected a .csv or .json file name (or a format), got {str(path)!r}")


def write_queue(queue: pd.DataFrame, path: Path, *, format: FileFormat | None = None) -> Path:
    """Write the queue as CSV, or JSON (a list of objects), atomically; return the path."""
    chosen = queue_format(path, format)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    if chosen == "csv":
        queue.to_csv(temporary, index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ")
    else:
        records = [json.loads(text) for text in rows_to_json(queue)]
        temporary.write_text(json.dumps(records, indent=1), encoding="utf-8")
    temporary.replace(path)
    return path


__all__ = [
    "ANSWER",
    "RANK",
    "FileFormat",
    "Priority",
    "build_queue",
    "candidate_rows",
    "drift_scores",
    "queue_format",
    "uncertainty_scores",
    "write_queue",
]
