"""The content-addressed store: round trips, verification on read, unsafe paths refused."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from lifelong.errors import (
    ArtifactError,
    ConfigError,
    IntegrityError,
    NotFoundError,
    UnsafeArtifactError,
)
from lifelong.registry import ArtifactStore


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "store")


def _tamper(path: Path, data: bytes) -> None:
    os.chmod(path, 0o644)
    path.write_bytes(data)


def test_bytes_and_file_round_trip(store: ArtifactStore, tmp_path: Path) -> None:
    data = b"\x00weights\xff" * 1000
    sha = store.put_bytes(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert store.path_of(sha) == store.root / "sha256" / sha[:2] / sha
    assert store.read_bytes(sha) == data
    assert store.put_bytes(data) == sha  # idempotent
    src = tmp_path / "f.bin"
    src.write_bytes(data)
    assert store.put_file(src) == sha
    leftovers = [p.name for p in (store.root / "sha256").iterdir() if p.name.startswith(".tmp")]
    assert leftovers == []


def test_directory_round_trip(store: ArtifactStore, model_dir: Path, tmp_path: Path) -> None:
    (model_dir / "empty.txt").write_bytes(b"")
    manifest_sha = store.put_directory(model_dir)
    manifest = json.loads(store.read_bytes(manifest_sha))
    assert sorted(manifest) == ["empty.txt", "model.json", "state/weights.bin"]
    assert manifest["state/weights.bin"]["size"] == 1024
    out = store.materialize(manifest_sha, tmp_path / "out")
    for name in manifest:
        assert (out / name).read_bytes() == (model_dir / name).read_bytes()
    assert store.put_directory(model_dir) == manifest_sha  # deterministic
    empty = tmp_path / "existing-empty"
    empty.mkdir()
    assert store.materialize(manifest_sha, empty) == empty
    with pytest.raises(ArtifactError, match="expected an absent or empty directory"):
        store.materialize(manifest_sha, out)


def test_tampered_blob_is_refused(store: ArtifactStore, model_dir: Path, tmp_path: Path) -> None:
    sha = store.put_bytes(b"genuine content")
    _tamper(store.path_of(sha), b"evil content!!!")  # same length, other bytes
    with pytest.raises(IntegrityError, match=sha):
        store.read_bytes(sha)
    manifest_sha = store.put_directory(model_dir)
    manifest = json.loads(store.read_bytes(manifest_sha))
    _tamper(store.path_of(manifest["model.json"]["sha256"]), b'{"kind": "evil"}')
    with pytest.raises(IntegrityError):
        store.materialize(manifest_sha, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing half-written
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.tmp")]


def test_truncated_blob_is_refused(store: ArtifactStore) -> None:
    data = os.urandom(4096)
    sha = store.put_bytes(data)
    _tamper(store.path_of(sha), data[:100])
    with pytest.raises(IntegrityError, match="100 bytes"):
        store.read_bytes(sha)
    assert store.put_bytes(data) == sha  # storing the content again repairs the blob
    assert store.read_bytes(sha) == data


@pytest.mark.parametrize(
    "name",
    ["../x", "/etc/passwd", "a\\b", "file://x", "C:evil", "a/../../b", "./a", "a//b", "a\x00b", ""],
)
def test_unsafe_manifest_names_are_refused(store: ArtifactStore, tmp_path: Path, name: str) -> None:
    blob = store.put_bytes(b"x")
    manifest = json.dumps({name: {"sha256": blob, "size": 1}}).encode()
    with pytest.raises(UnsafeArtifactError):
        store.materialize(store.put_bytes(manifest), tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "x").exists() and not (tmp_path.parent / "x").exists()


@pytest.mark.parametrize(
    "manifest",
    [
        b"not json",
        b"[1, 2]",
        b'{"a": {"sha256": "zz", "size": 1}}',
        b'{"a": {"sha256": "' + b"0" * 64 + b'", "size": -1}}',
        b'{"a": {"sha256": "' + b"0" * 64 + b'", "size": 1, "extra": 1}}',
        b'{"a": 1, "a": 2}',
    ],
)
def test_malformed_manifests_are_refused(
    store: ArtifactStore, tmp_path: Path, manifest: bytes
) -> None:
    with pytest.raises(IntegrityError):
        store.materialize(store.put_bytes(manifest), tmp_path / "out")


def test_file_under_file_and_size_mismatch(store: ArtifactStore, tmp_path: Path) -> None:
    blob = store.put_bytes(b"abc")
    entry = {"sha256": blob, "size": 3}
    nested = json.dumps({"a": entry, "a/b": entry}).encode()
    with pytest.raises(IntegrityError, match="lies under 'a'"):
        store.materialize(store.put_bytes(nested), tmp_path / "out")
    wrong_size = json.dumps({"a": {"sha256": blob, "size": 4}}).encode()
    with pytest.raises(IntegrityError, match="expected 4 bytes"):
        store.materialize(store.put_bytes(wrong_size), tmp_path / "out")
    missing = json.dumps({"a": {"sha256": "1" * 64, "size": 1}}).encode()
    with pytest.raises(NotFoundError):
        store.materialize(store.put_bytes(missing), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_symlinks_are_refused_on_put(store: ArtifactStore, tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "ok.txt").write_text("ok")
    (folder / "link.txt").symlink_to(outside)
    with pytest.raises(UnsafeArtifactError, match="symlinks are refused"):
        store.put_directory(folder)
    (folder / "link.txt").unlink()
    (folder / "linked_dir").symlink_to(tmp_path)
    with pytest.raises(UnsafeArtifactError, match="symlinks are refused"):
        store.put_directory(folder)
    with pytest.raises(UnsafeArtifactError, match="symlink"):
        store.put_file(folder / "linked_dir")
    alias = tmp_path / "alias"
    alias.symlink_to(folder)
    with pytest.raises(UnsafeArtifactError, match="not a symlink"):
        store.put_directory(alias)
    assert not any((store.root / "sha256").iterdir())  # nothing stored


def test_fifo_is_refused(store: ArtifactStore, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    os.mkfifo(folder / "pipe")
    with pytest.raises(UnsafeArtifactError, match="expected a regular file"):
        store.put_directory(folder)


def test_symlinks_escaping_root_are_refused_on_read(store: ArtifactStore, tmp_path: Path) -> None:
    data = b"payload"
    sha = store.put_bytes(data)
    blob = store.path_of(sha)
    outside = tmp_path / "outside.bin"
    outside.write_bytes(data)  # right content: the link itself is the problem
    blob.unlink()
    blob.symlink_to(outside)
    with pytest.raises(UnsafeArtifactError, match="symlink"):
        store.read_bytes(sha)
    # a shard folder that is a symlink to a folder outside the store
    blob.unlink()
    shard = blob.parent
    shard.rmdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / sha).write_bytes(data)
    shard.symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(UnsafeArtifactError, match="outside the store"):
        store.read_bytes(sha)


def test_sha_strings_are_validated(store: ArtifactStore) -> None:
    for bad in ["../../etc/passwd", "A" * 64, "0" * 63, "g" * 64, 123]:
        with pytest.raises(ConfigError, match="64 lowercase hex"):
            store.read_bytes(bad)  # type: ignore[arg-type]
    with pytest.raises(NotFoundError, match="no such blob"):
        store.read_bytes("0" * 64)


def test_a_blob_whose_shard_folder_is_missing_gets_the_folder_synced(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "store")
    sha = store.put_bytes(b"first")
    shard = store.path_of(sha).parent
    os.chmod(store.path_of(sha), 0o644)
    store.path_of(sha).unlink()
    shard.rmdir()
    synced: list[Path] = []
    original = store._sync

    def spy(batch: Any) -> None:
        synced.extend(sorted(batch.folders))
        original(batch)

    store._sync = spy  # type: ignore[method-assign]
    assert store.put_bytes(b"first") == sha and store.read_bytes(sha) == b"first"
    assert store.root / "sha256" in synced and shard in synced
    assert oct(store.path_of(sha).stat().st_mode & 0o777) == "0o444"
    store.close()
