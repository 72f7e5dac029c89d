"""TorchMLPLearner: fine-tuning from the checkpoint, safetensors only, no global side effects."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from learner_support import require_torch

from lifelong.errors import ArtifactError, ConfigError, IncompatibleParentError, ValidationError
from lifelong.testing import drifting_binary

pytestmark = pytest.mark.usefixtures("torch_required")


@pytest.fixture
def torch_required() -> None:
    require_torch()


def _mlp(**params: Any) -> Any:
    from lifelong.learners.torch_mlp import TorchMLPLearner

    return TorchMLPLearner(**{"hidden": (8,), "epochs": 8, "update_epochs": 4, **params})


def test_update_continues_from_the_saved_weights_and_optimizer(tmp_path: Path) -> None:
    X, y = drifting_binary()
    X2, y2 = drifting_binary(seed=1, drift=1.0)
    probe = drifting_binary(seed=5, n_rows=60)[0]
    learner = _mlp(replay_size=50, ewc_lambda=5.0).fit(X, y)
    learner.save(tmp_path / "ckpt")
    names = sorted(path.name for path in (tmp_path / "ckpt").iterdir())
    assert names == [
        "continual.safetensors",
        "learner.json",
        "optimizer.safetensors",
        "weights.safetensors",
    ]
    loaded = type(learner).load(tmp_path / "ckpt")
    np.testing.assert_array_equal(loaded.predict_proba(probe), learner.predict_proba(probe))
    # a loaded learner continues exactly as the one in memory: weights, Adam moments and step,
    # replay rows and EWC anchor all came back
    np.testing.assert_array_equal(
        loaded.update(X2, y2).predict_proba(probe), learner.update(X2, y2).predict_proba(probe)
    )
    # and the optimizer state matters: without it the continuation differs
    (tmp_path / "ckpt" / "optimizer.safetensors").unlink()
    cold = type(learner).load(tmp_path / "ckpt").update(X2, y2)
    assert not np.allclose(cold.predict_proba(probe), learner.predict_proba(probe))


def test_update_starts_from_the_current_weights() -> None:
    X, y = drifting_binary()
    X2, y2 = drifting_binary(seed=1, drift=1.0)
    probe, truth = drifting_binary(seed=6, n_rows=200)
    fitted = _mlp(epochs=30).fit(X, y)
    before = np.mean(fitted.predict(probe) == truth)
    after_update = _mlp(epochs=30).fit(X, y).update(X2[:20], y2[:20])
    # a few epochs on 20 drifted rows nudge the model; they do not erase it
    assert np.mean(after_update.predict(probe) == truth) > before - 0.1
    fresh = _mlp(epochs=4).fit(X2[:20], y2[:20])
    assert np.mean(fresh.predict(probe) == truth) < np.mean(after_update.predict(probe) == truth)


def test_checkpoint_files_are_safetensors_and_json(tmp_path: Path) -> None:
    from safetensors import safe_open

    learner = _mlp(hidden=(6, 4)).fit(*drifting_binary())
    learner.save(tmp_path)
    with safe_open(str(tmp_path / "weights.safetensors"), framework="pt") as handle:
        assert sorted(handle.keys()) == [
            "input.mean",
            "input.scale",
            "mlp.0.bias",
            "mlp.0.weight",
            "mlp.1.bias",
            "mlp.1.weight",
            "mlp.2.bias",
            "mlp.2.weight",
        ]
        assert tuple(handle.get_tensor("mlp.1.weight").shape) == (4, 6)
    with safe_open(str(tmp_path / "optimizer.safetensors"), framework="pt") as handle:
        assert "mlp.0.weight.exp_avg_sq" in set(handle.keys())
    manifest = json.loads((tmp_path / "learner.json").read_text())
    assert manifest["params"]["hidden"] == [6, 4] and manifest["calls"] == 1
    assert not (tmp_path / "continual.safetensors").exists()


def test_a_pickle_in_place_of_the_weights_is_refused_unexecuted(tmp_path: Path) -> None:
    class _Touch:
        def __reduce__(self) -> tuple[Any, ...]:
            return (open, (str(tmp_path / "marker"), "w"))

    learner = _mlp().fit(*drifting_binary())
    learner.save(tmp_path / "ckpt")
    (tmp_path / "ckpt" / "weights.safetensors").write_bytes(pickle.dumps(_Touch()))
    with pytest.raises(ArtifactError, match="safetensors"):
        type(learner).load(tmp_path / "ckpt")
    assert not (tmp_path / "marker").exists()


def test_weights_of_another_shape_are_refused(tmp_path: Path) -> None:
    X, y = drifting_binary()
    _mlp(hidden=(5,)).fit(X, y).save(tmp_path / "five")
    _mlp(hidden=(8,)).fit(X, y).save(tmp_path / "eight")
    (tmp_path / "eight" / "weights.safetensors").write_bytes(
        (tmp_path / "five" / "weights.safetensors").read_bytes()
    )
    with pytest.raises(ArtifactError, match=r"mlp.0.weight: expected float64 \(8, 4\)"):
        type(_mlp()).load(tmp_path / "eight")


def test_training_touches_no_global_state() -> None:
    import torch

    torch.set_num_threads(2)
    rng_state = torch.random.get_rng_state()
    learner = _mlp(num_threads=1, replay_size=20).fit(*drifting_binary())
    learner.update(*drifting_binary(seed=1))
    learner.predict_proba(drifting_binary(seed=2, n_rows=5)[0])
    assert torch.get_num_threads() == 2
    assert torch.equal(torch.random.get_rng_state(), rng_state)


def test_replay_mixes_past_rows_into_each_update() -> None:
    X, y = drifting_binary()
    X2, y2 = drifting_binary(seed=1, drift=1.0)
    probe = drifting_binary(seed=5, n_rows=60)[0]
    with_replay = _mlp(replay_size=100).fit(X, y)
    assert with_replay.replay.size == 100 and with_replay.replay.seen == 240
    with_replay.update(X2, y2)
    assert with_replay.replay.size == 100 and with_replay.replay.seen == 480
    plain = _mlp().fit(X, y).update(X2, y2)
    assert not np.allclose(with_replay.predict_proba(probe), plain.predict_proba(probe))


def test_non_finite_rows_and_bad_targets_are_refused() -> None:
    X, y = drifting_binary()
    dirty = X.copy()
    dirty[2, 1] = np.inf
    with pytest.raises(ValidationError, match="row 2, column 1"):
        _mlp().fit(dirty, y)
    learner = _mlp().fit(X, y)
    with pytest.raises(ValidationError, match="finite"):
        learner.predict_proba(dirty)
    with pytest.raises(ValidationError, match="targets: expected rows of non-negative"):
        _mlp().fit_soft(X, np.full((len(y), 2), 0.7), classes=np.array([0, 1]))
    with pytest.raises(ValidationError, match="classes: expected 2 or more sorted"):
        _mlp().fit_soft(X, np.full((len(y), 2), 0.5), classes=np.array([1, 0]))


def test_hyperparameters_are_validated_with_the_name() -> None:
    from lifelong.learners import build_learner

    with pytest.raises(ConfigError, match="hidden: expected a non-empty list"):
        _mlp(hidden=())
    with pytest.raises(ConfigError, match="activation: expected one of"):
        _mlp(activation="gelu")
    with pytest.raises(ConfigError, match="learner.depth: not a parameter of kind 'torch_mlp'"):
        build_learner("torch_mlp", {"depth": 3})


def test_a_stateful_update_on_another_shape_is_refused() -> None:
    from lifelong.config import PipelineConfig
    from lifelong.features import FeaturePipeline
    from lifelong.runtime import learner_params
    from lifelong.training.bundle import ModelBundle

    def config(hidden: list[int]) -> PipelineConfig:
        return PipelineConfig.model_validate(
            {
                "name": "m",
                "source": {"kind": "file", "path": "x.csv", "timestamp": "ts"},
                "labels": {"kind": "column", "column": "y"},
                "features": {"kind": "tabular", "numeric": ["a", "b", "c", "d"]},
                "model": {"kind": "torch_mlp", "hidden": hidden, "epochs": 2},
            }
        )

    small, wide = config([8]), config([16])
    assert small.model_hash() != wide.model_hash()
    kind, params = learner_params(small)
    assert kind == "torch_mlp" and tuple(params["hidden"]) == (8,)
    from lifelong.learners import build_learner

    parent = build_learner(kind, params).fit(*drifting_binary())
    bundle = ModelBundle(
        learner=parent,
        features=FeaturePipeline(numeric=("a", "b", "c", "d")),
        model_hash=small.model_hash(),
    )
    child = build_learner(*learner_params(wide))
    with pytest.raises(IncompatibleParentError, match="signature"):
        bundle.check_compatible(wide.model_hash(), child.signature(), version="1.0")
    bundle.check_compatible(small.model_hash(), parent.clone().signature(), version="1.0")
