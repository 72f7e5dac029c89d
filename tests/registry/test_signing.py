"""HMAC signing of pickle-based artifacts."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from lifelong.errors import ConfigError, IntegrityError, NotFoundError, UnsafeArtifactError
from lifelong.registry import Signer


def test_sign_and_verify(tmp_path: Path) -> None:
    signer = Signer(b"0123456789abcdef0123456789abcdef")
    signature = signer.sign(b"checkpoint")
    assert len(signature) == 64
    signer.verify(b"checkpoint", signature)
    with pytest.raises(IntegrityError, match="does not match"):
        signer.verify(b"checkpoinT", signature)
    with pytest.raises(IntegrityError, match="does not match"):
        Signer(b"another key of 16+ bytes").verify(b"checkpoint", signature)
    with pytest.raises(IntegrityError, match="64 lowercase hex"):
        signer.verify(b"checkpoint", signature[:-1])
    path = tmp_path / "state.pkl"
    path.write_bytes(b"checkpoint")
    assert signer.sign_file(path) == signature
    signer.verify_file(path, signature)
    path.write_bytes(b"tampered")
    with pytest.raises(IntegrityError):
        signer.verify_file(path, signature)
    assert "0123" not in repr(signer)
    with pytest.raises(ConfigError, match="at least 16 bytes"):
        Signer(b"short")


def test_key_file_created_once_with_mode_0600(tmp_path: Path) -> None:
    key_path = tmp_path / "keys" / "signing.key"
    with pytest.raises(NotFoundError, match="does not exist"):
        Signer.from_file(key_path, create=False)
    first = Signer.from_file(key_path)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert len(key_path.read_bytes()) == 32
    second = Signer.from_file(key_path, create=False)
    second.verify(b"x", first.sign(b"x"))
    assert [p.name for p in key_path.parent.iterdir()] == ["signing.key"]
    os.chmod(key_path, 0o644)
    with pytest.raises(UnsafeArtifactError, match="chmod 600"):
        Signer.from_file(key_path)
