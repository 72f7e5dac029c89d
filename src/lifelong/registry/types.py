"""Records kept by the registry: versions, lineage, snapshots and alias changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any


class TrainingMode(str, Enum):
    """How a version was trained."""

    STATELESS = "stateless"
    STATEFUL = "stateful"


class Iteration(str, Enum):
    """Data iteration bumps MINOR from the parent; model iteration starts a new MAJOR."""

    DATA = "data"
    MODEL = "model"


@dataclass(frozen=True)
class SnapshotRef:
    """The exact training data of a version: an immutable, content-hashed Parquet file."""

    uri: str
    sha256: str
    rows: int
    start: datetime | None = None
    end: datetime | None = None
    source: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Lineage:
    """Where a version came from."""

    parent: str | None
    mode: TrainingMode
    iteration: Iteration
    snapshot: SnapshotRef | None
    config_hash: str
    code_version: str
    git_commit: str | None
    library_versions: dict[str, str]
    trigger: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelVersion:
    """A registered version of a model and everything recorded about it."""

    model: str
    version: str
    major: int
    minor: int
    lineage: Lineage
    artifact_sha256: str
    learner_kind: str
    created_at: datetime
    metrics: dict[str, Any] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)
    status: str = "registered"

    @property
    def parent(self) -> str | None:
        return self.lineage.parent


@dataclass(frozen=True)
class AliasChange:
    """One move of an alias: from which version to which, by whom, when and why."""

    model: str
    alias: str
    from_version: str | None
    to_version: str | None
    actor: str
    reason: str
    at: datetime


__all__ = ["AliasChange", "Iteration", "Lineage", "ModelVersion", "SnapshotRef", "TrainingMode"]
