"""One feature pipeline: the training path and the serving path give bit-identical results.

The training path is what the trainer does (``Pipeline.training_spec().features.transform``
then the learner); the serving path is a :class:`PredictionService` over a
:class:`RegistryModelLoader` reading the version back from a real registry (artifact written,
hashed, verified and loaded). The same rows must give the same feature matrix and the very
same probabilities, bit for bit, through DataFrame and JSON-record requests alike.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pipeline_support import write_spec, write_stream

from lifelong.config import load_config
from lifelong.registry.types import Iteration, Lineage, TrainingMode
from lifelong.runtime import Pipeline
from lifelong.serving.catalog import ModelCatalog
from lifelong.serving.registry_loader import RegistryModelLoader
from lifelong.serving.service import PredictionService
from lifelong.training import ModelBundle, Trainer

CASES = {
    "lightgbm-categorical": {
        "model": {"kind": "lightgbm", "n_estimators": 30, "num_leaves": 7},
        "categorical": True,
    },
    "lightgbm-numeric-fast-path": {
        "model": {"kind": "lightgbm", "n_estimators": 30, "num_leaves": 7},
        "categorical": False,
    },
    "sklearn-categorical": {
        "model": {
            "kind": "sklearn",
            "estimator": "sklearn.linear_model.LogisticRegression",
            "params": {"C": 0.5},
        },
        "categorical": True,
    },
}


@pytest.mark.parametrize("case", list(CASES))
def test_training_and_serving_paths_give_identical_features_and_predictions(
    tmp_path: Path, database_url: str, case: str
) -> None:
    options: dict[str, Any] = CASES[case]
    frame = write_stream(tmp_path / "events.csv", days=1, per_hour=20)
    features = {"kind": "tabular", "numeric": ["x1", "x2", "x3"]}
    if options["categorical"]:
        features["categorical"] = {"segment": ["a", "b"]}
    config = load_config(
        write_spec(tmp_path, registry_url=database_url, model=options["model"], features=features)
    )
    pipeline = Pipeline.open(config)
    try:
        rows = frame.rename(columns={"y": "label"})
        train, fresh = rows.iloc[:400], rows.iloc[400:].reset_index(drop=True)
        if options["categorical"]:
            fresh.loc[:4, "segment"] = "c"  # unseen at training: ignored the same way on both paths
        # Training path.
        spec = pipeline.training_spec()
        trained = Trainer().train(spec, train, mode=TrainingMode.STATELESS, parent=None)
        training_matrix = spec.features.transform(fresh)
        training_proba = trained.bundle.learner.predict_proba(training_matrix)
        assert np.array_equal(trained.bundle.transform(fresh), training_matrix)
        # Register through the real registry and serve it back.
        lineage = Lineage(
            parent=None,
            mode=TrainingMode.STATELESS,
            iteration=Iteration.MODEL,
            snapshot=None,
            config_hash=config.config_hash(),
            code_version="test",
            git_commit=None,
            library_versions={},
        )
        with tempfile.TemporaryDirectory() as folder:
            trained.bundle.save(Path(folder))
            version = pipeline.registry.register(
                "churn", Path(folder), lineage=lineage, learner_kind=trained.bundle.learner.kind
            )
        pipeline.registry.set_alias(
            "churn", "champion", version.version, actor="test", reason="parity"
        )
        service = PredictionService(ModelCatalog(RegistryModelLoader(pipeline.registry)), None)
        seen: list[tuple[Any, dict[str, np.ndarray[Any, Any]]]] = []
        service.add_observer(lambda served, arrays, result: seen.append((served, dict(arrays))))
        inputs = fresh[list(spec.features.columns)]
        served = service.predict("churn", inputs, "parity-frame")
        as_json = service.predict_rows("churn", inputs.to_dict("records"), "parity-rows")
        assert served.version == version.version
        assert served.probabilities.dtype == np.float64
        assert np.array_equal(served.probabilities, training_proba)
        assert np.array_equal(as_json.probabilities, training_proba)
        assert np.array_equal(served.labels, trained.bundle.classes_[training_proba.argmax(axis=1)])
        # The serving path's feature matrix is the training one, bit for bit.
        for model, arrays in seen:
            if model.predict_array is not None:
                serving_matrix = np.column_stack([arrays[name] for name in model.features])
            else:
                loaded = _registry_bundle(pipeline, version.version)
                serving_matrix = loaded.transform(pd.DataFrame(arrays))
            assert serving_matrix.tobytes() == training_matrix.tobytes()
        assert (seen[0][0].predict_array is not None) == (not options["categorical"])
    finally:
        pipeline.close()


def _registry_bundle(pipeline: Pipeline, version: str) -> ModelBundle:
    with tempfile.TemporaryDirectory() as folder:
        return ModelBundle.load(
            pipeline.registry.load_artifact("churn", version, Path(folder) / "bundle")
        )
