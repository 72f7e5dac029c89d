"""Retention: delete raw event partitions older than a horizon, and say what that costs.

With stateful training the raw events need not be kept forever: each version's snapshot
(the exact rows it trained on, content-addressed, with summary statistics) stays in the
artifact store and the replay reservoir keeps a sample of older rows. What is lost is the
ability to *rebuild* a snapshot from raw events. :func:`apply_retention` therefore

1. plans which whole date partitions (UTC days) of each stream end at or before
   ``now - older_than``;
2. records on every version whose snapshot window starts before the end of the deleted
   days ``reproducible_from_raw: false`` with the reason (in its metrics, through
   :meth:`Registry.update_metrics`) — first, so the registry never claims more than is true;
3. deletes each partition atomically: under the stream's write lock and exclusive read lock
   the folder is renamed out of the listing (readers see all of a day or none of it), then
   removed. Folders left by an interrupted run are removed by the next one.

Deleted events are forgotten by the store's de-duplication too: an event of a deleted day
delivered again is stored again (sources rarely redeliver events older than the horizon).

Examples
--------
>>> import tempfile
>>> from datetime import datetime, timedelta, timezone
>>> from pathlib import Path
>>> import pandas as pd
>>> from lifelong.events import ParquetEventStore
>>> from lifelong.registry import Registry
>>> home = Path(tempfile.mkdtemp())
>>> store = ParquetEventStore(home / "events")
>>> _ = store.append("events", pd.DataFrame({
...     "event_id": ["old", "new"],
...     "event_time": pd.to_datetime(["2024-01-01 10:00", "2024-03-30 10:00"], utc=True)}))
>>> with Registry.open(home) as registry:
...     report = apply_retention(store, registry, timedelta(days=30),
...                              now=datetime(2024, 4, 1, tzinfo=timezone.utc))
>>> report.deleted, store.window("events")["event_id"].tolist()
({'events': ['2024-01-01']}, ['new'])
>>> store.close()
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pyarrow.parquet as pq

from lifelong.clock import utc
from lifelong.durations import format_duration
from lifelong.errors import ConfigError
from lifelong.events.normalize import check_stream_name
from lifelong.events.parquet_store import ParquetEventStore
from lifelong.events.partitions import READ_LOCK, WRITE_LOCK, file_lock, list_files, list_partitions
from lifelong.registry import Registry
from lifelong.registry.types import ModelVersion

RETIRED_PREFIX = ".retired-"
FLAG = "reproducible_from_raw"
DETAIL = "raw_data_retention"


@dataclass(frozen=True)
class RetentionReport:
    """What a retention run deleted (or would delete, in a dry run) and which versions it marked."""

    cutoff: datetime
    deleted: dict[str, list[str]] = field(default_factory=dict)
    rows_deleted: int = 0
    marked: list[str] = field(default_factory=list)
    dry_run: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "cutoff": self.cutoff.isoformat(),
            "deleted": self.deleted,
            "rows_deleted": self.rows_deleted,
            "marked": self.marked,
            "dry_run": self.dry_run,
        }


def _day_end(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)


def plan_retention(
    store: ParquetEventStore, cutoff: datetime, streams: Sequence[str] | None = None
) -> dict[str, dict[date, Path]]:
    """Partitions whose whole day ends at or before ``cutoff``, per stream."""
    names = list(streams) if streams is not None else store.streams()
    plan: dict[str, dict[date, Path]] = {}
    for stream in names:
        directory = store.root / check_stream_name(stream)
        old = {
            day: path for day, path in list_partitions(directory).items() if _day_end(day) <= cutoff
        }
        if old:
            plan[stream] = dict(sorted(old.items()))
    return plan


def _rows(partition: Path) -> int:
    return sum(pq.ParquetFile(path).metadata.num_rows for path in list_files(partition))


def _affected(version: ModelVersion, deleted_until: datetime) -> bool:
    snapshot = version.lineage.snapshot
    if snapshot is None or version.metrics.get(FLAG) is False:
        return False
    return snapshot.start is None or utc(snapshot.start) < deleted_until


def _mark_versions(
    registry: Registry,
    deleted_until: datetime,
    streams: list[str],
    *,
    now: datetime,
    older_than: timedelta,
    dry_run: bool,
) -> list[str]:
    marked: list[str] = []
    for model in registry.models():
        for version in registry.versions(model):
            if not _affected(version, deleted_until):
                continue
            marked.append(f"{model}:{version.version}")
            if dry_run:
                continue
            snapshot = version.lineage.snapshot
            sha = snapshot.sha256 if snapshot is not None else ""
            reason = (
                f"raw events of {', '.join(streams)} before {deleted_until.date().isoformat()} were deleted "
                f"by retention (older than {format_duration(older_than)}); the snapshot {sha[:12]} (rows and "
                "stats) is kept, but it can no longer be rebuilt from raw events"
            )
            registry.update_metrics(
                model,
                version.version,
                {
                    FLAG: False,
                    DETAIL: {
                        "deleted_before": deleted_until,
                        "streams": streams,
                        "at": now,
                        "reason": reason,
                    },
                },
            )
    return marked


def _remove_leftovers(directory: Path) -> None:
    for entry in os.scandir(directory):
        if entry.name.startswith(RETIRED_PREFIX) and entry.is_dir():
            shutil.rmtree(entry.path, ignore_errors=True)


def _delete(directory: Path, partitions: dict[date, Path]) -> None:
    """Take the partitions out of the listing under the stream's locks, then remove them."""
    retired: list[Path] = []
    with file_lock(directory / WRITE_LOCK), file_lock(directory / READ_LOCK):
        for path in partitions.values():
            target = directory / f"{RETIRED_PREFIX}{path.name}-{uuid.uuid4().hex[:8]}"
            os.replace(path, target)
            retired.append(target)
    for path in retired:
        shutil.rmtree(path)


def apply_retention(
    store: ParquetEventStore,
    registry: Registry,
    older_than: timedelta,
    *,
    now: datetime,
    streams: Sequence[str] | None = None,
    dry_run: bool = False,
) -> RetentionReport:
    """Delete raw event partitions older than ``older_than`` and mark the versions that relied on them.

    Parameters
    ----------
    store
        The Parquet event store.
    registry
        Where versions are marked ``reproducible_from_raw: false``.
    older_than
        The horizon: a day's partition goes once the whole day is older than ``now - older_than``.
    now
        The present (a replay's data time, or the wall clock).
    streams
        Streams to apply it to (default: every stream of the store).
    dry_run
        Report what would happen; change nothing.
    """
    if not isinstance(older_than, timedelta) or older_than <= timedelta(0):
        raise ConfigError(f"older_than: expected a duration > 0, got {older_than!r}")
    if not isinstance(store, ParquetEventStore):
        raise ConfigError(f"store: expected a ParquetEventStore, got {type(store).__name__}")
    cutoff = utc(now) - older_than
    plan = plan_retention(store, cutoff, streams)
    deleted = {stream: [day.isoformat() for day in days] for stream, days in plan.items()}
    rows = sum(_rows(path) for days in plan.values() for path in days.values())
    if not plan:
        return RetentionReport(cutoff=cutoff, dry_run=dry_run)
    deleted_until = max(_day_end(day) for days in plan.values() for day in days)
    marked = _mark_versions(
        registry, deleted_until, sorted(plan), now=utc(now), older_than=older_than, dry_run=dry_run
    )
    if not dry_run:
        for stream, days in plan.items():
            directory = store.root / stream
            _remove_leftovers(directory)
            _delete(directory, days)
    return RetentionReport(
        cutoff=cutoff, deleted=deleted, rows_deleted=rows, marked=marked, dry_run=dry_run
    )


__all__ = ["DETAIL", "FLAG", "RetentionReport", "apply_retention", "plan_retention"]
