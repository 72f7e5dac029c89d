"""What tests share about their surroundings: CI or not, the shared datasets, service checks.

A test that needs an absent service skips with the reason, except under ``CI=true``, where it
fails: CI must exercise the real thing. (Imported by name from test modules: unlike the several
``conftest.py`` files, this module name is unique.)
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
DATASETS = Path(
    os.environ.get("LIFELONG_DATASETS", Path(__file__).resolve().parents[1].parent / "shared" / "datasets")
)


def require(condition: bool, reason: str) -> None:
    """Skip when ``condition`` is false, or fail under CI."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0
