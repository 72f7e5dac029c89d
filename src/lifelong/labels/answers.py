"""Import annotators' answers (CSV or JSON) into the ``human_labels`` stream, validated.

An answer file has the row key column (as exported by the labeling queue: ``event_id`` or
the natural-label key), ``label``, and optionally ``annotator`` and ``labeled_at`` (ISO
time; the import time when absent). Every row is checked before anything is written: an
unknown key, a label outside the classes, a missing annotator, a bad or future time, or the
same annotator answering one key twice is a DataError naming the row (1-based), its key and
the field. Blank labels are skipped (an annotator may pass on a row) and counted.

Each answer becomes an event whose id hashes (key, annotator, label, time), so importing the
same file twice stores nothing new.

Examples
--------
>>> import tempfile
>>> from datetime import datetime, timezone
>>> import pandas as pd
>>> from lifelong.events import ParquetEventStore
>>> store = ParquetEventStore(tempfile.mkdtemp())
>>> _ = store.append("events", pd.DataFrame({
...     "event_id": ["a", "b"], "event_time": pd.to_datetime(["2024-01-01"] * 2, utc=True)}))
>>> answers = pd.DataFrame({"event_id": ["a", "b"], "label": ["1", ""]})
>>> now = datetime(2024, 1, 5, tzinfo=timezone.utc)
>>> import_answers(store, answers, rows_stream="events", key="event_id", annotator="ana", now=now)
ImportReport(written=1, duplicates=0, skipped=1, annotators=('ana',))
>>> bad = pd.DataFrame({"event_id": ["zz"], "label": ["1"]})
>>> import_answers(store, bad, rows_stream="events", key="event_id", annotator="ana", now=now)
Traceback (most recent call last):
...
lifelong.errors.DataError: answers: 1 invalid row(s), nothing imported: row 1 (event_id='zz'): event_id: expected a key of a row of stream 'events', got 'zz'
>>> store.close()
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from lifelong.clock import utc
from lifelong.errors import ConfigError, DataError, ValidationError
from lifelong.events.batch import EVENT_ID, EVENT_TIME
from lifelong.events.normalize import check_stream_name
from lifelong.events.store import EventStore
from lifelong.labels.human import HUMAN_STREAM
from lifelong.labels.queue import FileFormat, queue_format

LabelValue = str | int | bool
MAX_ERRORS_SHOWN = 20
MAX_ANNOTATOR_LENGTH = 200


@dataclass(frozen=True)
class ImportReport:
    """What an import stored: new answers, answers already stored, blank rows skipped."""

    written: int
    duplicates: int
    skipped: int
    annotators: tuple[str, ...]


def read_answers(path: Path, *, format: FileFormat | None = None) -> pd.DataFrame:
    """An answer file as a frame of text cells (CSV, or JSON: a list of objects)."""
    chosen = queue_format(path, format)
    try:
        if chosen == "csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False)
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"answers: cannot read {str(path)!r}: no such file") from exc
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(
            f"answers: expected a readable {chosen.upper()} file at {str(path)!r}, got {exc}"
        ) from exc
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise DataError(
            f"answers: expected a JSON list of objects in {str(path)!r}, got {type(data).__name__}"
        )
    frame = pd.DataFrame.from_records(data)
    return (
        frame.map(lambda value: "" if value is None else str(value)).astype("str")
        if len(frame)
        else frame
    )


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value).strip()


def validate_answers(
    answers: pd.DataFrame,
    *,
    key: str,
    known_keys: set[str],
    classes: Sequence[LabelValue],
    annotator: str | None,
    now: datetime,
    rows_stream: str = "events",
) -> tuple[pd.DataFrame, int]:
    """The valid answers (key, label text, annotator, labeled_at) and the blank rows skipped."""
    if key not in answers.columns or "label" not in answers.columns:
        raise DataError(
            f"answers: expected columns {key!r} and 'label', got {[str(c) for c in answers.columns]}"
        )
    texts = {str(value): value for value in classes}
    reference = pd.Timestamp(utc(now))
    problems: list[str] = []
    invalid_rows: set[int] = set()
    kept: list[dict[str, Any]] = []
    first_row: dict[tuple[str, str], int] = {}
    skipped = 0
    for position, record in enumerate(answers.to_dict("records"), start=1):
        row_key, label = _text(record.get(key)), _text(record.get("label"))
        where = f"row {position} ({key}={row_key!r})"
        if not label:
            skipped += 1
            continue
        who = _text(record.get("annotator")) or (annotator or "")
        when_text = _text(record.get("labeled_at"))
        if row_key not in known_keys:
            problems.append(
                f"{where}: {key}: expected a key of a row of stream {rows_stream!r}, got {row_key!r}"
            )
        if label not in texts:
            problems.append(f"{where}: label: expected one of {list(classes)}, got {label!r}")
        if not who or len(who) > MAX_ANNOTATOR_LENGTH:
            problems.append(
                f"{where}: annotator: expected a name (a column, or --annotator) of at most "
                f"{MAX_ANNOTATOR_LENGTH} characters, got {who!r:.60}"
            )
        when = reference
        if when_text:
            try:
                when = pd.Timestamp(when_text)
                when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
            except ValueError:
                problems.append(f"{where}: labeled_at: expected an ISO time, got {when_text!r}")
                when = reference
            if when > reference:
                problems.append(
                    f"{where}: labeled_at: expected a time at or before {reference.isoformat()}, got {when_text!r}"
                )
        earlier = first_row.setdefault((row_key, who), position)
        if earlier != position:
            problems.append(
                f"{where}: annotator: expected one answer of {who!r} per key, got another (row {earlier})"
            )
        if problems and problems[-1].startswith(where + ":"):
            invalid_rows.add(position)
        kept.append({"key": row_key, "label": label, "annotator": who, "labeled_at": when})
    if problems:
        shown = "; ".join(problems[:MAX_ERRORS_SHOWN])
        more = (
            f"; and {len(problems) - MAX_ERRORS_SHOWN} more"
            if len(problems) > MAX_ERRORS_SHOWN
            else ""
        )
        raise DataError(
            f"answers: {len(invalid_rows)} invalid row(s), nothing imported: {shown}{more}"
        )
    frame = pd.DataFrame.from_records(kept, columns=["key", "label", "annotator", "labeled_at"])
    return frame, skipped


def _event_id(key: str, annotator: str, label: str, when: pd.Timestamp) -> str:
    text = f"{key}\x1f{annotator}\x1f{label}\x1f{when.isoformat()}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def import_answers(
    store: EventStore,
    answers: pd.DataFrame | Path,
    *,
    rows_stream: str,
    key: str,
    classes: Sequence[LabelValue] = (0, 1),
    annotator: str | None = None,
    now: datetime,
    stream: str = HUMAN_STREAM,
    source: str | None = None,
) -> ImportReport:
    """Validate every answer, then store them all in ``stream`` (nothing on any error)."""
    check_stream_name(stream)
    origin = source or (answers.name if isinstance(answers, Path) else "frame")
    frame = read_answers(answers) if isinstance(answers, Path) else answers
    try:
        keys = store.window(check_stream_name(rows_stream), columns=[key])
    except ValidationError as exc:
        raise DataError(f"{rows_stream}: expected a key column {key!r}: {exc}") from exc
    known = set(keys[key].dropna().astype("str")) if key in keys.columns else set()
    valid, skipped = validate_answers(
        frame,
        key=key,
        known_keys=known,
        classes=classes,
        annotator=annotator,
        now=now,
        rows_stream=rows_stream,
    )
    if valid.empty:
        return ImportReport(written=0, duplicates=0, skipped=skipped, annotators=())
    events = pd.DataFrame(
        {
            EVENT_ID: [
                _event_id(k, a, label, t)
                for k, a, label, t in zip(
                    valid["key"],
                    valid["annotator"],
                    valid["label"],
                    valid["labeled_at"],
                    strict=True,
                )
            ],
            EVENT_TIME: pd.to_datetime(valid["labeled_at"], utc=True),
            "key": valid["key"].astype("str"),
            "label": valid["label"].astype("str"),
            "annotator": valid["annotator"].astype("str"),
            "source": pd.Series(origin, index=valid.index, dtype="str"),
        }
    )
    result = store.append(stream, events)
    return ImportReport(
        written=result.written,
        duplicates=result.duplicates,
        skipped=skipped,
        annotators=tuple(sorted(set(valid["annotator"]))),
    )


__all__ = ["ImportReport", "import_answers", "read_answers", "validate_answers"]
