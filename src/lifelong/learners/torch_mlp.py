"""A tabular multilayer-perceptron classifier in PyTorch (the ``torch`` extra).

Every input column is numeric: standardised with the mean and spread of the rows seen by
``fit``, then fed through ``hidden`` layers. ``update`` fine-tunes from the checkpoint (weights
and optimizer state) for ``update_epochs`` passes over the new rows plus the replay buffer,
optionally with EWC; see :mod:`lifelong.learners.torch_common`. Its layers can be widened or
deepened without changing what it computes (:mod:`lifelong.learners.surgery`), and it accepts
soft targets (:meth:`TorchMLPLearner.fit_soft`) for distillation.
"""

from __future__ import annotations

from lifelong.learners.torch_common import TorchLearnerBase


class TorchMLPLearner(TorchLearnerBase):
    """An MLP classifier trained with mini-batch Adam; weights saved as safetensors.

    Parameters
    ----------
    hidden
        Widths of the hidden layers (shape: part of :meth:`signature`).
    activation
        ``relu`` or ``tanh`` (part of :meth:`signature`).
    learning_rate, weight_decay
        Adam's step size and L2 weight decay.
    epochs, update_epochs
        Passes over the rows for ``fit`` and for each ``update``.
    batch_size
        Rows per optimizer step.
    seed, num_threads
        Seed of the initialisation and batch order; PyTorch threads while training and
        predicting.
    replay_size
        Past rows kept (reservoir) and mixed into each ``update``; 0 disables replay.
    ewc_lambda
        Weight of the elastic-weight-consolidation penalty; 0 disables it.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> learner = TorchMLPLearner(hidden=(8,), epochs=10, replay_size=50).fit(X, y)
    >>> learner.update(X[:20], y[:20]).replay.size
    50
    >>> learner.predict_proba(X[:2]).shape
    (2, 2)
    >>> learner.signature()
    {'kind': 'torch_mlp', 'hidden': [8], 'activation': 'relu'}
    """

    kind = "torch_mlp"


__all__ = ["TorchMLPLearner"]
