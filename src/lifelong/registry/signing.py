"""HMAC-SHA256 signatures for artifact formats that need pickle (River checkpoints).

A pickle is loaded only when its signature verifies under this installation's key, so a
file that lifelong did not write is never unpickled.

Examples
--------
>>> signer = Signer(b"k" * 32)
>>> signature = signer.sign(b"state")
>>> signer.verify(b"state", signature)
>>> signer.verify(b"other", signature)
Traceback (most recent call last):
...
lifelong.errors.IntegrityError: signature: does not match the data (HMAC-SHA256)
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
import tempfile
from pathlib import Path

from lifelong.errors import ConfigError, IntegrityError, NotFoundError, UnsafeArtifactError

KEY_BYTES = 32
MIN_KEY_BYTES = 16
_HEX64 = re.compile(r"[0-9a-f]{64}")


class Signer:
    """Sign and verify bytes with HMAC-SHA256 under a secret key.

    Parameters
    ----------
    key
        Secret key, at least 16 bytes.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> tmp = tempfile.TemporaryDirectory()
    >>> signer = Signer.from_file(Path(tmp.name) / "signing.key")
    >>> again = Signer.from_file(Path(tmp.name) / "signing.key")
    >>> again.verify(b"x", signer.sign(b"x"))
    >>> tmp.cleanup()
    """

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, (bytes, bytearray)):
            raise ConfigError(f"key: expected bytes, got {type(key).__name__}")
        if len(key) < MIN_KEY_BYTES:
            raise ConfigError(f"key: expected at least {MIN_KEY_BYTES} bytes, got {len(key)}")
        self._key = bytes(key)

    def __repr__(self) -> str:
        return "Signer(key=<hidden>)"

    def sign(self, data: bytes) -> str:
        """Return the hex HMAC-SHA256 of ``data``."""
        return hmac.new(self._key, bytes(data), hashlib.sha256).hexdigest()

    def sign_file(self, path: Path) -> str:
        """Return the hex HMAC-SHA256 of the file at ``path``, read in chunks."""
        mac = hmac.new(self._key, digestmod=hashlib.sha256)
        with Path(path).open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                mac.update(chunk)
        return mac.hexdigest()

    def verify(self, data: bytes, signature: str) -> None:
        """Raise IntegrityError unless ``signature`` is the HMAC of ``data`` (constant time)."""
        self._check(self.sign(data), signature)

    def verify_file(self, path: Path, signature: str) -> None:
        """Raise IntegrityError unless ``signature`` is the HMAC of the file at ``path``."""
        self._check(self.sign_file(path), signature)

    @staticmethod
    def _check(expected: str, signature: object) -> None:
        if not isinstance(signature, str) or _HEX64.fullmatch(signature) is None:
            raise IntegrityError(
                f"signature: expected 64 lowercase hex characters, got {signature!r:.80}"
            )
        if not hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii")):
            raise IntegrityError("signature: does not match the data (HMAC-SHA256)")

    @classmethod
    def from_file(cls, path: Path, *, create: bool = True) -> Signer:
        """Read the key at ``path``; when absent and ``create``, write a random 32-byte key.

        The key file is created with mode 0600. On POSIX, a key file that is a symlink or is
        readable by group or others is refused.
        """
        path = Path(path)
        if create and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            key = secrets.token_bytes(KEY_BYTES)
            fd, name = tempfile.mkstemp(prefix=".tmp-key-", dir=path.parent)  # mode 0600
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(key)
                    handle.flush()
                    os.fsync(handle.fileno())
                # link() publishes the complete file, and fails if another process won.
                os.link(name, path)
            except FileExistsError:
                pass  # another process created the key first: read theirs
            else:
                return cls(key)
            finally:
                os.unlink(name)
        try:
            info = path.lstat()
        except FileNotFoundError as exc:
            raise NotFoundError(f"path: signing key file {path} does not exist") from exc
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeArtifactError(f"path: expected a regular key file, got {path}")
        if os.name == "posix" and info.st_mode & 0o077:
            raise UnsafeArtifactError(
                f"path: key file {path} has mode {stat.S_IMODE(info.st_mode):o}; "
                "expected 600 (chmod 600 it)"
            )
        key = path.read_bytes()
        if len(key) < MIN_KEY_BYTES:
            raise ConfigError(
                f"path: key file {path}: expected at least {MIN_KEY_BYTES} bytes, got {len(key)}"
            )
        return cls(key)


__all__ = ["Signer"]
