"""Content-addressed artifact store: blobs named by their sha256, verified on every read.

A blob lives at ``root/sha256/<first 2 hex>/<64 hex>``. A directory is stored as one blob
per regular file plus a JSON manifest ``{relative name: {"sha256": ..., "size": ...}}``,
itself a blob; the manifest's sha256 names the whole directory.

Writes go to a temporary file, which gets its final name once complete; a write returns
only after one round of concurrent fsyncs has made every blob it names, and the folders
holding their names, durable (see :meth:`ArtifactStore.put_directory`). Reads check the
sha256 of every blob.

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
import secrets
import shutil
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

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
_REUSE_LIMIT = 64 * _CHUNK  # files up to this size are hashed first, and not copied if stored
_SYNC_THREADS = 8
_TEMP_FLAGS = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
_DURABLE_MEMORY = 10_000  # identities of synced blobs kept (forgotten all at once beyond)


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


_Identity = tuple[int, int, int]


def _identity(info: os.stat_result) -> _Identity:
    """Device, inode and change time: another file, or a changed one, at the same path differs."""
    return info.st_dev, info.st_ino, info.st_ctime_ns


def _fsync_path(path: Path, folder: bool) -> _Identity | None:
    """fsync ``path`` and return the identity of what was synced.

    For a folder, platforms without directory handles are tolerated (``None``).
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        if folder:  # pragma: no cover - platforms without directory handles
            return None
        raise ArtifactError(f"artifact {path}: cannot open it to fsync: {exc}") from exc
    try:
        os.fsync(fd)
        return _identity(os.fstat(fd))
    except OSError as exc:
        if folder:  # pragma: no cover
            return None
        raise ArtifactError(f"artifact {path}: fsync failed, not durable: {exc}") from exc
    finally:
        os.close(fd)


class _Batch:
    """The blobs of one write and the folders that hold their names, to fsync in one round."""

    __slots__ = ("files", "folders")

    def __init__(self) -> None:
        self.files: set[Path] = set()
        self.folders: set[Path] = set()

    def add(self, blob: Path) -> None:
        self.files.add(blob)
        self.folders.add(blob.parent)


def _open_no_follow(path: Path) -> int:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    return os.open(path, flags)


def _opened_path(fd: int, path: Path) -> str:
    """The real path of the file open as ``fd`` (opened from ``path``).

    Linux names it in ``/proc/self/fd`` (one call, and it is the very file that was opened);
    elsewhere ``path`` is resolved.
    """
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:  # pragma: no cover - no /proc
        return str(path.resolve(strict=True))


class StagedDirectory:
    """A directory written to the store whose fsync round may still be running.

    Parameters
    ----------
    sha256
        The manifest's sha256, which names the directory.
    wait
        Returns once the round has ended (ArtifactError if an fsync failed).
    """

    __slots__ = ("_wait", "sha256")

    def __init__(self, sha256: str, wait: Callable[[], None]) -> None:
        self.sha256 = sha256
        self._wait = wait

    def wait(self) -> str:
        """Return the manifest's sha256 once the directory is durable (may be called again)."""
        self._wait()
        return self.sha256


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
        self._real_prefix = os.path.join(self._real_root, "")  # what real blob paths start with
        self._pool_lock = threading.Lock()
        self._sync_pool: ThreadPoolExecutor | None = None
        self._pool_pid = os.getpid()
        self._durable: dict[Path, _Identity] = {}  # blobs this store fsynced, by identity
        self._paths: dict[str, Path] = {}  # blob paths by valid sha256 (built once each)
        # Validated manifests by sha256: a manifest's content is fixed by its name, so a parsed
        # copy stays right; the stored file itself is still checked each time it is used.
        self._manifests: dict[str, dict[str, dict[str, Any]]] = {}

    def __repr__(self) -> str:
        return f"ArtifactStore(root={str(self.root)!r})"

    # ------------------------------------------------------------------ paths
    def path_of(self, sha: str) -> Path:
        """Where the blob ``sha`` lives (after validating ``sha``)."""
        found = self._paths.get(sha)
        if found is None:
            sha = check_sha256(sha)
            if len(self._paths) >= _DURABLE_MEMORY:
                self._paths.clear()
            found = self._paths[sha] = self._blobs / sha[:2] / sha
        return found

    def _open_blob(self, sha: str) -> int:
        """A read descriptor of the blob ``sha``: a regular file, inside the store as opened."""
        path = self.path_of(sha)
        try:
            info = path.lstat()
        except FileNotFoundError as exc:
            raise NotFoundError(f"artifact {sha}: no such blob under {self.root}") from exc
        if stat.S_ISLNK(info.st_mode):
            raise UnsafeArtifactError(f"artifact {sha}: blob path {path} is a symlink")
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeArtifactError(f"artifact {sha}: blob path {path} is not a regular file")
        fd = _open_no_follow(path)
        try:
            real = _opened_path(fd, path)
            if not real.startswith(self._real_prefix):
                raise UnsafeArtifactError(
                    f"artifact {sha}: blob path resolves to {real}, "
                    f"outside the store {self._real_root}"
                )
        except BaseException:
            os.close(fd)
            raise
        return fd

    def exists(self, sha: str) -> bool:
        """Whether a blob named ``sha`` is stored (its content is not checked here)."""
        return self.path_of(sha).is_file()

    # ----------------------------------------------------------------- writes
    def _pool(self) -> ThreadPoolExecutor:
        """The threads that issue one round of fsyncs concurrently (recreated after a fork)."""
        with self._pool_lock:
            if self._sync_pool is None or self._pool_pid != os.getpid():
                self._sync_pool = ThreadPoolExecutor(
                    max_workers=_SYNC_THREADS, thread_name_prefix="lifelong-fsync"
                )
                self._pool_pid = os.getpid()
            return self._sync_pool

    def close(self) -> None:
        """Stop the fsync threads (they are started again when needed)."""
        with self._pool_lock:
            pool, self._sync_pool = self._sync_pool, None
        if pool is not None and self._pool_pid == os.getpid():
            pool.shutdown(wait=True)

    def _sync(self, batch: _Batch) -> None:
        """Make every blob of ``batch`` durable: fsync each file and each folder, in one round.

        The fsyncs are issued concurrently (the last one in this thread), so the filesystem
        commits them together: a write waits for about one journal commit instead of one per
        file and folder. The synced files are remembered by identity (see :meth:`_reuse`).
        """
        files = sorted(batch.files)
        jobs = [(path, False) for path in files] + [(path, True) for path in sorted(batch.folders)]
        if not jobs:
            return
        *others, last = jobs
        pending = [self._pool().submit(_fsync_path, *job) for job in others]
        results = [_fsync_path(*last)]
        results[:0] = [future.result() for future in pending]
        self._remember_synced(files, results)

    def _start_sync(self, batch: _Batch) -> Callable[[], None]:
        """Start the fsync round of ``batch`` in the store's threads; return its ``wait``.

        ``wait()`` returns once every fsync of the round has returned (ArtifactError if one
        failed, again on every call); it may be called more than once.
        """
        files = sorted(batch.files)
        jobs = [(path, False) for path in files] + [(path, True) for path in sorted(batch.folders)]
        futures = [self._pool().submit(_fsync_path, *job) for job in jobs]
        done: list[bool] = []

        def wait() -> None:
            if done:
                return
            results = [future.result() for future in futures]
            self._remember_synced(files, results)
            done.append(True)

        return wait

    def _remember_synced(self, files: list[Path], results: list[_Identity | None]) -> None:
        if len(self._durable) > _DURABLE_MEMORY:
            self._durable.clear()
        for path, identity in zip(files, results[: len(files)], strict=True):
            if identity is not None:
                self._durable[path] = identity

    def _place(self, tmp_path: Path, sha: str, batch: _Batch) -> None:
        """Give the finished temporary file ``tmp_path`` its final name ``sha``.

        The name is created only when absent (a hard link, which fails if another writer got
        there first) or when the stored file does not hash to ``sha`` (a corrupt blob is
        replaced); a blob with the right content is never replaced, so a name that another
        registration already verified keeps pointing at the same file.
        """
        target = self.path_of(sha)
        try:
            try:  # the shard folder usually exists: link first, create the folder if it is absent
                os.link(tmp_path, target)
            except FileNotFoundError:
                try:
                    target.parent.mkdir()
                except FileExistsError:
                    pass
                else:
                    batch.folders.add(self._blobs)  # the new shard folder's own entry
                os.link(tmp_path, target)
        except FileExistsError:
            if not (target.is_file() and not target.is_symlink() and self._content_ok(target, sha)):
                os.replace(tmp_path, target)
                tmp_path = target
        except OSError:  # pragma: no cover - filesystems without hard links
            os.replace(tmp_path, target)
            tmp_path = target
        if tmp_path != target:
            tmp_path.unlink()
        batch.add(target)

    def _content_ok(self, path: Path, sha: str) -> bool:
        try:
            return self._hash_path(path) == sha
        except (OSError, UnsafeArtifactError):
            return False

    @staticmethod
    def _hash_path(path: Path) -> str:
        return ArtifactStore._hash_with_identity(path)[0]

    @staticmethod
    def _hash_with_identity(path: Path) -> tuple[str, _Identity]:
        """The sha256 of the regular file ``path`` and the identity of the file that was read."""
        digest = hashlib.sha256()
        fd = _open_no_follow(path)
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise UnsafeArtifactError(f"artifact {path}: expected a regular file")
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                digest.update(chunk)
        return digest.hexdigest(), _identity(info)

    def _temp(self) -> tuple[int, Path]:
        """A new, exclusive temporary file beside the blobs: its descriptor and path."""
        while True:
            path = self._blobs / f".tmp-{secrets.token_hex(8)}"
            try:
                return os.open(path, _TEMP_FLAGS, 0o600), path
            except FileExistsError:  # pragma: no cover - 64 random bits collided
                continue

    def _write_stream(self, chunks: Iterator[bytes], batch: _Batch) -> tuple[str, int]:
        fd, tmp_path = self._temp()
        size = 0
        try:
            digest = hashlib.sha256()
            try:
                for chunk in chunks:
                    digest.update(chunk)
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(fd, view) :]
                    size += len(chunk)
                os.fchmod(fd, 0o444)
            finally:
                os.close(fd)
            sha = digest.hexdigest()
            self._place(tmp_path, sha, batch)
        except BaseException:
            tmp_path.unlink(missing_ok=True)
            raise
        return sha, size

    def _reuse(self, sha: str, batch: _Batch, info: os.stat_result | None = None) -> bool:
        """Whether a blob ``sha`` with verified content is stored.

        A stored blob joins ``batch`` to be fsynced again (another writer may have named it
        an instant ago and not have synced it yet), unless this store synced that very file
        before: same path, device, inode and change time as when its fsync returned. Such a
        file is neither hashed nor synced again: a write to it would have changed its change
        time, and every read checks its sha256 anyway. ``info``: the blob's ``lstat``, when the
        caller has just taken it.
        """
        target = self.path_of(sha)
        synced = self._durable.get(target)
        if synced is not None:
            try:
                if _identity(target.lstat() if info is None else info) == synced:
                    return True  # the very file this store wrote or verified, then synced
            except OSError:
                pass
        try:
            found, identity = self._hash_with_identity(target)
        except (OSError, UnsafeArtifactError):  # absent, a symlink (O_NOFOLLOW), not a file
            return False
        if found != sha:
            return False
        batch.add(target)
        return True

    def put_bytes(self, data: bytes) -> str:
        """Store ``data``; return its sha256 (hex) once durable. Known content is not copied."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise ConfigError(f"data: expected bytes, got {type(data).__name__}")
        batch = _Batch()
        sha = self._put_bytes(bytes(data), batch)
        self._sync(batch)
        return sha

    def _put_bytes(self, data: bytes, batch: _Batch) -> str:
        sha = hashlib.sha256(data).hexdigest()
        if self._reuse(sha, batch):
            return sha
        return self._write_stream(iter([data]), batch)[0]

    def put_file(self, path: Path) -> str:
        """Store the regular file ``path`` (symlinks refused); return its sha256, once durable."""
        batch = _Batch()
        sha = self._put_file(Path(path), batch)[0]
        self._sync(batch)
        return sha

    def _put_file(self, path: Path, batch: _Batch) -> tuple[str, int]:
        try:
            info = path.lstat()
        except FileNotFoundError as exc:
            raise NotFoundError(f"path: no such file {path}") from exc
        if not stat.S_ISREG(info.st_mode):
            kind = "a symlink" if stat.S_ISLNK(info.st_mode) else "a special file"
            raise UnsafeArtifactError(f"path: expected a regular file, got {kind} at {path}")
        fd = _open_no_follow(path)
        with os.fdopen(fd, "rb") as handle:
            if info.st_size < _CHUNK:  # small: read once, then hash and store from memory
                data = handle.read(_CHUNK)
                if len(data) < _CHUNK:
                    return self._put_bytes(data, batch), len(data)
            elif info.st_size <= _REUSE_LIMIT:  # hashed first: not copied if already stored
                digest = hashlib.sha256()
                for chunk in iter(lambda: handle.read(_CHUNK), b""):
                    digest.update(chunk)
                if self._reuse(digest.hexdigest(), batch):
                    return digest.hexdigest(), handle.tell()
            handle.seek(0)  # big files: one pass that copies while hashing is cheaper
            return self._write_stream(iter(lambda: handle.read(_CHUNK), b""), batch)

    def put_directory(self, src: Path) -> str:
        """Store every regular file under ``src`` and a manifest; return the manifest's sha256.

        Symlinks, sockets, devices and names that :func:`check_relative_name` refuses raise
        UnsafeArtifactError before anything is stored.

        Durability: every file is written to a temporary name and given its final name
        (``root/sha256/<2 hex>/<sha256>``) only once complete; then one round of concurrent
        fsyncs covers every blob the manifest names, the manifest itself, and their folders
        (known blobs included: another writer may have named one an instant ago and not have
        synced it yet). Only after that round does this method return the manifest's sha256,
        so a version row, committed after it, never points at content that is not durable. A
        crash before the round ends can leave a blob whose name reached the disk and whose
        content did not: nothing points at it, reads refuse it (the sha256 is checked on
        every read), and the next write of that content replaces it.
        """
        return self.stage_directory(Path(src)).wait()

    def stage_directory(self, src: Path) -> StagedDirectory:
        """Store ``src`` as :meth:`put_directory` does, but return once the fsync round starts.

        The returned :class:`StagedDirectory` names the manifest; its ``wait()`` returns once
        the round has ended, that is once the directory is durable. A caller may overlap other
        work with the round (the registry inserts the version row meanwhile) and must call
        ``wait()`` before anything that others can see points at the directory (the registry
        waits before its transaction commits).
        """
        src = Path(src)
        if not src.exists() and not src.is_symlink():
            raise NotFoundError(f"src: no such directory {src}")
        if src.is_symlink() or not src.is_dir():
            raise UnsafeArtifactError(f"src: expected a directory (not a symlink), got {src}")
        files = list(self._walk(src, ""))
        batch = _Batch()
        manifest: dict[str, dict[str, Any]] = {}
        for name, path in files:
            sha, size = self._put_file(path, batch)
            manifest[name] = {"sha256": sha, "size": size}
        payload = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode("utf-8")
        manifest_sha = self._put_bytes(payload, batch)
        self._remember_manifest(manifest_sha, manifest)
        return StagedDirectory(manifest_sha, self._start_sync(batch))

    def _remember_manifest(self, sha: str, manifest: dict[str, dict[str, Any]]) -> None:
        if len(self._manifests) >= _DURABLE_MEMORY:
            self._manifests.clear()
        self._manifests[sha] = {name: dict(entry) for name, entry in manifest.items()}

    def stage_stored(self, manifest_sha: str) -> StagedDirectory:
        """A directory already in the store, checked complete, staged like :meth:`stage_directory`.

        Nothing is copied: the manifest is read and verified (its sha256 and its entries,
        :meth:`read_manifest`), and every blob it names must be stored as a regular file of
        the recorded size, else IntegrityError (NotFoundError for an unknown manifest). A
        blob this store wrote or verified and then synced itself (same path, device, inode
        and change time) is taken as is; any other is hashed in full and joins the fsync
        round, so ``wait()`` returns once the whole directory is durable, whoever stored it.
        Reads still verify every blob (:meth:`materialize`).
        """
        manifest_sha = check_sha256(manifest_sha, field="artifact_sha256")
        manifest = self._manifests.get(manifest_sha)
        if manifest is None:
            manifest = self.read_manifest(manifest_sha)
        batch = _Batch()
        if not self._reuse(manifest_sha, batch):  # the stored file is there and hashes to its name
            raise IntegrityError(
                f"manifest {manifest_sha}: the stored manifest is absent, changed or corrupt"
            )
        for name, entry in sorted(manifest.items()):
            sha = entry["sha256"]
            path = self.path_of(sha)
            try:
                info = path.lstat()
            except FileNotFoundError:
                info = None
            if info is None or not stat.S_ISREG(info.st_mode) or info.st_size != entry["size"]:
                found = "absent" if info is None else f"{info.st_size} bytes, mode {info.st_mode:o}"
                raise IntegrityError(
                    f"manifest {manifest_sha}: entry {name!r}: expected a stored blob {sha} of "
                    f"{entry['size']} bytes, got {found}"
                )
            if not self._reuse(sha, batch, info):
                raise IntegrityError(
                    f"manifest {manifest_sha}: entry {name!r}: blob {sha} does not hash to its "
                    "name (corrupt, truncated or tampered with)"
                )
        return StagedDirectory(manifest_sha, self._start_sync(batch))

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
        fd = self._open_blob(sha)
        digest = hashlib.sha256()
        size = 0
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
        self._remember_manifest(manifest_sha, manifest)
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


__all__ = ["ArtifactStore", "StagedDirectory", "check_relative_name", "check_sha256"]
