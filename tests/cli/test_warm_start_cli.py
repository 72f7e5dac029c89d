"""``lifelong retrain MODEL --grow`` / ``--distill``: a new major version started from the champion."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pipeline_support import spec, write_stream

pytest.importorskip("torch", reason="the 'torch' extra is not installed")

MLP: dict[str, Any] = {"kind": "torch_mlp", "hidden": [8], "epochs": 5, "update_epochs": 2}


def lifelong(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from lifelong.cli import main; main()", *args],
        cwd=cwd, capture_output=True, text=True, timeout=240, check=False,
    )


def _write(tmp_path: Path, model: dict[str, Any]) -> None:
    (tmp_path / "lifelong.yaml").write_text(yaml.safe_dump(spec(tmp_path, model=model), sort_keys=False))


def test_retrain_grow_and_distill_from_the_champion(tmp_path: Path) -> None:
    write_stream(tmp_path / "events.csv", days=3)
    _write(tmp_path, MLP)
    run = lifelong("run", "--step", "12h", cwd=tmp_path)
    assert run.returncode == 0, run.stderr

    # the spec still describes the champion's shape: nothing to grow into
    same = lifelong("retrain", "churn", "--grow", cwd=tmp_path)
    assert same.returncode == 2, same.stderr
    assert "--grow: expected the spec's model to differ in shape from champion 1." in same.stderr
    assert "Traceback" not in same.stderr

    _write(tmp_path, {**MLP, "hidden": [16, 16]})
    both = lifelong("retrain", "churn", "--grow", "--distill", cwd=tmp_path)
    assert both.returncode == 2 and "--distill/--grow: expected one way" in both.stderr
    cold = lifelong("retrain", "churn", "--grow", "--from-scratch", cwd=tmp_path)
    assert cold.returncode == 2 and "--from-scratch: starts cold, expected it without --grow" in cold.stderr

    grown = lifelong("retrain", "churn", "--grow", cwd=tmp_path)
    assert grown.returncode == 0, grown.stderr
    assert "churn 2.0" in grown.stdout and "grown from 1." in grown.stdout
    versions = {v["version"]: v for v in json.loads(lifelong("versions", "churn", "--json", cwd=tmp_path).stdout)}
    grown_from = versions["2.0"]["trigger"]["warm_start"]
    assert grown_from["method"] == "grow" and grown_from["from"] == versions["2.0"]["parent"]
    assert versions["2.0"]["iteration"] == "model" and versions[grown_from["from"]]["version"].startswith("1.")

    # narrower than the champion cannot be grown: exit 2 naming the layer
    _write(tmp_path, {**MLP, "hidden": [4]})
    narrow = lifelong("retrain", "churn", "--grow", cwd=tmp_path)
    assert narrow.returncode == 2, narrow.stderr
    assert "error: hidden: growing keeps every layer" in narrow.stderr and "got [4]" in narrow.stderr

    # distillation accepts any new shape
    distilled = lifelong("retrain", "churn", "--distill", cwd=tmp_path)
    assert distilled.returncode == 0, distilled.stderr
    assert "distilled from" in distilled.stdout
    latest = json.loads(lifelong("versions", "churn", "--json", cwd=tmp_path).stdout)[-1]
    assert latest["version"].endswith(".0") and latest["trigger"]["warm_start"]["method"] == "distill"


def test_retrain_grow_refuses_a_model_that_is_not_a_network(tmp_path: Path) -> None:
    write_stream(tmp_path / "events.csv", days=2)
    _write(tmp_path, {"kind": "lightgbm", "n_estimators": 10})
    result = lifelong("retrain", "churn", "--grow", cwd=tmp_path)
    assert result.returncode == 2
    assert "--grow: expected a torch_mlp or torch_embedding model in the spec, got kind 'lightgbm'" in result.stderr


def test_retrain_distill_without_a_champion_exits_2(tmp_path: Path) -> None:
    write_stream(tmp_path / "events.csv", days=2)
    _write(tmp_path, MLP)
    result = lifelong("retrain", "churn", "--distill", cwd=tmp_path)
    assert result.returncode == 2
    assert "--distill: expected a champion of 'churn' to start from, got none" in result.stderr
