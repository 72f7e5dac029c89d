"""The registry's fast paths keep its guarantees: durable blobs, checked parents, exact records."""

from __future__ import annotations

import dataclasses
import gc
import multiprocessing
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from lifelong.clock import ManualClock
from lifelong.errors import ArtifactError, IntegrityError, NotFoundError
from lifelong.registry import ArtifactStore, Iteration, Lineage, ModelVersion, Registry
from lifelong.registry import artifacts as artifacts_module
from lifelong.registry import registry as registry_module
from lifelong.registry.codec import collector_paused
from lifelong.registry.queries import insert_version
from lifelong.registry.schema import versions as versions_table

MakeLineage = Callable[..., Lineage]
Synced = list[tuple[Path, bool]]


@pytest.fixture
def synced(monkeypatch: pytest.MonkeyPatch) -> Synced:
    """Every ``(path, is_folder)`` the artifact store fsyncs, in call order."""
    calls: Synced = []
    real = artifacts_module._fsync_path

    def record(path: Path, folder: bool) -> object:
        calls.append((Path(path), folder))
        return real(path, folder)

    monkeypatch.setattr(artifacts_module, "_fsync_path", record)
    return calls


def _blob_paths(store: ArtifactStore, manifest_sha: str) -> set[Path]:
    manifest = store.read_manifest(manifest_sha)
    return {store.path_of(entry["sha256"]) for entry in manifest.values()} | {
        store.path_of(manifest_sha)
    }


def test_put_directory_syncs_every_blob_and_folder_before_returning(
    tmp_path: Path, model_dir: Path, synced: Synced
) -> None:
    store = ArtifactStore(tmp_path / "store")
    manifest_sha = store.put_directory(model_dir)
    blobs = _blob_paths(store, manifest_sha)
    assert len(blobs) == 3  # two files and the manifest
    files = {path for path, folder in synced if not folder}
    folders = {path for path, folder in synced if folder}
    assert files == blobs
    assert {blob.parent for blob in blobs} <= folders
    assert store.root / "sha256" in folders  # new shard folders are named in it

    # The same store knows it synced these very files: storing them again syncs nothing.
    synced.clear()
    assert store.put_directory(model_dir) == manifest_sha
    assert synced == []

    # Another store (another process, say) cannot know: it syncs the blobs it reuses.
    other = ArtifactStore(tmp_path / "store")
    assert other.put_directory(model_dir) == manifest_sha
    assert {path for path, folder in synced if not folder} == blobs
    other.close()
    store.close()


def test_a_changed_blob_is_synced_again(tmp_path: Path, synced: Synced) -> None:
    store = ArtifactStore(tmp_path / "store")
    sha = store.put_bytes(b"weights")
    path = store.path_of(sha)
    os.chmod(path, 0o644)
    path.write_bytes(b"garbage")  # same path, other content: a new change time
    synced.clear()
    with pytest.raises(IntegrityError):
        store.read_bytes(sha)
    assert store.put_bytes(b"weights") == sha
    assert (path, False) in synced
    assert store.read_bytes(sha) == b"weights"
    store.close()


def test_a_verified_blob_is_never_replaced(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "store")
    sha = store.put_bytes(b"state")
    inode = store.path_of(sha).stat().st_ino
    # A second writer that had already written its temporary copy keeps the stored file.
    fd, tmp = store._temp()
    try:
        os.write(fd, b"state")
    finally:
        os.close(fd)
    store._place(tmp, sha, artifacts_module._Batch())
    assert store.path_of(sha).stat().st_ino == inode
    assert not tmp.exists()
    assert [p.name for p in (store.root / "sha256").iterdir() if p.name.startswith(".tmp-")] == []
    store.close()


def test_a_name_without_content_is_refused_then_repaired(tmp_path: Path) -> None:
    """What a crash between naming a blob and syncing it can leave: an empty file."""
    store = ArtifactStore(tmp_path / "store")
    sha = store.put_bytes(b"model bytes")
    path = store.path_of(sha)
    os.chmod(path, 0o644)
    path.write_bytes(b"")
    with pytest.raises(IntegrityError, match="0 bytes"):
        store.read_bytes(sha)
    fresh = ArtifactStore(tmp_path / "store")
    assert fresh.put_bytes(b"model bytes") == sha
    assert fresh.read_bytes(sha) == b"model bytes"
    fresh.close()
    store.close()


def test_fsync_threads_work_after_a_fork(tmp_path: Path, model_dir: Path) -> None:
    store = ArtifactStore(tmp_path / "store")
    store.put_directory(model_dir)  # starts the fsync threads in this process
    (model_dir / "extra.bin").write_bytes(b"new file")

    def child() -> None:
        store.put_directory(model_dir)

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(timeout=60)
    assert process.exitcode == 0
    assert ArtifactStore(tmp_path / "store").materialize(
        store.put_directory(model_dir), tmp_path / "out"
    ).joinpath("extra.bin").read_bytes() == b"new file"
    store.close()
    # Closed, the store starts its threads again when it needs them.
    (model_dir / "later.bin").write_bytes(b"later")
    assert store.read_manifest(store.put_directory(model_dir))["later.bin"]["size"] == 5
    store.close()


def test_insert_checks_the_parent_in_the_same_statement(
    registry: Registry, model_dir: Path, lineage: MakeLineage, clock: ManualClock
) -> None:
    registry.register("m", model_dir, lineage=lineage(None), learner_kind="k")
    first = registry.get("m", "1.0")
    values = {
        "parent": "1.7",
        "mode": "stateful",
        "iteration": "data",
        "snapshot": None,
        "config_hash": "c",
        "code_version": "0.1.0",
        "git_commit": None,
        "library_versions": {},
        "trigger": {},
        "metrics": {},
        "evaluation": {},
        "status": "registered",
        "artifact_sha256": first.artifact_sha256,
        "learner_kind": "k",
        "created_at": clock.now(),
    }
    database = registry._db
    for major in (1, None):  # a data iteration, and a model iteration from that parent
        with pytest.raises(NotFoundError, match=r"no version '1.7'"):
            database.run(lambda conn: insert_version(conn, "m", major, values), write=True)
    assert [v.version for v in registry.versions("m")] == ["1.0"]
    made = database.run(
        lambda conn: insert_version(conn, "m", 1, {**values, "parent": "1.0"}), write=True
    )
    assert made.version == "1.1" and made.parent == "1.0"


def test_register_with_an_unknown_parent_stores_nothing(
    registry: Registry, model_dir: Path, lineage: MakeLineage
) -> None:
    with pytest.raises(NotFoundError):
        registry.register("m", model_dir, lineage=lineage("1.0"), learner_kind="k")
    assert list((registry.artifacts.root / "sha256").rglob("*")) == []


def test_records_read_back_equal_the_constructed_ones(
    registry: Registry, model_dir: Path, lineage: MakeLineage
) -> None:
    registry.register("m", model_dir, lineage=lineage(None), learner_kind="k", metrics={"a": 1})
    for found in (registry.get("m", "1.0"), registry.lineage("m", "1.0")[0], registry.latest("m")):
        assert found is not None
        built = ModelVersion(
            **{
                field.name: getattr(found, field.name)
                for field in dataclasses.fields(ModelVersion)
                if field.name != "lineage"
            },
            lineage=Lineage(
                **{
                    field.name: getattr(found.lineage, field.name)
                    for field in dataclasses.fields(Lineage)
                }
            ),
        )
        assert found == built and built == found
        assert repr(found) == repr(built)
        assert dataclasses.replace(found, status="passed").status == "passed"
    for cls in (ModelVersion, Lineage):
        assert not hasattr(cls, "__post_init__"), f"{cls.__name__} validates in __post_init__"


def test_deep_lineage_returns_the_whole_chain_in_order(
    registry: Registry, model_dir: Path, lineage: MakeLineage, clock: ManualClock
) -> None:
    depth = 150
    parent = None
    for n in range(depth):
        lin = dataclasses.replace(
            lineage(parent), trigger={"kind": "volume", "rows": n}, iteration=Iteration.DATA
        )
        (model_dir / "model.json").write_text(f'{{"n": {n}}}')
        parent = registry.register("m", model_dir, lineage=lin, learner_kind="k").version
        clock.advance(timedelta(seconds=1))
    registry.register("m", model_dir, lineage=lineage("1.3"), learner_kind="k")  # a branch
    chain = registry.lineage("m", f"1.{depth - 1}")
    assert [v.version for v in chain] == [f"1.{n}" for n in reversed(range(depth))]
    assert [v.lineage.trigger["rows"] for v in chain] == list(reversed(range(depth)))
    assert all(child.parent == older.version for child, older in zip(chain, chain[1:]))
    assert chain[-1].parent is None
    assert all(child.created_at > older.created_at for child, older in zip(chain, chain[1:]))
    assert len({v.artifact_sha256 for v in chain}) == depth
    assert chain[0] == registry.get("m", f"1.{depth - 1}")


def test_collector_paused_restores_the_previous_state() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_versions_table_has_the_record_columns() -> None:
    from lifelong.registry.codec import RECORD_COLUMNS

    assert set(RECORD_COLUMNS) <= set(versions_table.c.keys())


def test_a_failed_fsync_round_leaves_no_version(
    registry: Registry, model_dir: Path, lineage: MakeLineage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The row is inserted while the round runs, and committed only once it has succeeded."""
    first = registry.register("m", model_dir, lineage=lineage(None), learner_kind="k")
    (model_dir / "model.json").write_text('{"kind": "changed"}')
    inserted: list[str] = []
    original_insert = registry_module.insert_version

    def insert(*args: Any, **kwargs: Any) -> ModelVersion:
        made = original_insert(*args, **kwargs)
        inserted.append(made.version)
        return made

    def failing(path: Path, folder: bool) -> Any:
        raise ArtifactError(f"artifact {path}: fsync failed, not durable: disk gone")

    monkeypatch.setattr(registry_module, "insert_version", insert)
    monkeypatch.setattr(artifacts_module, "_fsync_path", failing)
    with pytest.raises(ArtifactError, match="not durable"):
        registry.register("m", model_dir, lineage=lineage(first.version), learner_kind="k")
    assert inserted == ["1.1"]  # the insert ran, then was rolled back
    monkeypatch.undo()
    assert [v.version for v in registry.versions("m")] == ["1.0"]
    assert registry.register(
        "m", model_dir, lineage=lineage(first.version), learner_kind="k"
    ).version == "1.1"



def test_driver_statements_raise_sqlalchemy_errors_that_retries_recognize(tmp_path: Path) -> None:
    """Statements sent to the sqlite3 connection directly fail as SQLAlchemy's errors do."""
    import sqlalchemy as sa

    from lifelong.registry.db import Database, is_retryable
    from lifelong.registry.queries import run_on_driver

    database = Database(f"sqlite:///{tmp_path / 'x.db'}")
    database.run(lambda conn: conn.exec_driver_sql("CREATE TABLE t (k INTEGER UNIQUE)"), write=True)
    database.run(lambda conn: run_on_driver(conn, "INSERT INTO t VALUES (?)", (1,)), write=True)
    with database.engine.connect() as conn, conn.begin():
        with pytest.raises(sa.exc.IntegrityError) as raised:
            run_on_driver(conn, "INSERT INTO t VALUES (?)", (1,))
    assert is_retryable(raised.value)  # a unique violation: a fresh transaction may avoid it
    with pytest.raises(sa.exc.OperationalError, match="no such table"):
        database.run(lambda conn: run_on_driver(conn, "SELECT * FROM missing", ()), write=False)

    def insert_then_fail(conn: sa.Connection) -> None:
        run_on_driver(conn, "INSERT INTO t VALUES (?)", (2,))
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError):  # rolled back with its transaction, like any statement
        database.run(insert_then_fail, write=True)
    rows = database.run(lambda conn: conn.exec_driver_sql("SELECT k FROM t").scalars().all(), write=False)
    assert rows == [1]
    database.close()
