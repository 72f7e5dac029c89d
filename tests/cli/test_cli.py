"""The command line as a user runs it: a real subprocess, exit codes, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml
from pipeline_support import write_spec, write_stream




def lifelong(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from lifelong.cli import main; main()", *args],
        cwd=cwd, capture_output=True, text=True, timeout=240, check=False,
    )


def test_init_writes_a_valid_commented_example(tmp_path: Path) -> None:
    result = lifelong("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "lifelong.yaml").read_text()
    assert text.count("#") > 20
    check = lifelong("check", cwd=tmp_path)
    assert check.returncode == 0 and json.loads(check.stdout)["name"] == "churn"
    again = lifelong("init", cwd=tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr


def test_malformed_config_exits_2_naming_the_field(tmp_path: Path) -> None:
    spec = yaml.safe_load(write_spec(tmp_path).read_text())
    spec["training"]["mode"] = "sometimes"
    spec["model"]["num_leaves"] = "lots"
    (tmp_path / "lifelong.yaml").write_text(yaml.safe_dump(spec))
    result = lifelong("check", cwd=tmp_path)
    assert result.returncode == 2
    assert "training.mode: expected 'stateless' or 'stateful', got 'sometimes'" in result.stderr
    assert "model.num_leaves" in result.stderr and "'lots'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_broken_yaml_and_missing_file_exit_2(tmp_path: Path) -> None:
    (tmp_path / "lifelong.yaml").write_text("name: [oops\n")
    broken = lifelong("versions", "x", cwd=tmp_path)
    assert broken.returncode == 2 and "line" in broken.stderr and "Traceback" not in broken.stderr
    missing = lifelong("versions", "x", "-c", "nope.yaml", cwd=tmp_path)
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_stage_one_commands_end_to_end(tmp_path: Path) -> None:
    write_stream(tmp_path / "events.csv", days=3)
    write_spec(tmp_path)
    run = lifelong("run", "--step", "12h", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    versions = json.loads(lifelong("versions", "churn", "--json", cwd=tmp_path).stdout)
    assert [v["version"] for v in versions][:2] == ["1.0", "1.1"]
    assert versions[1]["parent"] == "1.0" and versions[1]["snapshot"]["sha256"]

    retrain = lifelong("retrain", "churn", "--from-scratch", cwd=tmp_path)
    assert retrain.returncode == 0, retrain.stderr
    latest = json.loads(lifelong("versions", "churn", "--json", cwd=tmp_path).stdout)[-1]
    assert latest["mode"] == "stateless" and latest["iteration"] == "data" and latest["trigger"]["kind"] == "manual"

    champion = next(v["version"] for v in json.loads(lifelong("versions", "churn", "--json", cwd=tmp_path).stdout) if "champion" in v["aliases"])
    promote = lifelong("promote", "churn", "1.0", "--force", "--reason", "test", cwd=tmp_path)
    assert promote.returncode == 0, promote.stderr
    rollback = lifelong("rollback", "churn", cwd=tmp_path)
    assert rollback.returncode == 0 and f"→ {champion}" in rollback.stdout
    lineage = json.loads(lifelong("lineage", "churn", "--json", cwd=tmp_path).stdout)
    assert lineage["chain"][0]["version"] == champion and lineage["chain"][-1]["version"] == "1.0"
    reasons = [change["reason"] for change in lineage["aliases"]]
    assert "test" in reasons

    unknown = lifelong("promote", "churn", "9.9", cwd=tmp_path)
    assert unknown.returncode == 2 and "9.9" in unknown.stderr and "Traceback" not in unknown.stderr
    wrong_model = lifelong("retrain", "nosuch", cwd=tmp_path)
    assert wrong_model.returncode == 2
