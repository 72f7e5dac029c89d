"""Human labels: answers of annotators, stored as events, overriding other labels by key.

The ``human_labels`` stream holds one event per answer (written by
:func:`lifelong.labels.queue.import_answers`): ``event_time`` is when it was given, ``key``
the labeled row's key (``event_id``, or the natural-label key such as ``request_id``),
``label`` the answer as text, ``annotator`` who gave it and ``source`` the imported file.

Per key, each annotator's latest answer counts; the label most annotators gave wins, a tie
goes to the most recent answer. :class:`HumanOverride` wraps any labeler: rows it labeled
whose key has a human answer take that answer (``label_source`` ``human``), and rows it left
unlabeled (pending natural labels, abstaining functions) are added when a human labeled them.

Examples
--------
>>> import tempfile
>>> from datetime import datetime, timezone
>>> import pandas as pd
>>> from lifelong.events import ParquetEventStore
>>> from lifelong.labels import ColumnLabeler
>>> store = ParquetEventStore(tempfile.mkdtemp())
>>> at = pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True)
>>> _ = store.append("events", pd.DataFrame({"event_id": ["a", "b"], "event_time": at,
...                                          "x": [0.5, 1.5], "y": [1.0, None]}))
>>> _ = store.append("human_labels", pd.DataFrame({
...     "event_id": ["h1", "h2"], "event_time": pd.to_datetime(["2024-01-03"] * 2, utc=True),
...     "key": ["a", "b"], "label": ["0", "1"], "annotator": ["ana", "ana"], "source": ["x.csv"] * 2,
... }))
>>> labeler = HumanOverride(ColumnLabeler("y"), rows_stream="events", key="event_id")
>>> window = labeler.label(store, None, None, now=datetime(2024, 2, 1, tzinfo=timezone.utc))
>>> window.frame[["event_id", "label", "label_source", "label_annotator"]].to_dict("records")
[{'event_id': 'a', 'label': 0, 'label_source': 'human', 'label_annotator': 'ana'}, {'event_id': 'b', 'label': 1, 'label_source': 'human', 'label_annotator': 'ana'}]
>>> window.stats["human_overrides"], window.stats["human_added"]
(1, 1)
>>> store.close()
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pandas as pd

from lifelong.clock import utc
from lifelong.errors import ConfigError, DataError
from lifelong.events.batch import EVENT_ID, EVENT_TIME
from lifelong.events.normalize import check_stream_name
from lifelong.events.store import EventStore
from lifelong.labels.base import LABEL, LABEL_SOURCE, LABEL_TIME, LabeledWindow, Labeler
from lifelong.labels.column import tidy_labels

LabelValue = str | int | bool
HUMAN_STREAM = "human_labels"
ANSWER_COLUMNS = (EVENT_ID, EVENT_TIME, "key", "label", "annotator", "source")
LABEL_ANNOTATOR = "label_annotator"
_MICROSECOND = timedelta(microseconds=1)


def decode_label(text: str, classes: Sequence[LabelValue]) -> LabelValue:
    """The class whose text is ``text`` (labels are stored as text); DataError otherwise."""
    for value in classes:
        if str(value) == text:
            return value
    raise DataError(f"label: expected one of {list(classes)}, got {text!r}")


def decided_labels(
    store: EventStore,
    *,
    stream: str = HUMAN_STREAM,
    classes: Sequence[LabelValue] = (0, 1),
    now: datetime,
) -> pd.DataFrame:
    """One decided human label per key, from the answers known at ``now``.

    Columns: ``key``, ``label`` (a class), ``label_time`` (the latest answer for that label),
    ``label_annotator`` (who gave it, comma-separated) and ``answers`` (annotators who answered).
    """
    answers = store.window(check_stream_name(stream), None, pd.Timestamp(utc(now)) + _MICROSECOND)
    columns = ["key", LABEL, LABEL_TIME, LABEL_ANNOTATOR, "answers"]
    if answers.empty or "key" not in answers.columns:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in columns})
    answers = answers.assign(key=answers["key"].astype("str"), label=answers["label"].astype("str"))
    latest = answers.sort_values([EVENT_TIME, EVENT_ID]).drop_duplicates(
        ["key", "annotator"], keep="last"
    )
    votes = (
        latest.groupby(["key", "label"], sort=True)
        .agg(
            count=("annotator", "size"),
            last=(EVENT_TIME, "max"),
            who=("annotator", lambda names: ",".join(sorted(names))),
        )
        .reset_index()
        .sort_values(["key", "count", "last"], ascending=[True, False, False])
    )
    answered = latest.groupby("key")["annotator"].size()
    chosen = votes.drop_duplicates("key", keep="first").reset_index(drop=True)
    return pd.DataFrame(
        {
            "key": chosen["key"],
            LABEL: [decode_label(text, classes) for text in chosen["label"]],
            LABEL_TIME: chosen["last"],
            LABEL_ANNOTATOR: chosen["who"].astype("str"),
            "answers": chosen["key"].map(answered).astype("int64"),
        }
    )


def labeled_keys(store: EventStore, *, stream: str = HUMAN_STREAM, now: datetime) -> set[str]:
    """Keys that have at least one human answer known at ``now``."""
    end = pd.Timestamp(utc(now)) + _MICROSECOND
    answers = store.window(check_stream_name(stream), None, end)
    if answers.empty or "key" not in answers.columns:
        return set()
    return set(answers["key"].astype("str"))


class HumanOverride(Labeler):
    """Wraps a labeler: human answers for a key replace its labels, or add the row.

    Parameters
    ----------
    base
        The labeler whose labels humans may override.
    rows_stream
        The stream of the rows ``base`` labels (to add rows it left unlabeled).
    key
        The column of those rows that answers refer to.
    stream
        The stream of human answers.
    classes
        The valid labels.
    """

    def __init__(
        self,
        base: Labeler,
        *,
        rows_stream: str,
        key: str = EVENT_ID,
        stream: str = HUMAN_STREAM,
        classes: Sequence[LabelValue] = (0, 1),
    ) -> None:
        if not isinstance(base, Labeler):
            raise ConfigError(f"base: expected a Labeler, got {type(base).__name__}")
        if not isinstance(key, str) or not key:
            raise ConfigError(f"key: expected a column name, got {key!r}")
        if len(classes) < 2 or len({str(c) for c in classes}) != len(classes):
            raise ConfigError(
                f"classes: expected at least two labels distinct as text, got {list(classes)}"
            )
        self.base = base
        self._rows_stream = check_stream_name(rows_stream)
        self._key = key
        self._stream = check_stream_name(stream)
        self._classes = tuple(classes)

    def label(
        self,
        store: EventStore,
        start: datetime | None,
        end: datetime | None,
        *,
        now: datetime,
    ) -> LabeledWindow:
        window = self.base.label(store, start, end, now=now)
        frame = window.frame.copy()
        if self._key not in frame.columns and not frame.empty:
            raise DataError(
                f"{self._rows_stream}: key column {self._key!r} is missing from the labeled rows; "
                f"got columns {list(frame.columns)}"
            )
        frame[LABEL_ANNOTATOR] = pd.Series(pd.NA, index=frame.index, dtype="str")
        decided = decided_labels(store, stream=self._stream, classes=self._classes, now=now)
        by_key = decided.set_index("key")
        keys = (
            frame[self._key].astype("str")
            if self._key in frame.columns
            else pd.Series([], dtype="str")
        )
        hit = keys.isin(by_key.index).to_numpy()
        previous = frame.loc[hit, LABEL].tolist()
        matched = by_key.loc[keys[hit].tolist()]
        agreed = sum(1 for old, new in zip(previous, matched[LABEL], strict=True) if old == new)
        labels = frame[LABEL].astype(object)
        labels.loc[hit] = matched[LABEL].to_numpy()
        frame[LABEL] = labels
        frame.loc[hit, LABEL_TIME] = matched[LABEL_TIME].to_numpy()
        frame.loc[hit, LABEL_SOURCE] = "human"
        frame.loc[hit, LABEL_ANNOTATOR] = matched[LABEL_ANNOTATOR].to_numpy()
        added = self._unlabeled_rows(store, start, end, now, frame, by_key, set(keys))
        if len(added):
            frame = pd.concat([frame, added], ignore_index=True)
            frame = frame.sort_values([EVENT_TIME, EVENT_ID], kind="stable").reset_index(drop=True)
        if len(frame):
            frame[LABEL] = tidy_labels(pd.Series(frame[LABEL].tolist(), index=frame.index))
        stats = {
            **window.stats,
            "rows": len(frame),
            "human_labels": int(hit.sum()) + len(added),
            "human_overrides": int(hit.sum()) - agreed,
            "human_agreed": agreed,
            "human_added": len(added),
        }
        return LabeledWindow(frame=frame, stats=stats)

    def _unlabeled_rows(
        self,
        store: EventStore,
        start: datetime | None,
        end: datetime | None,
        now: datetime,
        frame: pd.DataFrame,
        by_key: pd.DataFrame,
        labeled_keys: set[str],
    ) -> pd.DataFrame:
        """Rows of the window that ``base`` left unlabeled but a human labeled."""
        wanted = set(by_key.index) - labeled_keys
        if not wanted:
            return frame.iloc[:0]
        raw = store.window(self._rows_stream, start, end)
        if raw.empty:
            return frame.iloc[:0]
        if self._key not in raw.columns:
            raise DataError(
                f"{self._rows_stream}: key column {self._key!r} is missing; got columns {list(raw.columns)}"
            )
        raw_keys = raw[self._key].astype("str")
        take = raw_keys.isin(wanted) & (raw[EVENT_TIME] <= pd.Timestamp(utc(now)))
        rows = raw.loc[take].reset_index(drop=True)
        if rows.empty:
            return frame.iloc[:0]
        base_columns = [
            c for c in frame.columns if c not in (LABEL, LABEL_TIME, LABEL_SOURCE, LABEL_ANNOTATOR)
        ]
        if set(base_columns) - {EVENT_ID, EVENT_TIME}:
            rows = rows[[c for c in base_columns if c in rows.columns]]
        found = by_key.loc[rows[self._key].astype("str").tolist()]
        rows[LABEL] = found[LABEL].to_numpy()
        rows[LABEL_TIME] = found[LABEL_TIME].to_numpy()
        rows[LABEL_SOURCE] = "human"
        rows[LABEL_ANNOTATOR] = found[LABEL_ANNOTATOR].to_numpy()
        return rows


__all__ = [
    "ANSWER_COLUMNS",
    "HUMAN_STREAM",
    "LABEL_ANNOTATOR",
    "HumanOverride",
    "decided_labels",
    "decode_label",
    "labeled_keys",
]
