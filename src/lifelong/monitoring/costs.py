"""What updates cost and what they gained, read from the registry.

Each version the loop trained on top of a champion records its training CPU seconds
(``metrics.train_cpu_s``) and its evaluation report (the challenger's and the champion's metric
on the same held-out rows). Its *gain* is how much better the challenger scored, and the time
since its parent was trained is how long the parent had been getting stale. The pooled gain per
hour of staleness predicts what an update now would gain.

Examples
--------
>>> from datetime import datetime, timedelta, timezone
>>> t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
>>> history = CostHistory(at=t0 + timedelta(hours=30), last_trained_at=t0 + timedelta(hours=24), records=(
...     UpdateRecord("1.1", t0 + timedelta(hours=12), t0, 4.0, 0.012),
...     UpdateRecord("1.2", t0 + timedelta(hours=24), t0 + timedelta(hours=12), 6.0, 0.012)))
>>> round(history.gain_per_hour, 6), history.mean_cpu_s, round(history.expected_gain, 6)
(0.001, 5.0, 0.006)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lifelong.registry.types import ModelVersion


@dataclass(frozen=True)
class UpdateRecord:
    """One recorded update: when, how long its parent had served, its CPU cost and its gain."""

    version: str
    at: datetime
    parent_at: datetime
    train_cpu_s: float
    gain: float

    @property
    def hours(self) -> float:
        return max((self.at - self.parent_at).total_seconds() / 3600.0, 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "at": self.at.isoformat(),
            "parent_at": self.parent_at.isoformat(),
            "train_cpu_s": self.train_cpu_s,
            "gain": self.gain,
            "hours": self.hours,
        }


@dataclass(frozen=True)
class CostHistory:
    """Recent updates, and what they say about an update at ``at``."""

    at: datetime
    last_trained_at: datetime | None
    records: tuple[UpdateRecord, ...]

    @property
    def gain_per_hour(self) -> float:
        hours = sum(record.hours for record in self.records)
        return sum(record.gain for record in self.records) / hours if hours > 0 else 0.0

    @property
    def staleness_hours(self) -> float:
        if self.last_trained_at is None:
            return 0.0
        return max((self.at - self.last_trained_at).total_seconds() / 3600.0, 0.0)

    @property
    def expected_gain(self) -> float:
        """Metric gain expected from updating now (metric units; positive is better)."""
        return self.gain_per_hour * self.staleness_hours

    @property
    def mean_cpu_s(self) -> float:
        return sum(r.train_cpu_s for r in self.records) / len(self.records) if self.records else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "last_trained_at": self.last_trained_at.isoformat() if self.last_trained_at else None,
            "records": [r.to_dict() for r in self.records],
            "gain_per_hour": self.gain_per_hour,
            "staleness_hours": self.staleness_hours,
            "expected_gain": self.expected_gain,
            "mean_cpu_s": self.mean_cpu_s,
        }


def _at(version: ModelVersion) -> datetime | None:
    value = version.lineage.trigger.get("at")
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def update_records(versions: list[ModelVersion]) -> list[UpdateRecord]:
    """Every version with a parent, a recorded CPU cost and a comparison against its champion, in time order."""
    by_version = {v.version: v for v in versions}
    records = []
    for version in versions:
        parent = by_version.get(version.parent) if version.parent else None
        at, parent_at = _at(version), _at(parent) if parent is not None else None
        report = version.evaluation
        challenger, champion = _number(report.get("challenger")), _number(report.get("champion"))
        cpu = _number(version.metrics.get("train_cpu_s"))
        if at is None or parent_at is None or challenger is None or champion is None or cpu is None:
            continue
        sign = 1.0 if report.get("higher_is_better", True) else -1.0
        records.append(UpdateRecord(version.version, at, parent_at, cpu, sign * (challenger - champion)))
    return sorted(records, key=lambda r: r.at)


def cost_history(versions: list[ModelVersion], *, now: datetime, keep: int = 10) -> CostHistory:
    """The last ``keep`` update records, and when the latest training happened."""
    times = [t for t in (_at(v) for v in versions) if t is not None and t <= now]
    records = [r for r in update_records(versions) if r.at <= now][-keep:]
    return CostHistory(now, max(times) if times else None, tuple(records))


__all__ = ["CostHistory", "UpdateRecord", "cost_history", "update_records"]
