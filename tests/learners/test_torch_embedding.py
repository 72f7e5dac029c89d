"""TorchEmbeddingLearner: id columns and one-hot blocks as lookups, unseen values, layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from learner_support import require_torch

from lifelong.errors import ConfigError, ValidationError
from lifelong.features import FeaturePipeline

pytestmark = pytest.mark.usefixtures("torch_required")


@pytest.fixture
def torch_required() -> None:
    require_torch()


def _embedding(**params: Any) -> Any:
    from lifelong.learners.torch_embedding import TorchEmbeddingLearner

    return TorchEmbeddingLearner(**{"hidden": (16,), "embedding_dim": 3, "epochs": 40, **params})


def _ids(seed: int, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Labels decided by the id alone (a lookup table), plus a noise column."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 6, size=n)
    X = np.column_stack([rng.normal(size=n), ids.astype(np.float64)])
    return X, np.isin(ids, (1, 2, 4)).astype(np.int64)


def test_id_columns_are_learned_lookups_with_an_unknown_row() -> None:
    X, y = _ids(0)
    learner = _embedding(id_columns=[[1, 6]]).fit(X, y)
    probe, truth = _ids(1)
    assert np.mean(learner.predict(probe) == truth) > 0.95
    weights = learner.weights()
    assert tuple(weights["embed.0.weight"].shape) == (7, 3)  # 6 ids + the unknown row
    assert tuple(weights["mlp.0.weight"].shape) == (16, 1 + 3)
    unseen = np.array([[0.0, 6.0], [0.0, -1.0], [0.0, 2.5], [0.0, np.nan]])
    proba = learner.predict_proba(unseen)
    # every unseen id reads the same unknown row: same prediction for the same numeric part
    np.testing.assert_allclose(proba, np.repeat(proba[:1], 4, axis=0), rtol=0, atol=1e-12)
    strict = _embedding(id_columns=[[1, 6]], unseen="error", epochs=2).fit(X, y)
    with pytest.raises(ValidationError, match=r"integer id in 0..5 in column 1, got 6.0 at row 0"):
        strict.predict(unseen)


def test_onehot_blocks_from_the_feature_pipeline() -> None:
    from lifelong.learners.torch_embedding import embedding_layout

    colours = ("red", "green", "blue", "black")
    pipeline = FeaturePipeline(numeric=("x",), categorical={"colour": colours}, unseen="ignore")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=400), "colour": rng.choice(colours, size=400)})
    y = frame["colour"].isin(["red", "blue"]).to_numpy().astype(np.int64)
    layout = embedding_layout(pipeline.numeric, pipeline.categorical, {})
    assert layout == {"onehot_blocks": [[1, 4]], "id_columns": []}
    learner = _embedding(**layout).fit(pipeline.transform(frame), y)
    assert np.mean(learner.predict(pipeline.transform(frame)) == y) > 0.95
    # an unseen colour is all zeros after the pipeline: the unknown row answers
    unseen = pipeline.transform(pd.DataFrame({"x": [0.0], "colour": ["purple"]}))
    assert unseen[0, 1:].sum() == 0 and learner.predict_proba(unseen).shape == (1, 2)
    malformed = pipeline.transform(frame.head(3))
    malformed[1, 1:3] = 1.0
    with pytest.raises(ValidationError, match=r"one-hot block .* columns 1..4, got .* at row 1"):
        learner.predict(malformed)


def test_round_trip_and_continuation_keep_the_tables(tmp_path: Path) -> None:
    X, y = _ids(0)
    learner = _embedding(id_columns=[[1, 6]], epochs=5, replay_size=50, ewc_lambda=1.0).fit(X, y)
    learner.save(tmp_path)
    loaded = type(learner).load(tmp_path)
    probe = _ids(2, 50)[0]
    np.testing.assert_array_equal(loaded.predict_proba(probe), learner.predict_proba(probe))
    X2, y2 = _ids(3, 100)
    np.testing.assert_array_equal(
        loaded.update(X2, 1 - y2).predict_proba(probe),
        learner.update(X2, 1 - y2).predict_proba(probe),
    )


def test_layout_is_validated() -> None:
    from lifelong.learners.torch_embedding import embedding_layout

    with pytest.raises(ConfigError, match=r"expected each column in one place, got \[2\] twice"):
        _embedding(onehot_blocks=[[1, 2]], id_columns=[[2, 5]])
    with pytest.raises(ConfigError, match="id_columns.cardinality"):
        _embedding(id_columns=[[0, 0]])
    learner = _embedding(id_columns=[[5, 3]], epochs=1)
    with pytest.raises(ValidationError, match="expected more than 5 columns"):
        learner.fit(*_ids(0))
    with pytest.raises(ConfigError, match="model.id_columns.user: expected one of the numeric"):
        embedding_layout(["x"], {}, {"user": 10})


def test_shape_hyperparameters_are_in_the_signature() -> None:
    base = _embedding(id_columns=[[1, 6]]).signature()
    assert _embedding(id_columns=[[1, 7]]).signature() != base
    assert _embedding(id_columns=[[1, 6]], embedding_dim=4).signature() != base
    assert _embedding(id_columns=[[1, 6]], unseen="error", seed=3).signature() == base


def test_config_kind_maps_features_to_the_layout() -> None:
    from lifelong.config import PipelineConfig
    from lifelong.learners import TorchEmbeddingLearner, build_learner
    from lifelong.runtime import learner_params

    config = PipelineConfig.model_validate(
        {
            "name": "m",
            "source": {"kind": "file", "path": "x.csv", "timestamp": "ts"},
            "labels": {"kind": "column", "column": "y"},
            "features": {
                "kind": "tabular",
                "numeric": ["age", "user"],
                "categorical": {"colour": ["red", "blue"], "size": ["s", "m", "l"]},
            },
            "model": {"kind": "torch_embedding", "id_columns": {"user": 1000}, "embedding_dim": 4},
        }
    )
    kind, params = learner_params(config)
    learner = build_learner(kind, params)
    assert isinstance(learner, TorchEmbeddingLearner)
    assert learner.onehot_blocks == ((2, 2), (4, 3)) and learner.id_columns == ((1, 1000),)
    assert learner.embedding_dim == 4
