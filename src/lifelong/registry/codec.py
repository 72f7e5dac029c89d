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

import gc
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from enum import Enum
from typing import Any, Final, TypeVar

import orjson
import sqlalchemy as sa

from lifelong.clock import utc
from lifelong.errors import ConfigError, RegistryError, ValidationError
from lifelong.registry.names import check_text, parse_version
from lifelong.registry.types import (
    AliasChange,
    Iteration,
    Lineage,
    ModelVersion,
    SnapshotRef,
    TrainingMode,
)

T = TypeVar("T")


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


RECORD_COLUMNS: Final = (
    "model",
    "major",
    "minor",
    "parent",
    "mode",
    "iteration",
    "snapshot",
    "config_hash",
    "code_version",
    "git_commit",
    "library_versions",
    "trigger",
    "metrics",
    "evaluation",
    "status",
    "artifact_sha256",
    "learner_kind",
    "created_at",
)
"""The ``versions`` columns a :class:`ModelVersion` is built from, in the order
:func:`version_from_values` takes them."""

_UNDECODED: Final = frozenset(
    {"snapshot", "library_versions", "trigger", "metrics", "evaluation", "created_at"}
)
_MODES: Final = {mode.value: mode for mode in TrainingMode}
_ITERATIONS: Final = {iteration.value: iteration for iteration in Iteration}


def record_columns(table: sa.Table) -> list[sa.ColumnElement[Any]]:
    """The :data:`RECORD_COLUMNS` of ``table`` for a select whose rows feed
    :func:`version_from_values`.

    JSON and timestamp columns are typed as plain text, so SQLAlchemy's per-value result
    processors do not run: on SQLite the driver returns the stored text, which
    :func:`version_from_values` decodes in one C call each (``orjson.loads``,
    ``datetime.fromisoformat``); PostgreSQL's driver returns them already decoded.
    """
    return [
        sa.type_coerce(table.c[name], sa.Text).label(name) if name in _UNDECODED else table.c[name]
        for name in RECORD_COLUMNS
    ]


def _decoded(value: Any) -> Any:
    if isinstance(value, (str, bytes)):
        return {} if value == "{}" else orjson.loads(value)
    return value


def _timestamp(value: Any) -> datetime:
    if isinstance(value, str):
        try:  # SQLite keeps UTC without a zone; parsing it with the zone is one C call
            return datetime.fromisoformat(value + "+00:00")
        except ValueError:
            value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise RegistryError(f"created_at: expected a stored timestamp, got {value!r:.80}")
    return utc(value)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while many records are built, if it runs.

    Building 10,000 versions allocates about 100,000 container objects, which sets off
    repeated full collections over the whole heap: measured on a 10,000-deep lineage, they
    doubled the time. The records hold no reference cycles, so nothing is left for the
    collector; reference counting frees them as usual. The previous state is restored.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _record(cls: type[T], values: dict[str, Any]) -> T:
    """An instance of the frozen dataclass ``cls`` with ``values``, without running ``__init__``.

    For records read back from the database, whose values were validated when they were
    written: the generated ``__init__`` (one ``object.__setattr__`` per field) is most of the
    cost of building a long lineage. The types define no ``__post_init__``; a test checks
    that these records equal the ones their constructors build.
    """
    record = object.__new__(cls)
    record.__dict__.update(values)
    return record


def version_from_values(
    model: str,
    major: int,
    minor: int,
    parent: str | None,
    mode: str,
    iteration: str,
    snapshot: Any,
    config_hash: str,
    code_version: str,
    git_commit: str | None,
    library_versions: Any,
    trigger: Any,
    metrics: Any,
    evaluation: Any,
    status: str,
    artifact_sha256: str,
    learner_kind: str,
    created_at: Any,
) -> ModelVersion:
    """A :class:`ModelVersion` from the values of :data:`RECORD_COLUMNS`, in that order.

    JSON columns may come as text (decoded here) or already decoded; ``created_at`` as ISO
    text (taken as UTC when it has no zone) or a datetime.
    """
    try:
        mode_value = _MODES[mode]
        iteration_value = _ITERATIONS[iteration]
    except KeyError as error:
        raise RegistryError(
            f"version {model} {major}.{minor}: stored mode {mode!r} or iteration "
            f"{iteration!r} is not one of {sorted(_MODES)} / {sorted(_ITERATIONS)}"
        ) from error
    snapshot = _decoded(snapshot)
    lineage = _record(
        Lineage,
        {
            "parent": parent,
            "mode": mode_value,
            "iteration": iteration_value,
            "snapshot": None if snapshot is None else snapshot_from_json(snapshot),
            "config_hash": config_hash,
            "code_version": code_version,
            "git_commit": git_commit,
            "library_versions": _decoded(library_versions) or {},
            "trigger": _decoded(trigger) or {},
        },
    )
    return _record(
        ModelVersion,
        {
            "model": model,
            "version": f"{major}.{minor}",
            "major": major,
            "minor": minor,
            "lineage": lineage,
            "artifact_sha256": artifact_sha256,
            "learner_kind": learner_kind,
            "created_at": _timestamp(created_at),
            "metrics": _decoded(metrics) or {},
            "evaluation": _decoded(evaluation) or {},
            "status": status,
        },
    )


def version_from_row(row: Any) -> ModelVersion:
    """A :class:`ModelVersion` from a row that has the :data:`RECORD_COLUMNS` (by name)."""
    values = row._mapping
    return version_from_values(*(values[name] for name in RECORD_COLUMNS))


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
    "collector_paused",
    "lineage_columns",
    "RECORD_COLUMNS",
    "mapping",
    "record_columns",
    "snapshot_from_json",
    "snapshot_to_json",
    "to_json",
    "version_from_row",
    "version_from_values",
]
