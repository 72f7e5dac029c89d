"""Net2Net surgery: a grown network computes the champion's function, then trains on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from learner_support import circle, require_torch

from lifelong.errors import ConfigError, TrainingError
from lifelong.testing import drifting_binary


@pytest.fixture(scope="module")
def champion() -> Any:
    require_torch()
    from lifelong.learners.torch_mlp import TorchMLPLearner

    return TorchMLPLearner(hidden=(16,), epochs=40, learning_rate=0.01).fit(*circle(0, 2000))


def _max_gap(a: Any, b: Any, X: np.ndarray) -> float:
    return float(np.abs(a.predict_proba(X) - b.predict_proba(X)).max())


def test_widen_and_deepen_preserve_the_function(champion: Any) -> None:
    from lifelong.learners.surgery import deepen, widen

    probe = circle(9, 500)[0]
    wider = widen(champion, layer=0, width=40, seed=3)
    assert wider.hidden == (40,) and tuple(wider.weights()["mlp.1.weight"].shape) == (2, 40)
    assert _max_gap(wider, champion, probe) < 1e-6
    deeper = deepen(wider, after=0)
    assert deeper.hidden == (40, 40)
    assert _max_gap(deeper, champion, probe) < 1e-6
    both = widen(deepen(deeper, after=1), layer=2, width=48, seed=1)
    assert both.hidden == (40, 40, 48)
    assert _max_gap(both, champion, probe) < 1e-6
    assert both.signature() != champion.signature()
    assert both.classes_.tolist() == champion.classes_.tolist()


def test_surgery_on_tanh_and_on_embedding_networks() -> None:
    require_torch()
    from lifelong.learners.surgery import deepen, widen
    from lifelong.learners.torch_embedding import TorchEmbeddingLearner
    from lifelong.learners.torch_mlp import TorchMLPLearner

    X, y = drifting_binary()
    tanh = TorchMLPLearner(hidden=(6, 5), activation="tanh", epochs=5).fit(X, y)
    assert _max_gap(widen(tanh, layer=1, width=9), tanh, X) < 1e-6
    with pytest.raises(ConfigError, match="only after 'relu', got 'tanh'"):
        deepen(tanh, after=0)
    ids = np.column_stack([X[:, :3], np.arange(len(y)) % 4])
    embedded = TorchEmbeddingLearner(id_columns=[[3, 4]], hidden=(6,), epochs=5).fit(ids, y)
    grown = deepen(widen(embedded, layer=0, width=12), after=0)
    assert isinstance(grown, TorchEmbeddingLearner) and grown.id_columns == ((3, 4),)
    assert _max_gap(grown, embedded, ids) < 1e-6


def test_the_grown_network_trains_saves_and_breaks_symmetry(champion: Any, tmp_path: Path) -> None:
    from lifelong.learners.surgery import widen

    wider = widen(champion, layer=0, width=24, seed=0, learning_rate=0.001)
    assert wider.learning_rate == 0.001 and not wider.clone().is_fitted
    X, y = circle(5, 200)
    before = wider.predict_proba(X)
    wider.update(X, y)
    assert not np.allclose(wider.predict_proba(X), before)
    # a copied unit and its source no longer share incoming weights after training
    incoming = wider.weights()["mlp.0.weight"].numpy()
    assert np.min(np.abs(incoming[16:, None, :] - incoming[None, :16, :]).sum(axis=2)) > 1e-9
    wider.save(tmp_path)
    loaded = type(wider).load(tmp_path)
    np.testing.assert_array_equal(loaded.predict_proba(X), wider.predict_proba(X))


def test_surgery_needs_a_fitted_champion_and_valid_layers(champion: Any) -> None:
    from lifelong.learners.surgery import deepen, widen
    from lifelong.learners.torch_mlp import TorchMLPLearner

    with pytest.raises(TrainingError, match="expected a fitted champion"):
        widen(TorchMLPLearner(), layer=0, width=64)
    with pytest.raises(ConfigError, match=r"layer: expected a hidden layer in 0..0, got 1"):
        widen(champion, layer=1, width=64)
    with pytest.raises(ConfigError, match="width: expected an integer >= 16"):
        widen(champion, layer=0, width=8)
    with pytest.raises(ConfigError, match="after: expected a hidden layer"):
        deepen(champion, after=3)


def test_grown_starts_at_the_champion_accuracy_scratch_does_not(champion: Any) -> None:
    """Epochs needed to reach the champion's accuracy on 200 recent rows: 0 grown, more scratch.

    Measured (benchmarks/model_iteration.py has the full grid): champion 0.936; the grown
    (32, 32) network 0.936 at epoch 0; the same architecture from scratch at most 0.883 over
    its first 20 epochs.
    """
    from lifelong.learners.surgery import deepen, widen
    from lifelong.learners.torch_mlp import TorchMLPLearner

    test_X, test_y = circle(99, 2000)
    target = float(np.mean(champion.predict(test_X) == test_y))
    grown = deepen(widen(champion, layer=0, width=32), after=0)
    assert float(np.mean(grown.predict(test_X) == test_y)) == target
    X, y = circle(7, 200)
    scratch = TorchMLPLearner(hidden=(32, 32), epochs=1, update_epochs=1).fit(X, y)
    reached = []
    for _ in range(20):
        reached.append(float(np.mean(scratch.predict(test_X) == test_y)) >= target)
        scratch.update(X, y)
    assert not any(reached), "scratch training on 200 rows reached the champion within 20 epochs"


def test_grow_into_a_template_keeps_the_function_and_takes_its_settings(champion: Any) -> None:
    from lifelong.learners.surgery import grow
    from lifelong.learners.torch_embedding import TorchEmbeddingLearner
    from lifelong.learners.torch_mlp import TorchMLPLearner

    probe = circle(9, 500)[0]
    template = TorchMLPLearner(hidden=(20, 24, 24), learning_rate=0.002, update_epochs=3, replay_size=50)
    grown = grow(champion, template, seed=5)
    assert grown.hidden == (20, 24, 24) and grown.params() == {**template.params(), "hidden": [20, 24, 24]}
    assert _max_gap(grown, champion, probe) < 1e-9
    grown.update(*circle(4, 300))  # trains on from the champion's function
    assert 0 < _max_gap(grown, champion, probe)
    for bad, match in [
        (TorchMLPLearner(hidden=(16,), activation="tanh"), r"activation: growing keeps the champion's activation, expected 'relu', got 'tanh'"),
        (TorchMLPLearner(hidden=(20, 8)), r"hidden: growing keeps every layer at least as wide, expected layer 1 >= 20 units, got \[20, 8\]"),
    ]:
        with pytest.raises(ConfigError, match=match):
            grow(champion, bad)
    X, y = drifting_binary()
    ids = np.column_stack([X[:, :3], np.arange(len(y)) % 4])
    embedded = TorchEmbeddingLearner(id_columns=[[3, 4]], hidden=(6,), epochs=5).fit(ids, y)
    bigger = grow(embedded, TorchEmbeddingLearner(id_columns=[[3, 4]], hidden=(10, 10)))
    assert _max_gap(bigger, embedded, ids) < 1e-9
    with pytest.raises(ConfigError, match=r"kind: growing keeps the champion's kind, expected 'torch_embedding', got 'torch_mlp'"):
        grow(embedded, TorchMLPLearner(hidden=(10,)))  # type: ignore[type-var]
    with pytest.raises(ConfigError, match=r"embedding_dim: growing keeps the champion's embedding_dim"):
        grow(embedded, TorchEmbeddingLearner(id_columns=[[3, 4]], hidden=(10,), embedding_dim=3))
