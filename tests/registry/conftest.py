"""Fixtures of the registry tests: a registry on each real database, model folders, lineage."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lifelong.clock import ManualClock
from lifelong.registry import (
    ArtifactStore,
    Iteration,
    Lineage,
    Registry,
    SnapshotRef,
    TrainingMode,
)

START = datetime(2024, 3, 4, 12, 0, tzinfo=UTC)
MakeLineage = Callable[..., Lineage]


def make_lineage(
    parent: str | None = None,
    *,
    iteration: Iteration = Iteration.DATA,
    mode: TrainingMode | None = None,
    snapshot: SnapshotRef | None = None,
) -> Lineage:
    """A lineage with plausible provenance; stateful when it has a parent."""
    if mode is None:
        mode = TrainingMode.STATEFUL if parent is not None else TrainingMode.STATELESS
    return Lineage(
        parent=parent,
        mode=mode,
        iteration=iteration,
        snapshot=snapshot,
        config_hash="cfg-0123",
        code_version="0.1.0",
        git_commit="a" * 40,
        library_versions={"scikit-learn": "1.9.1"},
        trigger={"kind": "volume", "rows": 1000},
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    (folder / "state").mkdir(parents=True)
    (folder / "model.json").write_text('{"kind": "test"}')
    (folder / "state" / "weights.bin").write_bytes(bytes(range(256)) * 4)
    return folder


@pytest.fixture
def registry(database_url: str, tmp_path: Path, clock: ManualClock) -> Iterator[Registry]:
    """A registry on SQLite and on PostgreSQL (``database_url`` is parametrized)."""
    reg = Registry(database_url, ArtifactStore(tmp_path / "artifacts"), clock=clock)
    try:
        yield reg
    finally:
        reg.close()


@pytest.fixture
def sqlite_registry(sqlite_url: str, tmp_path: Path, clock: ManualClock) -> Iterator[Registry]:
    """A registry on SQLite only, for tests that are about the Python side."""
    reg = Registry(sqlite_url, ArtifactStore(tmp_path / "artifacts"), clock=clock)
    try:
        yield reg
    finally:
        reg.close()


@pytest.fixture
def lineage() -> MakeLineage:
    """Factory: ``lineage(parent, iteration=..., mode=..., snapshot=...)``."""
    return make_lineage
