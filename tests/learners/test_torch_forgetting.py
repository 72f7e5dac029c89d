"""Catastrophic forgetting on a two-task stream, measured: replay and EWC keep task A."""

from __future__ import annotations

from typing import Any

import numpy as np
from learner_support import require_torch


def _task(seed: int, which: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Two regions of the input space (column 3 near +2 or -2), each with its own rule."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    X[:, 3] = rng.normal(2.0 if which == "A" else -2.0, 0.5, size=n)
    y = (X[:, 0] > 0) if which == "A" else (X[:, 1] > 0)
    return X, y.astype(np.int64)


def _forgetting(**params: Any) -> tuple[float, float]:
    """(accuracy lost on task A after training on task B, accuracy on task B)."""
    from lifelong.learners.torch_mlp import TorchMLPLearner

    XA, yA = _task(0, "A", 400)
    XB, yB = _task(1, "B", 400)
    TA, tA = _task(2, "A", 1000)
    TB, tB = _task(3, "B", 1000)
    learner = TorchMLPLearner(
        hidden=(16,), epochs=30, update_epochs=30, batch_size=32, **params
    ).fit(XA, yA)
    before = float(np.mean(learner.predict(TA) == tA))
    learner.update(XB, yB)
    after = float(np.mean(learner.predict(TA) == tA))
    return before - after, float(np.mean(learner.predict(TB) == tB))


def test_replay_and_ewc_forget_less_than_plain_fine_tuning() -> None:
    require_torch()
    plain, plain_b = _forgetting()
    replay, replay_b = _forgetting(replay_size=200)
    ewc, ewc_b = _forgetting(ewc_lambda=50.0)
    # measured on this machine: plain 0.392, replay 0.030, EWC 0.168 (accuracy points on A)
    assert plain > 0.25, f"plain fine-tuning should forget task A here, lost only {plain:.3f}"
    assert replay < plain - 0.2, f"replay lost {replay:.3f} of task A, plain {plain:.3f}"
    assert ewc < plain - 0.1, f"EWC lost {ewc:.3f} of task A, plain {plain:.3f}"
    # and task B is still learned
    assert min(plain_b, replay_b, ewc_b) > 0.9


def test_a_strong_ewc_penalty_trades_task_b_for_task_a() -> None:
    require_torch()
    lost, on_b = _forgetting(ewc_lambda=500.0)
    # measured: 0.019 of task A lost, 0.881 on task B (plain fine-tuning: 0.392 and 0.985)
    assert lost < 0.05 and on_b < 0.95
