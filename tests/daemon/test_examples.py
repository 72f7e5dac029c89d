"""The numbered examples: each has a one-line README and a spec that passes ``lifelong check``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lifelong.cli import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FOLDERS = sorted(path for path in EXAMPLES.iterdir() if path.is_dir() and path.name[:2].isdigit())


def test_examples_cover_the_four_stages_in_order() -> None:
    assert [folder.name[:2] for folder in FOLDERS] == ["01", "02", "03", "04"]


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda folder: folder.name)
def test_example_passes_lifelong_check(folder: Path) -> None:
    readme = (folder / "README.md").read_text().strip()
    assert readme and "\n" not in readme
    result = CliRunner().invoke(app, ["check", "-c", str(folder / "lifelong.yaml")])
    assert result.exit_code == 0, result.output
    spec = json.loads(result.output)
    assert spec["name"] == "sea" and spec["source"]["path"].endswith("shared/datasets/sea.csv")


def test_stage_four_uses_the_data_driven_triggers() -> None:
    result = CliRunner().invoke(app, ["check", "-c", str(EXAMPLES / "04_continual_learning" / "lifelong.yaml")])
    kinds = [leaf["kind"] for leaf in json.loads(result.output)["triggers"]["triggers"]]
    assert {"performance", "drift", "cost", "detector"} <= set(kinds)
