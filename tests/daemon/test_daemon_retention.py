"""``lifelong run`` applies the spec's ``retention``: old raw events go, versions say what that costs."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from pipeline_support import spec, write_stream

from lifelong.config import load_config
from lifelong.errors import ConfigError
from lifelong.events import ParquetEventStore
from lifelong.registry import Registry

COMMAND = [sys.executable, "-c", "from lifelong.cli import main; main()"]


def test_the_daemon_deletes_raw_events_past_the_horizon_and_marks_versions(tmp_path: Path) -> None:
    write_stream(tmp_path / "events.csv", days=6)
    data = spec(tmp_path, retention={"older_than": "3d", "every": "12h"})
    path = tmp_path / "lifelong.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    result = subprocess.run([*COMMAND, "run", "-c", str(path), "--step", "6h"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)  # one model: its summary alone
    assert summary["retention_days_deleted"] >= 2
    config = load_config(path)
    store = ParquetEventStore(config.home / "events")
    try:
        kept = store.window("events")["event_time"]
    finally:
        store.close()
    assert kept.min() >= kept.max().floor("D") - timedelta(days=4)  # nothing older than the horizon's days
    with Registry.open(config.home) as registry:
        versions = registry.versions("churn")
    marked = [v.version for v in versions if v.metrics.get("reproducible_from_raw") is False]
    assert marked and marked[0] == "1.0" and versions[-1].version not in marked


def test_a_horizon_shorter_than_the_training_window_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "lifelong.yaml"
    path.write_text(yaml.safe_dump(spec(tmp_path, retention={"older_than": "1d"}), sort_keys=False))
    with pytest.raises(ConfigError, match=r"retention.older_than: expected at least training.window \+ training.holdout \(2d6h\), got 1d"):
        load_config(path)
