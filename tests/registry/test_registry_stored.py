"""Registering a folder already in the store: checked complete and durable, never copied."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from lifelong.clock import ManualClock
from lifelong.errors import ConfigError, IntegrityError, NotFoundError
from lifelong.registry import (
    ArtifactStore,
    Iteration,
    Lineage,
    Registry,
    SnapshotRef,
    TrainingMode,
)
from lifelong.registry import artifacts as artifacts_module

MakeLineage = Callable[..., Lineage]


def _blob_of(store: ArtifactStore, manifest_sha: str, name: str) -> Path:
    return store.path_of(store.read_manifest(manifest_sha)[name]["sha256"])


def _overwrite(path: Path, data: bytes) -> None:
    os.chmod(path, 0o644)
    path.write_bytes(data)


def test_a_stored_folder_registers_without_a_copy(
    registry: Registry, model_dir: Path, lineage: MakeLineage, tmp_path: Path
) -> None:
    sha = registry.artifacts.put_directory(model_dir)
    blobs = sorted(p for p in (registry.artifacts.root / "sha256").rglob("*") if p.is_file())
    first = registry.register("m", artifact_sha256=sha, lineage=lineage(None), learner_kind="k")
    # The same artifact as the next version of another lineage step, and of another model.
    second = registry.register(
        "m", artifact_sha256=sha, lineage=lineage(first.version), learner_kind="k"
    )
    other = registry.register("m2", artifact_sha256=sha, lineage=lineage(None), learner_kind="k")
    assert (first.version, second.version, other.version) == ("1.0", "1.1", "1.0")
    assert {first.artifact_sha256, second.artifact_sha256, other.artifact_sha256} == {sha}
    stored = sorted(p for p in (registry.artifacts.root / "sha256").rglob("*") if p.is_file())
    assert stored == blobs
    out = registry.load_artifact("m", "1.1", tmp_path / "out")
    assert (out / "state" / "weights.bin").read_bytes() == bytes(range(256)) * 4
    # Registering the folder itself gives the same digest: the two ways agree.
    again = registry.register("m", model_dir, lineage=lineage("1.1"), learner_kind="k")
    assert again.artifact_sha256 == sha


def test_exactly_one_artifact_source(
    sqlite_registry: Registry, model_dir: Path, lineage: MakeLineage
) -> None:
    sha = sqlite_registry.artifacts.put_directory(model_dir)
    with pytest.raises(ConfigError, match="expected exactly one of them, got both"):
        sqlite_registry.register(
            "m", model_dir, artifact_sha256=sha, lineage=lineage(None), learner_kind="k"
        )
    with pytest.raises(ConfigError, match="expected exactly one of them, got neither"):
        sqlite_registry.register("m", lineage=lineage(None), learner_kind="k")
    with pytest.raises(ConfigError, match="artifact_sha256: expected 64 lowercase hex"):
        sqlite_registry.register(
            "m", artifact_sha256="../" + sha[3:], lineage=lineage(None), learner_kind="k"
        )
    with pytest.raises(NotFoundError, match="no such blob"):
        sqlite_registry.register(
            "m", artifact_sha256="0" * 64, lineage=lineage(None), learner_kind="k"
        )
    assert sqlite_registry.versions("m") == []


def test_a_blob_that_is_not_a_manifest_is_refused(
    sqlite_registry: Registry, lineage: MakeLineage
) -> None:
    sha = sqlite_registry.artifacts.put_bytes(b"\x80\x04K\x01.")  # a pickle, not a manifest
    with pytest.raises(IntegrityError, match="expected JSON"):
        sqlite_registry.register("m", artifact_sha256=sha, lineage=lineage(None), learner_kind="k")
    assert sqlite_registry.versions("m") == []


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda path: path.unlink(), "absent"),
        (lambda path: _overwrite(path, b"short"), "expected a stored blob"),
        (lambda path: _overwrite(path, bytes(1024)), "does not hash to its name"),
    ],
    ids=["missing", "truncated", "tampered"],
)
def test_an_incomplete_stored_folder_is_refused(
    tmp_path: Path,
    sqlite_url: str,
    model_dir: Path,
    lineage: MakeLineage,
    damage: Callable[[Path], None],
    message: str,
) -> None:
    """A store that did not sync the blob itself hashes it, and refuses what does not match."""
    writer = ArtifactStore(tmp_path / "artifacts")
    sha = writer.put_directory(model_dir)
    damage(_blob_of(writer, sha, "state/weights.bin"))
    writer.close()
    with Registry(sqlite_url, ArtifactStore(tmp_path / "artifacts")) as registry:
        with pytest.raises(IntegrityError, match=message):
            registry.register("m", artifact_sha256=sha, lineage=lineage(None), learner_kind="k")
        assert registry.versions("m") == []


@pytest.mark.parametrize(
    ("target", "damage", "message"),
    [
        ("state/weights.bin", lambda path: path.unlink(), "absent"),
        ("state/weights.bin", lambda path: _overwrite(path, bytes(1024)), "does not hash to its name"),
        (None, lambda path: _overwrite(path, b'{"x": 1}'), "stored manifest is absent, changed or corrupt"),
        (None, lambda path: path.unlink(), "stored manifest is absent, changed or corrupt"),
    ],
    ids=["blob-missing", "blob-tampered", "manifest-tampered", "manifest-missing"],
)
def test_the_store_that_wrote_a_folder_still_checks_it_on_register(
    sqlite_registry: Registry,
    model_dir: Path,
    lineage: MakeLineage,
    target: str | None,
    damage: Callable[[Path], None],
    message: str,
) -> None:
    """The store remembers what it wrote and synced, but a file changed since is caught."""
    store = sqlite_registry.artifacts
    sha = store.put_directory(model_dir)
    damage(store.path_of(sha) if target is None else _blob_of(store, sha, target))
    with pytest.raises(IntegrityError, match=message):
        sqlite_registry.register("m", artifact_sha256=sha, lineage=lineage(None), learner_kind="k")
    assert sqlite_registry.versions("m") == []


def test_blobs_another_store_wrote_are_synced_before_the_commit(
    tmp_path: Path, sqlite_url: str, model_dir: Path, lineage: MakeLineage,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Stored by another process (a training worker): every blob is hashed and fsynced."""
    writer = ArtifactStore(tmp_path / "artifacts")
    sha = writer.put_directory(model_dir)
    writer.close()
    synced: list[Path] = []
    real = artifacts_module._fsync_path

    def record(path: Path, folder: bool) -> object:
        if not folder:
            synced.append(Path(path))
        return real(path, folder)

    monkeypatch.setattr(artifacts_module, "_fsync_path", record)
    with Registry(sqlite_url, ArtifactStore(tmp_path / "artifacts")) as registry:
        registry.register("m", artifact_sha256=sha, lineage=lineage(None), learner_kind="k")
        manifest = registry.artifacts.read_manifest(sha)
        expected = {registry.artifacts.path_of(e["sha256"]) for e in manifest.values()}
        assert set(synced) == expected | {registry.artifacts.path_of(sha)}
        # This store synced them itself now: a second registration neither hashes nor syncs.
        synced.clear()
        registry.register("m", artifact_sha256=sha, lineage=lineage("1.0"), learner_kind="k")
        assert synced == []


def test_the_record_register_returns_equals_the_one_read_back(
    registry: Registry, model_dir: Path, clock: ManualClock
) -> None:
    """On SQLite the insert returns only the row's number: the record is built from the values
    bound, and must equal what a read gives back, field for field."""
    clock.advance(timedelta(microseconds=123_457))
    start = datetime(2024, 3, 1, 8, tzinfo=timezone(timedelta(hours=2)))
    snapshot = SnapshotRef(
        "file:///s.parquet", "ab" * 32, 10, start=start, end=start + timedelta(hours=1),
        source="kafka", stats={"mean": 0.1 + 0.2, "classes": [0, 1]},
    )
    made = Lineage(
        parent=None, mode=TrainingMode.STATELESS, iteration=Iteration.MODEL, snapshot=snapshot,
        config_hash="cfg", code_version="0.1.0", git_commit=None,
        library_versions={"numpy": "2.3.0"}, trigger={"kind": "drift", "score": 1e-300},
    )
    first = registry.register(
        "m", model_dir, lineage=made, learner_kind="k",
        metrics={"auc": 0.9, "rows": 2**40, "nested": {"x": [1.5, None]}},
        evaluation={"passed": True}, status="passed",
    )
    child = registry.register(
        "m", artifact_sha256=first.artifact_sha256,
        lineage=dataclasses.replace(made, parent="1.0", iteration=Iteration.DATA),
        learner_kind="k",
    )
    for returned in (first, child):
        read = registry.get("m", returned.version)
        assert returned == read
        assert repr(returned) == repr(read)
