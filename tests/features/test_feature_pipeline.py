"""FeaturePipeline: one transform for training batches and serving rows."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifelong.errors import ConfigError, ValidationError
from lifelong.features import FeaturePipeline


def _pipeline(**kwargs: Any) -> FeaturePipeline:
    return FeaturePipeline(
        numeric=("x1", "x2"),
        categorical={"colour": ("red", "green", "blue"), "size": (1, 2)},
        **kwargs,
    )


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 30
    return pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "x1": rng.normal(size=n),
            "x2": rng.integers(-5, 5, size=n),
            "colour": rng.choice(["red", "green", "blue", "purple"], size=n),
            "size": rng.choice([1, 2, 3], size=n),
        }
    )


def test_output_columns_and_values() -> None:
    pipeline = _pipeline()
    assert pipeline.feature_names == (
        "x1",
        "x2",
        "colour=red",
        "colour=green",
        "colour=blue",
        "size=1",
        "size=2",
    )
    assert pipeline.signature() == {"columns": list(pipeline.feature_names)}
    frame = pd.DataFrame({"x1": [0.5], "x2": [3], "colour": ["blue"], "size": [2]})
    matrix = pipeline.transform(frame)
    assert matrix.dtype == np.float64
    np.testing.assert_array_equal(matrix, [[0.5, 3.0, 0.0, 0.0, 1.0, 0.0, 1.0]])


def test_batch_and_row_by_row_paths_give_identical_matrices() -> None:
    """Training transforms a window; the server transforms request rows one at a time."""
    pipeline = _pipeline()
    frame = _frame()
    batch = pipeline.transform(frame)
    plain = [
        {k: getattr(v, "item", lambda v=v: v)() for k, v in row.items()}
        for row in frame.to_dict("records")
    ]
    records = json.loads(json.dumps(plain))  # as a JSON request body arrives
    one_by_one = np.vstack([pipeline.transform_records([record]) for record in records])
    np.testing.assert_array_equal(batch, one_by_one)
    np.testing.assert_array_equal(batch, pipeline.transform_records(records))
    # unseen categories (purple, size 3) are in the data and encode as all zeros
    assert (batch[frame["colour"].eq("purple").to_numpy(), 2:5] == 0).all()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "x1": st.one_of(st.integers(-1000, 1000), st.floats(-1e6, 1e6)),
                "colour": st.one_of(st.sampled_from(["red", "blue", "teal"]), st.none()),
            }
        ),
        min_size=1,
        max_size=8,
    )
)
def test_paths_agree_on_any_rows(records: list[dict[str, Any]]) -> None:
    pipeline = FeaturePipeline(
        numeric=("x1",), categorical={"colour": ("red", "blue")}, missing="impute"
    )
    batch = pipeline.transform(pd.DataFrame.from_records(records))
    rows = np.vstack([pipeline.transform_records([record]) for record in records])
    np.testing.assert_array_equal(batch, rows)


@pytest.mark.parametrize(
    ("value", "shown"), [(np.nan, "nan"), (np.inf, "inf"), (-np.inf, "-inf"), (None, "nan")]
)
def test_non_finite_numbers_are_refused_naming_row_and_column(value: Any, shown: str) -> None:
    frame = pd.DataFrame({"x1": [1.0, 2.0, value], "x2": [0, 0, 0], "colour": "red", "size": 1})
    with pytest.raises(
        ValidationError, match=f"x1: expected a finite number, got {shown} at row 2"
    ) as info:
        _pipeline().transform(frame)
    assert info.value.field == "x1"


def test_impute_replaces_non_finite_and_missing_with_zeros() -> None:
    frame = pd.DataFrame(
        {"x1": [np.nan, np.inf], "x2": [1, 2], "colour": [None, "red"], "size": [2, None]}
    )
    matrix = _pipeline(missing="impute").transform(frame)
    np.testing.assert_array_equal(
        matrix, [[0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0], [0.0, 2.0, 1.0, 0.0, 0.0, 0.0, 0.0]]
    )


def test_missing_category_value_is_refused_under_error() -> None:
    frame = pd.DataFrame({"x1": [1.0], "x2": [1], "colour": [None], "size": [1]})
    with pytest.raises(
        ValidationError, match="colour: expected one of .* got a missing value at row 0"
    ):
        _pipeline().transform(frame)


def test_unseen_category_error_names_column_and_value() -> None:
    frame = pd.DataFrame({"x1": [1.0, 2.0], "x2": [1, 1], "colour": ["red", "mauve"], "size": 1})
    with pytest.raises(
        ValidationError, match="colour: expected one of .*, got unseen 'mauve' at row 1"
    ) as info:
        _pipeline(unseen="error").transform(frame)
    assert info.value.field == "colour"
    ignored = _pipeline(unseen="ignore").transform(frame)
    np.testing.assert_array_equal(ignored[1, 2:5], [0.0, 0.0, 0.0])


def test_missing_columns_are_all_named() -> None:
    frame = pd.DataFrame({"x1": [1.0], "size": [1]})
    with pytest.raises(ValidationError, match="^x2, colour: expected the column") as info:
        _pipeline().transform(frame)
    assert info.value.field == "x2"


def test_text_in_a_numeric_column_is_refused() -> None:
    frame = pd.DataFrame({"x1": [1.0, "abc"], "x2": [1, 1], "colour": "red", "size": 1})
    with pytest.raises(ValidationError, match="x1: expected a number, got 'abc' at row 1"):
        _pipeline().transform(frame)


def test_column_order_and_extra_columns_do_not_matter() -> None:
    frame = _frame()
    reordered = frame[["size", "colour", "event_id", "x2", "x1"]].assign(extra="ignored")
    np.testing.assert_array_equal(_pipeline().transform(frame), _pipeline().transform(reordered))


def test_empty_input_gives_an_empty_matrix() -> None:
    assert _pipeline().transform_records([]).shape == (0, 7)


def test_dict_round_trip() -> None:
    pipeline = _pipeline(missing="impute", unseen="error")
    data = json.loads(json.dumps(pipeline.to_dict()))
    rebuilt = FeaturePipeline.from_dict(data)
    assert rebuilt == pipeline
    assert rebuilt.feature_names == pipeline.feature_names
    frame = _frame()[lambda f: f["colour"].ne("purple") & f["size"].ne(3)]
    np.testing.assert_array_equal(rebuilt.transform(frame), pipeline.transform(frame))


def test_categorical_only_pipeline() -> None:
    pipeline = FeaturePipeline(numeric=(), categorical={"colour": ("red",)})
    np.testing.assert_array_equal(
        pipeline.transform(pd.DataFrame({"colour": ["red", "blue"]})), [[1.0], [0.0]]
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"numeric": ()}, "expected at least one feature column"),
        ({"numeric": "x1"}, "numeric: expected a list of column names"),
        ({"numeric": ("x1", "x1")}, r"expected each column once, got \['x1'\]"),
        ({"numeric": ("x1",), "categorical": {"x1": ("a",)}}, "expected each column once"),
        (
            {"numeric": ("x1",), "categorical": {"c": ()}},
            "categorical.c: expected a non-empty list",
        ),
        (
            {"numeric": ("x1",), "categorical": {"c": ("a", "a")}},
            "categorical.c: expected distinct",
        ),
        (
            {"numeric": ("x1",), "categorical": {"c": (1.5,)}},
            "categorical.c: expected string or integer",
        ),
        (
            {"numeric": ("x1",), "missing": "drop"},
            "missing: expected 'error' or 'impute', got 'drop'",
        ),
        (
            {"numeric": ("x1",), "unseen": "keep"},
            "unseen: expected 'error' or 'ignore', got 'keep'",
        ),
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        FeaturePipeline(**kwargs)


def test_from_dict_refuses_unknown_keys() -> None:
    with pytest.raises(ConfigError, match="features.scale: expected keys"):
        FeaturePipeline.from_dict({"numeric": ["x1"], "scale": True})
