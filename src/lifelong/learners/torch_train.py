"""Training the PyTorch learners' networks: mini-batch Adam, EWC, optimizer state as tensors.

Everything here is deterministic for a given ``torch.Generator`` (batch order) and thread
count, and touches no global random state. PyTorch is imported when a function runs.

The loss of a batch is the weighted cross-entropy between the network's softmax and target
*distributions* (one-hot rows for true labels, soft rows for distillation; cross-entropy and
KL divergence differ by the targets' entropy, so they have the same gradients), plus, with
elastic weight consolidation, ``lambda / 2 * sum_i F_i (theta_i - theta*_i)^2`` where ``F`` is
the Fisher diagonal and ``theta*`` the weights after the previous task.

Examples
--------
>>> with torch_threads(1):
...     pass
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lifelong.errors import ArtifactError
from lifelong.learners.torch_nets import NetSpec, forward

if TYPE_CHECKING:
    import torch

OPTIMIZER_KEYS = ("step", "exp_avg", "exp_avg_sq")
FISHER_ROWS = 1024


@contextmanager
def torch_threads(n_threads: int) -> Iterator[None]:
    """Run the block with ``n_threads`` intra-op threads, then restore the previous count."""
    import torch

    previous = torch.get_num_threads()
    if previous != n_threads:
        torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


@dataclass
class Batch:
    """Training rows as tensors: inputs, target distributions and row weights."""

    numeric: torch.Tensor
    ids: torch.Tensor | None
    targets: torch.Tensor
    weights: torch.Tensor

    @property
    def n_rows(self) -> int:
        return int(self.targets.shape[0])


@dataclass
class EWCAnchor:
    """The previous task's weights and their Fisher diagonal."""

    anchor: dict[str, torch.Tensor]
    fisher: dict[str, torch.Tensor]


def make_optimizer(
    params: dict[str, torch.Tensor], spec: NetSpec, *, learning_rate: float, weight_decay: float
) -> torch.optim.Adam:
    """Adam over the trainable tensors, which become leaves that require gradients."""
    import torch

    leaves = []
    for name in spec.trainable():
        params[name] = params[name].detach().clone().requires_grad_(True)
        leaves.append(params[name])
    return torch.optim.Adam(leaves, lr=learning_rate, weight_decay=weight_decay)


def ewc_penalty(params: dict[str, torch.Tensor], ewc: EWCAnchor) -> torch.Tensor:
    """``sum_i F_i (theta_i - theta*_i)^2`` over the anchored tensors (without lambda / 2)."""
    total = None
    for name, fisher in ewc.fisher.items():
        term = (fisher * (params[name] - ewc.anchor[name]) ** 2).sum()
        total = term if total is None else total + term
    if total is None:
        import torch

        return torch.zeros((), dtype=torch.float64)
    return total


def train_epochs(
    params: dict[str, torch.Tensor],
    spec: NetSpec,
    optimizer: torch.optim.Adam,
    batch: Batch,
    *,
    epochs: int,
    batch_size: int,
    generator: torch.Generator,
    ewc: EWCAnchor | None = None,
    ewc_lambda: float = 0.0,
) -> float:
    """Run ``epochs`` passes of shuffled mini-batches; return the last epoch's mean loss."""
    import torch

    functional = torch.nn.functional
    n = batch.n_rows
    last = 0.0
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        total = 0.0
        for start in range(0, n, batch_size):
            rows = order[start : start + batch_size]
            ids = None if batch.ids is None else batch.ids[rows]
            logits = forward(params, spec, batch.numeric[rows], ids)
            per_row = -(batch.targets[rows] * functional.log_softmax(logits, dim=1)).sum(dim=1)
            weights = batch.weights[rows]
            loss = (per_row * weights).sum() / weights.sum().clamp_min(1e-12)
            if ewc is not None and ewc_lambda > 0.0:
                loss = loss + 0.5 * ewc_lambda * ewc_penalty(params, ewc)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            total += float(loss.detach()) * int(rows.shape[0])
        last = total / n
    return last


def fisher_diagonal(
    params: dict[str, torch.Tensor],
    spec: NetSpec,
    numeric: torch.Tensor,
    ids: torch.Tensor | None,
    generator: torch.Generator,
) -> dict[str, torch.Tensor]:
    """Diagonal Fisher information of the trainable tensors on the given rows.

    ``E_x sum_c p(c|x) (d log p(c|x) / d theta)^2``: per-row gradients from
    :func:`torch.func.vmap`, weighted by the network's own class probabilities (the true Fisher,
    not the empirical one). At most ``FISHER_ROWS`` rows, drawn with ``generator``.
    """
    import torch
    from torch.func import grad, vmap

    n = int(numeric.shape[0])
    if n > FISHER_ROWS:
        keep = torch.randperm(n, generator=generator)[:FISHER_ROWS]
        numeric = numeric[keep]
        ids = None if ids is None else ids[keep]
    trainable = spec.trainable()
    frozen = {name: value.detach() for name, value in params.items() if name not in trainable}
    weights = {name: params[name].detach() for name in trainable}
    with torch.no_grad():
        proba = torch.softmax(forward({**frozen, **weights}, spec, numeric, ids), dim=1)

    def log_likelihood(w: dict[str, Any], x: Any, i: Any, c: Any) -> Any:
        logits = forward({**frozen, **w}, spec, x[None], None if i is None else i[None])
        return torch.log_softmax(logits, dim=1)[0, c]

    per_row = vmap(grad(log_likelihood), in_dims=(None, 0, None if ids is None else 0, None))
    fisher = {name: torch.zeros_like(value) for name, value in weights.items()}
    for c in range(spec.n_classes):
        grads = per_row(weights, numeric, ids, c)
        for name, g in grads.items():
            shape = (-1,) + (1,) * (g.dim() - 1)
            fisher[name] += (proba[:, c].reshape(shape) * g**2).mean(dim=0)
    return fisher


def optimizer_tensors(optimizer: torch.optim.Adam, spec: NetSpec) -> dict[str, torch.Tensor]:
    """Adam's per-tensor state, named ``<tensor>.<step|exp_avg|exp_avg_sq>``."""
    state = optimizer.state_dict()["state"]
    out: dict[str, torch.Tensor] = {}
    for index, name in enumerate(spec.trainable()):
        for key in OPTIMIZER_KEYS:
            if index in state and key in state[index]:
                out[f"{name}.{key}"] = state[index][key].detach().clone()
    return out


def restore_optimizer(
    optimizer: torch.optim.Adam, spec: NetSpec, tensors: dict[str, torch.Tensor]
) -> None:
    """Load tensors written by :func:`optimizer_tensors` into a fresh Adam over ``spec``."""
    shapes = spec.shapes()
    state: dict[int, dict[str, Any]] = {}
    for index, name in enumerate(spec.trainable()):
        keys = [key for key in OPTIMIZER_KEYS if f"{name}.{key}" in tensors]
        if not keys:
            continue
        if len(keys) != len(OPTIMIZER_KEYS):
            raise ArtifactError(f"optimizer: {name}: expected {list(OPTIMIZER_KEYS)}, got {keys}")
        entry = {key: tensors[f"{name}.{key}"] for key in OPTIMIZER_KEYS}
        for key in ("exp_avg", "exp_avg_sq"):
            if tuple(entry[key].shape) != shapes[name]:
                raise ArtifactError(
                    f"optimizer: {name}.{key}: expected shape {shapes[name]}, "
                    f"got {tuple(entry[key].shape)}"
                )
        state[index] = entry
    unknown = set(tensors) - {f"{n}.{k}" for n in spec.trainable() for k in OPTIMIZER_KEYS}
    if unknown:
        raise ArtifactError(f"optimizer: unexpected tensors {sorted(unknown)}")
    groups = optimizer.state_dict()["param_groups"]
    optimizer.load_state_dict({"state": state, "param_groups": groups})


__all__ = [
    "Batch",
    "EWCAnchor",
    "fisher_diagonal",
    "make_optimizer",
    "optimizer_tensors",
    "restore_optimizer",
    "torch_threads",
    "train_epochs",
]
