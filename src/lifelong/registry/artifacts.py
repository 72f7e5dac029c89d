"""Content-addressed artifact store: blobs named by their sha256, verified on every read.

A blob lives at ``root/sha256/<first 2 hex>/<64 hex>``. A directory is stored as one blob
per regular file plus a JSON manifest ``{relative name: {"sha256": ..., "size": ...}}``,
itself a blob; the manifest's sha256 names the whole directory.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> tmp = tempfile.TemporaryDirectory()
>>> store = ArtifactStore(Path(tmp.name) / "artifacts")
>>> sha = store.put_bytes(b"weights")
>>> store.read_bytes(sha)
b'weights'
>>> tmp.cleanup()
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from lifelong.errors import (
    ArtifactError,
    ConfigError,
    IntegrityError,
    NotFoundError,
    UnsafeArtifactError,
)

_SHA = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 20
_MAX_NAME = 1024


def check_sha256(value: object, *, field: str = "sha256") -> str:
    """Return ``value`` if it is 64 lowercase hex characters, else raise ConfigError."""
    if not isinstance(value, str) or _SHA.fullmatch(value) is None:
        raise ConfigError(f"{field}: expected 64 lowercase hex characters, got {value!r:.80}")
    return value


def check_relative_name(name: object) -> str:
    """Return ``name`` if it is a safe relative POSIX path inside a directory.

    Refused: empty names and parts, ``.`` and ``..``, absolute paths, backslashes, any
    ``:`` (drive letters, URL schemes), NUL and other control characters.
    """
    if not isinstance(name, str) or not name:
        raise UnsafeArtifactError(f"artifact file name: expected a non-empty string, got {name!r}")
    if len(name) > _MAX_NAME:
        raise UnsafeArtifactError(
            f"artifact file name: expected at most {_MAX_NAME} characters, got {len(name)}"
        )
    if any(ord(char) < 32 or char == "\x7f" for char in name):
        raise UnsafeArtifactError(f"artifact file name {name!r}: control characters are refused")
    if "\\" in name:
        raise UnsafeArtifactError(f"artifact file name {name!r}: backslashes are refused")
    if ":" in name:
        raise UnsafeArtifactError(
            f"artifact file name {name!r}: ':' is refused (drive letters, URL schemes)"
        )
    if name.startswith("/"):
        raise UnsafeArtifactError(f"artifact file name {name!r}: absolute paths are refused")
    for part in name.split("/"):
        if part in {"", ".", ".."}:
            raise UnsafeArtifactError(
                f"artifact file name {name!r}: empty, '.' and '..' parts are refused"
            )
    return name


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _open_no_follow(path: Path) -> int:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    return os.open(path, flags)


class ArtifactStore:
    """Content-addressed blobs under ``root``; every read checks the sha256.

    Parameters
    ----------
    root
        Folder of the store, created when absent.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> tmp = tempfile.TemporaryDirectory()
    >>> src = Path(tmp.name) / "model"
    >>> (src / "sub").mkdir(parents=True)
    >>> _ = (src / "sub" / "w.npz").write_bytes(b"123")
    >>> store = ArtifactStore(Path(tmp.name) / "store")
    >>> manifest = store.put_directory(src)
    >>> out = store.materialize(manifest, Path(tmp.name) / "copy")
    >>> (out / "sub" / "w.npz").read_bytes()
    b'123'
    >>> tmp.cleanup()
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._blobs = self.root / "sha256"
        self._blobs.mkdir(parents=True, exist_ok=True)
        self._real_root = self.root.resolve(strict=True)

    def __repr__(self) -> str:
        return f"ArtifactStore(root={str(self.root)!r})"

    # ------------------------------------------------------------------ paths
    def path_of(self, sha: str) -> Path:
        """Where the blob ``sha`` lives (after validating ``sha``)."""
        sha = check_sha256(sha)
        return self._blobs / sha[:2] / sha

    def _safe_blob_path(self, sha: str) -> Path:
        path = self.path_of(sha)
        try:
            info = path.lstat()
        except FileNotFoundError as exc:
            raise NotFoundError(f"artifact {sha}: no such blob under {self.root}") from exc
        if stat.S_ISLNK(info.st_mode):
            raise UnsafeArtifactError(f"artifact {sha}: blob path {path} is a symlink")
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeArtifactError(f"artifact {sha}: blob path {path} is not a regular file")
        real = path.resolve(strict=True)
        if not real.is_relative_to(self._real_root):
            raise UnsafeArtifactError(
                f"artifact {sha}: blob path resolves to {real}, outside the store {self._real_root}"
            )
        return path

    def exists(self, sha: str) -> bool:
        """Whether a blob named ``sha`` is stored (its content is not checked here)."""
        return self.path_of(sha).is_file()

    # ----------------------------------------------------------------- writes
    def _commit_temp(self, tmp_path: Path, sha: str) -> None:
        target = self.path_of(sha)
        if target.is_file() and not target.is_symlink() and self._content_ok(target, sha):
            tmp_path.unlink()
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp_path, target)
        _fsync_dir(target.parent)

    def _content_ok(self, path: Path, sha: str) -> bool:
        try:
            return self._hash_path(path) == sha
        except OSError:
            return False

    @staticmethod
    def _hash_path(path: Path) -> str:
        digest = hashlib.sha256()
        fd = _open_no_follow(path)
        with os.fdopen(fd, "rb") as handle:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                digest.update(chunk)
        return digest.hexdigest()

    def _temp(self) -> tuple[IO[bytes], Path]:
        fd, name = tempfile.mkstemp(prefix=".tmp-", dir=self._blobs)
        return os.fdopen(fd, "wb"), Path(name)

    def _write_stream(self, chunks: Iterator[bytes]) -> tuple[str, int]:
        handle, tmp_path = self._temp()
        size = 0
        try:
            digest = hashlib.sha256()
            with handle:
                for chunk in chunks:
                    digest.update(chunk)
                    handle.write(chunk)
                    size += len(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp_path, 0o444)
            sha = digest.hexdigest()
            self._commit_temp(tmp_path, sha)
        except BaseException:
            tmp_path.unlink(missing_ok=True)
            raise
        return sha, size

    def put_bytes(self, data: bytes) -> str:
        """Store ``data``; return its sha256 (hex). Storing known content is a no-op."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise ConfigError(f"data: expected bytes, got {type(data).__name__}")
        sha = hashlib.sha256(data).hexdigest()
        target = self.path_of(sha)
        if target.is_file() and not target.is_symlink() and self._content_ok(target, sha):
            return sha  # already stored and verified: no copy, no fsync
        return self._write_stream(iter([bytes(data)]))[0]

    def put_file(self, path: Path) -> str:
        """Store the regular file ``path`` (symlinks refused); return its sha256."""
        return self._put_file(Path(path))[0]

    def _put_file(self, path: Path) -> tuple[str, int]:
        try:
            info = path.lstat()
        except FileNotFoundError as exc:
            raise NotFoundError(f"path: no such file {path}") from exc
        if not stat.S_ISREG(info.st_mode):
            kind = "a symlink" if stat.S_ISLNK(info.st_mode) else "a special file"
            raise UnsafeArtifactError(f"path: expected a regular file, got {kind} at {path}")
        known = self._stored_copy(path, info.st_size)
        if known is not None:  # content already stored and verified: no copy, no fsync
            return known
        fd = _open_no_follow(path)
        with os.fdopen(fd, "rb") as handle:
            return self._write_stream(iter(lambda: handle.read(_CHUNK), b""))

    def _stored_copy(self, path: Path, size: int) -> tuple[str, int] | None:
        """``(sha, size)`` when a verified blob with the content of ``path`` is already stored."""
        if size > 64 * _CHUNK:  # big files: one pass that copies while hashing is cheaper
            return None
        sha = self._hash_path(path)
        target = self.path_of(sha)
        if target.is_file() and not target.is_symlink() and self._content_ok(target, sha):
            return sha, size
        return None

    def put_directory(self, src: Path) -> str:
        """Store every regular file under ``src`` and a manifest; return the manifest's sha256.

        Symlinks, sockets, devices and names that :func:`check_relative_name` refuses raise
        UnsafeArtifactError before anything is stored.
        """
        src = Path(src)
        if not src.exists() and not src.is_symlink():
            raise NotFoundError(f"src: no such directory {src}")
        if src.is_symlink() or not src.is_dir():
            raise UnsafeArtifactError(f"src: expected a directory (not a symlink), got {src}")
        files = list(self._walk(src, ""))
        manifest: dict[str, dict[str, Any]] = {}
        for name, path in files:
            sha, size = self._put_file(path)
            manifest[name] = {"sha256": sha, "size": size}
        payload = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode("utf-8")
        return self.put_bytes(payload)

    def _walk(self, folder: Path, prefix: str) -> Iterator[tuple[str, Path]]:
        with os.scandir(folder) as entries:
            ordered = sorted(entries, key=lambda entry: entry.name)
        for entry in ordered:
            name = check_relative_name(f"{prefix}{entry.name}")
            if entry.is_symlink():
                raise UnsafeArtifactError(f"{folder / entry.name}: symlinks are refused")
            if entry.is_dir(follow_symlinks=False):
                yield from self._walk(Path(entry.path), f"{name}/")
            elif entry.is_file(follow_symlinks=False):
                yield name, Path(entry.path)
            else:
                raise UnsafeArtifactError(
                    f"{folder / entry.name}: expected a regular file or directory"
                )

    # ------------------------------------------------------------------ reads
    def _chunks(self, sha: str) -> Iterator[bytes]:
        """Yield the blob's bytes, then raise IntegrityError if they do not hash to ``sha``."""
        path = self._safe_blob_path(sha)
        digest = hashlib.sha256()
        size = 0
        fd = _open_no_follow(path)
        with os.fdopen(fd, "rb") as handle:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                digest.update(chunk)
                size += len(chunk)
                yield chunk
        actual = digest.hexdigest()
        if actual != sha:
            raise IntegrityError(
                f"artifact {sha}: content hashes to {actual} ({size} bytes); "
                "the blob is corrupt, truncated or was tampered with"
            )

    def read_bytes(self, sha: str) -> bytes:
        """Return the blob ``sha`` after checking its sha256 (IntegrityError on mismatch)."""
        return b"".join(self._chunks(sha))

    def read_manifest(self, manifest_sha: str) -> dict[str, dict[str, Any]]:
        """The verified, validated manifest of a stored directory."""
        raw = self.read_bytes(manifest_sha)

        def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            keys = [key for key, _ in pairs]
            if len(set(keys)) != len(keys):
                raise IntegrityError(f"manifest {manifest_sha}: duplicate keys")
            return dict(pairs)

        try:
            manifest = json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicates)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise IntegrityError(f"manifest {manifest_sha}: expected JSON, got {exc}") from exc
        if not isinstance(manifest, dict):
            raise IntegrityError(
                f"manifest {manifest_sha}: expected an object, got {manifest!r:.80}"
            )
        names = set()
        for name, entry in manifest.items():
            check_relative_name(name)
            if (
                not isinstance(entry, dict)
                or set(entry) != {"sha256", "size"}
                or not isinstance(entry["size"], int)
                or isinstance(entry["size"], bool)
                or entry["size"] < 0
            ):
                raise IntegrityError(
                    f"manifest {manifest_sha}: entry {name!r}: expected {{sha256, size}}, "
                    f"got {entry!r:.120}"
                )
            try:
                check_sha256(entry["sha256"], field=f"manifest entry {name!r}.sha256")
            except ConfigError as exc:
                raise IntegrityError(f"manifest {manifest_sha}: {exc}") from exc
            names.add(name)
        for name in names:
            parts = name.split("/")
            for depth in range(1, len(parts)):
                folder = "/".join(parts[:depth])
                if folder in names:
                    raise IntegrityError(
                        f"manifest {manifest_sha}: {name!r} lies under {folder!r}, which is a file"
                    )
        return manifest

    def materialize(self, manifest_sha: str, dest: Path) -> Path:
        """Write the directory ``manifest_sha`` to ``dest`` (absent or empty) and return it.

        Every file is verified against the manifest; the directory is assembled in a
        temporary sibling and renamed into place, so ``dest`` is complete or untouched.
        """
        manifest = self.read_manifest(manifest_sha)
        dest = Path(dest)
        if dest.is_symlink():
            raise UnsafeArtifactError(f"dest: expected a directory, got a symlink at {dest}")
        if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
            raise ArtifactError(f"dest: expected an absent or empty directory, got {dest}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
        try:
            real_staging = staging.resolve(strict=True)
            for name, entry in sorted(manifest.items()):
                target = staging.joinpath(*name.split("/"))
                target.parent.mkdir(parents=True, exist_ok=True)
                if not target.parent.resolve(strict=True).is_relative_to(real_staging):
                    raise UnsafeArtifactError(f"manifest entry {name!r}: escapes {dest}")
                self._copy_verified(entry["sha256"], target, entry["size"], name)
            os.chmod(staging, 0o755)
            os.replace(staging, dest)
        except OSError as exc:
            _remove_tree(staging)
            raise ArtifactError(f"dest: could not write {dest}: {exc}") from exc
        except BaseException:
            _remove_tree(staging)
            raise
        return dest

    def _copy_verified(self, sha: str, target: Path, size: int, name: str) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        written = 0
        with os.fdopen(os.open(target, flags, 0o644), "wb") as handle:
            for chunk in self._chunks(sha):
                written += len(chunk)
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        if written != size:
            raise IntegrityError(
                f"manifest entry {name!r}: expected {size} bytes, blob {sha} holds {written}"
            )


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


__all__ = ["ArtifactStore", "check_relative_name", "check_sha256"]
