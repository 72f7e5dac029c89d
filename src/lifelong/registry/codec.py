"""Conversion between registry records and the JSON / columns the database stores.

Examples
--------
>>> from datetime import datetime, timezone
>>> start = datetime(2024, 1, 1, tzinfo=timezone.utc)
>>> ref = SnapshotRef("file:///s.parquet", "ab" * 32, 10, start=start)
>>> snapshot_from_json(snapshot_to_json(ref)) == ref
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any

from lifelong.clock import utc
from lifelong.errors import ConfigError, RegistryError, ValidationError
from lifelong.registry.names import check_text, format_version, parse_version
from lifelong.registry.types import (
    AliasChange,
    Iteration,
    Lineage,
    ModelVersion,
    SnapshotRef,
    TrainingMode,
)


def to_json(value: Any, *, field: str) -> Any:
    """``value`` as plain JSON: datetimes become ISO strings, NumPy values Python ones.

    Non-finite floats (NaN, infinities) are stored as ``None``; other types raise
    ValidationError naming ``field``.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, datetime):
        return utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return to_json(value.value, field=field)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError(
                    f"{field}: expected string keys, got {key!r:.80} ({type(key).__name__})",
                    field=field,
                )
            out[key] = to_json(item, field=f"{field}.{key}")
        return out
    if isinstance(value, (list, tuple)):
        return [to_json(item, field=f"{field}[{i}]") for i, item in enumerate(value)]
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return to_json(value.tolist(), field=field)
    raise ValidationError(
        f"{field}: expected JSON-compatible values, got {type(value).__name__}", field=field
    )


def _when(value: Any, *, field: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return utc(value)
    try:
        return utc(datetime.fromisoformat(str(value)))
    except ValueError as error:
        raise RegistryError(f"{field}: expected an ISO timestamp, got {value!r:.80}") from error


def snapshot_to_json(snapshot: SnapshotRef | None) -> dict[str, Any] | None:
    """The JSON form of a snapshot reference (datetimes as ISO strings, UTC)."""
    if snapshot is None:
        return None
    if not isinstance(snapshot, SnapshotRef):
        raise ConfigError(
            f"lineage.snapshot: expected a SnapshotRef or None, got {type(snapshot).__name__}"
        )
    if isinstance(snapshot.rows, bool) or not isinstance(snapshot.rows, int) or snapshot.rows < 0:
        raise ConfigError(f"lineage.snapshot.rows: expected an integer >= 0, got {snapshot.rows!r}")
    return {
        "uri": check_text(snapshot.uri, field="lineage.snapshot.uri", max_length=4096),
        "sha256": check_text(snapshot.sha256, field="lineage.snapshot.sha256", max_length=128),
        "rows": snapshot.rows,
        "start": None if snapshot.start is None else utc(snapshot.start).isoformat(),
        "end": None if snapshot.end is None else utc(snapshot.end).isoformat(),
        "source": snapshot.source,
        "stats": to_json(snapshot.stats, field="lineage.snapshot.stats"),
    }


def snapshot_from_json(data: Mapping[str, Any] | None) -> SnapshotRef | None:
    """Inverse of :func:`snapshot_to_json`."""
    if data is None:
        return None
    return SnapshotRef(
        uri=str(data["uri"]),
        sha256=str(data["sha256"]),
        rows=int(data["rows"]),
        start=_when(data.get("start"), field="snapshot.start"),
        end=_when(data.get("end"), field="snapshot.end"),
        source=data.get("source"),
        stats=dict(data.get("stats") or {}),
    )


def lineage_columns(lineage: Lineage) -> dict[str, Any]:
    """The ``versions`` columns that hold ``lineage``, validated."""
    if not isinstance(lineage, Lineage):
        raise ConfigError(f"lineage: expected a Lineage, got {type(lineage).__name__}")
    try:
        mode = TrainingMode(lineage.mode)
    except ValueError as error:
        raise ConfigError(
            f"lineage.mode: expected 'stateless' or 'stateful', got {lineage.mode!r}"
        ) from error
    try:
        iteration = Iteration(lineage.iteration)
    except ValueError as error:
        raise ConfigError(
            f"lineage.iteration: expected 'data' or 'model', got {lineage.iteration!r}"
        ) from error
    if lineage.parent is not None:
        parse_version(lineage.parent, field="lineage.parent")
    if lineage.git_commit is not None:
        check_text(lineage.git_commit, field="lineage.git_commit", max_length=64)
    library_versions = to_json(lineage.library_versions, field="lineage.library_versions")
    if not isinstance(library_versions, dict):
        raise ConfigError(
            "lineage.library_versions: expected a mapping of name to version, "
            f"got {type(lineage.library_versions).__name__}"
        )
    trigger = to_json(lineage.trigger, field="lineage.trigger")
    if not isinstance(trigger, dict):
        raise ConfigError(
            f"lineage.trigger: expected a mapping, got {type(lineage.trigger).__name__}"
        )
    return {
        "parent": lineage.parent,
        "mode": mode.value,
        "iteration": iteration.value,
        "snapshot": snapshot_to_json(lineage.snapshot),
        "config_hash": check_text(lineage.config_hash, field="lineage.config_hash", max_length=128),
        "code_version": check_text(
            lineage.code_version, field="lineage.code_version", max_length=64
        ),
        "git_commit": lineage.git_commit,
        "library_versions": library_versions,
        "trigger": trigger,
    }


def version_from_row(row: Any) -> ModelVersion:
    """A :class:`ModelVersion` from a row of the ``versions`` table."""
    lineage = Lineage(
        parent=row.parent,
        mode=TrainingMode(row.mode),
        iteration=Iteration(row.iteration),
        snapshot=snapshot_from_json(row.snapshot),
        config_hash=row.config_hash,
        code_version=row.code_version,
        git_commit=row.git_commit,
        library_versions=dict(row.library_versions or {}),
        trigger=dict(row.trigger or {}),
    )
    return ModelVersion(
        model=row.model,
        version=format_version(row.major, row.minor),
        major=row.major,
        minor=row.minor,
        lineage=lineage,
        artifact_sha256=row.artifact_sha256,
        learner_kind=row.learner_kind,
        created_at=row.created_at,
        metrics=dict(row.metrics or {}),
        evaluation=dict(row.evaluation or {}),
        status=row.status,
    )


def change_from_row(row: Any) -> AliasChange:
    """An :class:`AliasChange` from a row of the ``alias_history`` table."""
    return AliasChange(
        model=row.model,
        alias=row.alias,
        from_version=row.from_version,
        to_version=row.to_version,
        actor=row.actor,
        reason=row.reason,
        at=row.at,
    )


def mapping(value: object, *, field: str) -> dict[str, Any]:
    """``value`` as a JSON object; ValidationError unless it is a mapping."""
    if not isinstance(value, Mapping):
        raise ValidationError(
            f"{field}: expected a mapping, got {type(value).__name__}", field=field
        )
    result: dict[str, Any] = to_json(value, field=field)
    return result


__all__ = [
    "change_from_row",
    "lineage_columns",
    "mapping",
    "snapshot_from_json",
    "snapshot_to_json",
    "to_json",
    "version_from_row",
]
