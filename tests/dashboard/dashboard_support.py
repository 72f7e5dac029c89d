"""Helpers shared by the dashboard tests."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lifelong.config import load_config
from lifelong.dashboard import DashboardSource
from lifelong.runtime import Pipeline

ADMIN_TOKEN = "dashboard-s3cret"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = Path(os.environ.get("LIFELONG_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def require(condition: bool, reason: str) -> None:
    """Skip when ``condition`` is false, or fail under CI (as tests/conftest.py does)."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


@dataclass
class Served:
    """A running dashboard: its URL, its data source and the demo's workdir."""

    url: str
    source: DashboardSource
    workdir: Path
    summary: dict[str, Any]


def open_source(workdir: Path, **options: Any) -> DashboardSource:
    """The dashboard source of the demo folder ``workdir`` (slow parts cached for the session)."""
    pipeline = Pipeline.open(load_config(workdir / "lifelong.yaml"), project_dir=workdir)
    return DashboardSource.from_pipeline(pipeline, **{"cache_ttl_s": 600.0, **options})
