"""``lifelong simulate``: clear errors on unusable files, and a real replay on a shared stream."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from lifelong.errors import DataError
from lifelong.experiments import profile_stream, simulate


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


@pytest.mark.parametrize(
    ("mutate", "args", "message"),
    [
        (lambda f: f, {"timestamp": "time"}, "--timestamp: column 'time' not found"),
        (lambda f: f.iloc[[0, 2, 1, 3, 4, 5]], {}, "expected times in increasing order, but row 3"),
        (lambda f: f, {"target": "label"}, "--target: column 'label' not found"),
        (lambda f: f.assign(empty=None), {}, "columns ['empty']: every value is missing"),
        (lambda f: f.assign(y=1), {}, "y: expected at least two classes to predict, got only [1]"),
        (lambda f: f.assign(ts=["2024-01-01", "soon", *f["ts"][2:]]), {}, "expected a time in every row, got 'soon' in row 2"),
    ],
)
def test_unusable_streams_get_clear_errors(tmp_path: Path, mutate, args, message) -> None:  # type: ignore[no-untyped-def]
    path = csv(tmp_path, mutate(base(6)))
    kwargs = {"timestamp": "ts", "target": "y", **args}
    with pytest.raises(DataError) as info:
        profile_stream(path, **kwargs)
    assert message in str(info.value)


def test_cli_reports_bad_files_with_exit_code_2_and_no_traceback(tmp_path: Path) -> None:
    path = csv(tmp_path, base(6).assign(y=1))
    result = subprocess.run(
        [sys.executable, "-c", "from lifelong.cli import main; main()", "simulate", "--data", str(path),
         "--timestamp", "ts", "--target", "y", "--json", str(tmp_path / "out.json")],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 2
    assert "expected at least two classes" in result.stderr and "Traceback" not in result.stderr + result.stdout


def test_simulation_on_elec2_slice_compares_policies(tmp_path: Path, datasets: Path) -> None:
    frame = pd.read_csv(datasets / "elec2.csv", nrows=2400)
    path = csv(tmp_path, frame)
    profile = profile_stream(path, timestamp="timestamp", target="label")
    result = simulate(profile, ["static", "stateful-daily"])
    assert result["rows"] == 2400
    static, daily = result["policies"]["static"], result["policies"]["stateful-daily"]
    assert static["versions"] == 1 and daily["versions"] > 5
    assert daily["accuracy"] > static["accuracy"]
    assert 0.5 < daily["accuracy"] < 1.0 and daily["samples_per_s"] > 0 and daily["train_cpu_s"] > 0
    json.dumps(result)
