from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from lifelong.config import PipelineConfig, load_config, parse_config
from lifelong.errors import ConfigError
from lifelong.example_config import EXAMPLE_CONFIG


def minimal() -> dict[str, object]:
    return {
        "name": "ctr",
        "source": {"kind": "file", "path": "events.csv", "timestamp": "ts"},
        "labels": {"kind": "column", "column": "y"},
        "features": {"kind": "tabular", "numeric": ["x1"]},
        "model": {"kind": "lightgbm"},
    }


def test_example_config_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "lifelong.yaml"
    path.write_text(EXAMPLE_CONFIG)
    config = load_config(path)
    assert config.name == "churn"
    assert config.home == tmp_path / ".lifelong"
    assert config.triggers.triggers[1].kind == "volume"


def test_defaults_and_durations() -> None:
    config = parse_config({**minimal(), "training": {"window": "3d", "holdout": "90m"}})
    assert config.training.window == timedelta(days=3)
    assert config.training.holdout == timedelta(minutes=90)
    assert config.training.mode == "stateful"


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        ({"model": {"kind": "tensorflow"}}, "model.kind: expected one of 'lightgbm', 'sklearn', 'xgboost', 'river', 'torch_mlp', 'torch_embedding', 'implicit_als', 'river_mf', got 'tensorflow'"),
        ({"model": {"kind": "lightgbm", "num_leaves": "many"}}, "model.num_leaves: expected a valid integer"),
        ({"training": {"mode": "warm"}}, "training.mode: expected 'stateless' or 'stateful', got 'warm'"),
        ({"training": {"window": "3 fortnights"}}, "training.window: expected a duration"),
        ({"labels": {"kind": "column"}}, "labels.column: required field is missing"),
        ({"features": {"kind": "tabular"}}, "features: expected at least one numeric or categorical feature"),
        ({"triggers": {"triggers": [{"kind": "volume", "growth": 0}]}}, "triggers.triggers.0.growth: expected greater than 0, got 0"),
        ({"surprise": 1}, "surprise: unknown field"),
        ({"name": "../etc"}, "name: expected"),
    ],
)
def test_bad_config_names_field_expectation_and_value(patch: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({**minimal(), **patch})
    assert expected in str(info.value)


def test_bad_yaml_reports_position(tmp_path: Path) -> None:
    path = tmp_path / "lifelong.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="line"):
        load_config(path)


def test_missing_file_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yaml")


def test_hashes_separate_model_shape_from_the_rest() -> None:
    base = parse_config(minimal())
    other_window = parse_config({**minimal(), "training": {"window": "1d"}})
    other_model = parse_config({**minimal(), "model": {"kind": "lightgbm", "num_leaves": 7}})
    assert base.model_hash() == other_window.model_hash()
    assert base.config_hash() != other_window.config_hash()
    assert base.model_hash() != other_model.model_hash()


def test_round_trip_through_yaml() -> None:
    config = parse_config(minimal())
    dumped = yaml.safe_load(yaml.safe_dump(config.model_dump(mode="json", by_alias=True)))
    assert PipelineConfig.model_validate(dumped) == config
