"""Function-preserving network surgery: grow a champion MLP without starting cold (Net2Net).

A model iteration that only adds capacity need not train from scratch: the grown network
computes exactly the champion's function at initialisation and training continues from there
(Chen, Goodfellow and Shlens, "Net2Net", 2016).

:func:`widen` (Net2WiderNet) gives hidden layer ``layer`` more units: each new unit copies
the incoming weights and bias of a randomly chosen existing unit, and the outgoing weights
of every copied unit are split among its copies with random positive shares that sum to one —
so the next layer receives the same sum (exactly what the paper's equal split does), and the
unequal shares break the symmetry between copies so they can learn different things.

:func:`deepen` (Net2DeeperNet) inserts an identity layer after hidden layer ``after``:
weight ``I``, bias 0. With ReLU, ``relu(I h) = h`` for the non-negative ``h`` it receives, so
the function is unchanged; ``tanh`` is not idempotent and is refused.

The grown learner keeps the classes, input standardisation and replay buffer, and starts a
fresh optimizer; its ``hidden`` differs, so its :meth:`signature` does and it is a new major
version. Works for :class:`~lifelong.learners.torch_mlp.TorchMLPLearner` and the MLP part of
:class:`~lifelong.learners.torch_embedding.TorchEmbeddingLearner`.

Examples
--------
>>> import numpy as np
>>> from lifelong.learners.torch_mlp import TorchMLPLearner
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(100, 3))
>>> y = (X[:, 0] > 0).astype(int)
>>> champion = TorchMLPLearner(hidden=(4,), epochs=5).fit(X, y)
>>> wider = widen(champion, layer=0, width=8)
>>> deeper = deepen(wider, after=0)
>>> deeper.hidden
(8, 8)
>>> bool(np.abs(deeper.predict_proba(X) - champion.predict_proba(X)).max() < 1e-6)
True
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np

from lifelong.errors import ConfigError, TrainingError
from lifelong.learners._checks import check_int
from lifelong.learners.torch_common import TorchLearnerBase

L = TypeVar("L", bound=TorchLearnerBase)


def _fitted(learner: TorchLearnerBase) -> None:
    if not learner.is_fitted or learner.spec is None:
        raise TrainingError("learner: expected a fitted champion to grow, got an unfitted one")


def widen(
    learner: L, *, layer: int, width: int, seed: int = 0, learning_rate: float | None = None
) -> L:
    """A copy of ``learner`` whose hidden layer ``layer`` has ``width`` units, same function.

    ``seed`` draws which units are copied and the outgoing shares; ``learning_rate`` is the
    grown learner's step size (default: the champion's — fine-tuning often wants a smaller one).
    """
    _fitted(learner)
    import torch

    hidden = learner.hidden
    index = check_int("layer", layer, minimum=0)
    if index >= len(hidden):
        raise ConfigError(f"layer: expected a hidden layer in 0..{len(hidden) - 1}, got {layer!r}")
    old = hidden[index]
    new = check_int("width", width, minimum=old)
    rng = np.random.default_rng(seed)
    source = np.concatenate([np.arange(old), rng.integers(0, old, size=new - old)])
    shares = rng.uniform(0.5, 1.5, size=new)
    totals = np.bincount(source, weights=shares, minlength=old)
    shares = shares / totals[source]
    pick = torch.from_numpy(source)
    split = torch.from_numpy(shares)
    tensors = learner.weights()
    w_in, b_in = f"mlp.{index}.weight", f"mlp.{index}.bias"
    w_out = f"mlp.{index + 1}.weight"
    tensors[w_in] = tensors[w_in][pick].clone()
    tensors[b_in] = tensors[b_in][pick].clone()
    tensors[w_out] = (tensors[w_out][:, pick] * split[None, :]).clone()
    grown = list(hidden)
    grown[index] = new
    return learner.transplant(grown, tensors, learning_rate=learning_rate)


def deepen(learner: L, *, after: int, learning_rate: float | None = None) -> L:
    """A copy of ``learner`` with an identity hidden layer inserted after hidden layer ``after``.

    ``learning_rate`` is the grown learner's step size (default: the champion's).
    """
    _fitted(learner)
    import torch

    hidden = learner.hidden
    index = check_int("after", after, minimum=0)
    if index >= len(hidden):
        raise ConfigError(f"after: expected a hidden layer in 0..{len(hidden) - 1}, got {after!r}")
    if learner.activation != "relu":
        raise ConfigError(
            f"activation: an identity layer preserves the function only after 'relu', "
            f"got {learner.activation!r}"
        )
    width = hidden[index]
    old = learner.weights()
    tensors = {name: value for name, value in old.items() if not name.startswith("mlp.")}
    n_layers = len(hidden) + 1
    for i in range(n_layers):
        target = i if i <= index else i + 1
        tensors[f"mlp.{target}.weight"] = old[f"mlp.{i}.weight"]
        tensors[f"mlp.{target}.bias"] = old[f"mlp.{i}.bias"]
    tensors[f"mlp.{index + 1}.weight"] = torch.eye(width, dtype=torch.float64)
    tensors[f"mlp.{index + 1}.bias"] = torch.zeros(width, dtype=torch.float64)
    grown = [*hidden[: index + 1], width, *hidden[index + 1 :]]
    return learner.transplant(grown, tensors, learning_rate=learning_rate)


def grow(learner: L, template: L, *, seed: int = 0) -> L:
    """``learner`` grown into ``template``'s hidden widths, same function, ``template``'s settings.

    Each of the champion's hidden layers is widened to the template's width at that depth
    (:func:`widen`); each further layer of the template is an identity layer appended
    (:func:`deepen`, ReLU only) and then widened, so it must be at least as wide as the layer
    before it. The result has the template's other hyperparameters (learning rate, epochs,
    replay, EWC) and a fresh optimizer; the activation and input layout must be the champion's.

    Examples
    --------
    >>> import numpy as np
    >>> from lifelong.learners.torch_mlp import TorchMLPLearner
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 3))
    >>> champion = TorchMLPLearner(hidden=(4,), epochs=5).fit(X, (X[:, 0] > 0).astype(int))
    >>> grown = grow(champion, TorchMLPLearner(hidden=(6, 8), learning_rate=0.001))
    >>> grown.hidden, grown.learning_rate
    ((6, 8), 0.001)
    >>> bool(np.abs(grown.predict_proba(X) - champion.predict_proba(X)).max() < 1e-9)
    True
    >>> grow(champion, TorchMLPLearner(hidden=(2,)))
    Traceback (most recent call last):
    ...
    lifelong.errors.ConfigError: hidden: growing keeps every layer at least as wide, expected layer 0 >= 4 units, got [2]
    """
    _fitted(learner)
    if type(template) is not type(learner):
        raise ConfigError(
            f"kind: growing keeps the champion's kind, expected {learner.kind!r}, got {template.kind!r}"
        )
    mine, theirs = learner.signature(), template.signature()
    for name in sorted(set(mine) | set(theirs)):
        if name != "hidden" and mine.get(name) != theirs.get(name):
            raise ConfigError(
                f"{name}: growing keeps the champion's {name}, expected {mine.get(name)!r}, "
                f"got {theirs.get(name)!r}"
            )
    old, new = learner.hidden, template.hidden
    if len(new) < len(old):
        raise ConfigError(
            f"hidden: growing keeps every layer, expected at least {len(old)} layers, got {list(new)}"
        )
    for index, width in enumerate(new):
        floor = old[index] if index < len(old) else new[index - 1]
        if width < floor:
            raise ConfigError(
                f"hidden: growing keeps every layer at least as wide, expected layer {index} "
                f">= {floor} units, got {list(new)}"
            )
    grown = learner
    for index, width in enumerate(new):
        if index >= len(old):
            grown = deepen(grown, after=index - 1)
        if width > grown.hidden[index]:
            grown = widen(grown, layer=index, width=width, seed=seed + index)
    return grown.transplant(grown.hidden, grown.weights(), params=template.params())


__all__ = ["deepen", "grow", "widen"]
