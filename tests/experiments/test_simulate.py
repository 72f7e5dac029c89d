"""``lifelong simulate``: clear errors on unusable files, and a real replay on a shared stream."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lifelong.cli import app
from lifelong.errors import DataError
from lifelong.experiments import POLICIES, policy_config, profile_stream, simulate


def csv(tmp_path: Path, frame: pd.DataFrame) -> Path:
    path = tmp_path / "stream.csv"
    frame.to_csv(path, index=False)
    return path


def base(n: int = 10) -> pd.DataFrame:
    return pd.DataFrame({
        "ts": pd.date_range("2024-01-01", periods=n, freq="h").astype(str),
        "x": range(n),
        "kind": ["a", "b"] * (n // 2),
        "y": [0, 1] * (n // 2),
    })


CASES: list[tuple[Any, dict[str, str], str]] = [
    (lambda f: f, {"timestamp": "time"}, "--timestamp: column 'time' not found"),
    (lambda f: f.iloc[[0, 2, 1, 3, 4, 5]], {}, "expected times in increasing order, but row 3"),
    (lambda f: f, {"target": "label"}, "--target: column 'label' not found"),
    (lambda f: f.assign(empty=None), {}, "columns ['empty']: every value is missing"),
    (lambda f: f.assign(y=1), {}, "y: expected at least two classes to predict, got only [1]"),
    (lambda f: f.assign(ts=["2024-01-01", "soon", *f["ts"][2:]]), {}, "expected a time in every row, got 'soon' in row 2"),
]
IDS = ["missing-timestamp", "unsorted", "missing-target", "all-missing-column", "single-class", "bad-time"]


@pytest.mark.parametrize(("mutate", "args", "message"), CASES, ids=IDS)
def test_unusable_streams_get_clear_errors(tmp_path: Path, mutate: Any, args: dict[str, str], message: str) -> None:
    path = csv(tmp_path, mutate(base(6)))
    kwargs = {"timestamp": "ts", "target": "y", **args}
    with pytest.raises(DataError) as info:
        profile_stream(path, **kwargs)
    assert message in str(info.value)


@pytest.mark.parametrize(("mutate", "args", "message"), CASES, ids=IDS)
def test_cli_exits_2_with_the_message_and_no_traceback(tmp_path: Path, mutate: Any, args: dict[str, str], message: str) -> None:
    path = csv(tmp_path, mutate(base(6)))
    options = {"timestamp": "ts", "target": "y", **args}
    result = CliRunner().invoke(
        app,
        ["simulate", "--data", str(path), "--timestamp", options["timestamp"], "--target", options["target"], "--json", str(tmp_path / "o.json")],
    )
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output and not (tmp_path / "o.json").exists()


def test_a_real_process_exits_2_without_traceback(tmp_path: Path) -> None:
    path = csv(tmp_path, base(6).assign(y=1))
    result = subprocess.run(
        [sys.executable, "-c", "from lifelong.cli import main; main()", "simulate", "--data", str(path),
         "--timestamp", "ts", "--target", "y", "--json", str(tmp_path / "out.json")],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 2
    assert "expected at least two classes" in result.stderr and "Traceback" not in result.stderr + result.stdout


def test_features_are_inferred_and_unknown_drops_are_refused(tmp_path: Path) -> None:
    frame = base(20).assign(flag=[True, False] * 10, note=[f"n{i}" for i in range(20)])
    path = csv(tmp_path, frame)
    profile = profile_stream(path, timestamp="ts", target="y", max_categories=5, initial_fraction=0.5)
    assert profile.numeric == ("x",)
    assert profile.categorical == {"kind": ("a", "b"), "flag": ("False", "True")}
    assert "note" in profile.dropped and profile.classes == (0, 1)
    assert profile_stream(path, timestamp="ts", target="y", drop=("x",)).numeric == ()
    with pytest.raises(DataError, match=r"--drop: columns \['nope'\] not found"):
        profile_stream(path, timestamp="ts", target="y", drop=("nope",))


def test_every_policy_is_a_valid_pipeline_spec(tmp_path: Path) -> None:
    profile = profile_stream(csv(tmp_path, base(40)), timestamp="ts", target="y")
    kinds = {name: [t.kind for t in policy_config(profile, name, home=tmp_path / name).triggers.triggers] for name in POLICIES}
    assert kinds["default"] == ["volume"] and kinds["stateless-daily"] == ["interval"]
    assert kinds["triggered"] == ["performance", "volume", "volume"]


def test_the_default_short_challenger_is_the_policy_model_with_fewer_bins(tmp_path: Path) -> None:
    profile = profile_stream(csv(tmp_path, base(40)), timestamp="ts", target="y")
    config = policy_config(profile, "default", home=tmp_path / "home")
    challengers = {challenger.name: challenger.model for challenger in config.evaluation.challengers}
    short = challengers["short"]
    assert short is not None and short.max_bin == 63 and config.model.max_bin == 255
    assert short.model_dump(exclude={"max_bin"}) == config.model.model_dump(exclude={"max_bin"})
    assert challengers["medium"] is None and challengers["long"] is None  # the policy's own model


def test_simulation_on_elec2_slice_serves_every_row_through_the_loop(tmp_path: Path, datasets: Path) -> None:
    frame = pd.read_csv(datasets / "elec2.csv", nrows=3000)
    profile = profile_stream(csv(tmp_path, frame), timestamp="timestamp", target="label", drop=("date", "nswprice"))
    result = simulate(profile, ["static", "default"])
    assert result["rows"] == 3000 and result["features"]["context"] is True
    static, default = result["policies"]["static"], result["policies"]["default"]
    assert static["versions"] == 1 and default["versions"] >= 5 and default["promotions"] >= 3
    assert default["accuracy"] > static["accuracy"] + 0.02
    assert 0.6 < default["accuracy"] < 1.0 and default["samples_per_s"] > 0 and default["train_cpu_s"] > 0
    assert sum(point["rows"] for point in default["timeline"]) == 3000
    json.dumps(result)


def test_cli_writes_the_json_report(tmp_path: Path, datasets: Path) -> None:
    path = csv(tmp_path, pd.read_csv(datasets / "sea.csv", nrows=1200))
    out = tmp_path / "report" / "sim.json"
    result = CliRunner().invoke(
        app, ["simulate", "--data", str(path), "--timestamp", "timestamp", "--target", "label", "--label-delay", "30m", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["rows"] == 1200 and report["label_delay_s"] == 1800
    row = report["policies"]["default"]
    assert set(row) >= {"accuracy", "samples_per_s", "train_cpu_s", "versions", "promotions"}
    assert row["accuracy"] > 0.6


def test_default_policy_runs_on_categorical_inputs_and_a_multiclass_string_target(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 1_600
    kind = rng.choice(["red", "green", "blue"], n)
    x = rng.standard_normal(n)
    target = np.where(kind == "red", "stop", np.where(x > 0, "go", "wait"))
    frame = pd.DataFrame({"ts": pd.date_range("2024-01-01", periods=n, freq="min").astype(str), "x": x, "kind": kind, "y": target})
    profile = profile_stream(csv(tmp_path, frame), timestamp="ts", target="y")
    assert profile.categorical == {"kind": ("blue", "green", "red")} and len(profile.classes) == 3
    default = simulate(profile, ["default"])["policies"]["default"]
    served = default["timeline"][2:]  # the first 500 rows are served before any model exists
    assert default["promotions"] >= 2 and all(part["accuracy"] > 0.95 for part in served), served
