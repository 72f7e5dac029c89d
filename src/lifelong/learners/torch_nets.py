"""The networks of the PyTorch learners, as named tensors and a pure forward function.

A network is a flat ``dict`` of named float64 tensors — exactly what is written to
safetensors — and :func:`forward` computes its logits from them. Names:

``input.mean``, ``input.scale``
    Standardisation of the numeric inputs, fixed at ``fit`` (not trained).
``embed.<j>.weight``
    Table of embedded column ``j``: ``cardinality + 1`` rows (the last is the learned
    "unknown" row), ``embedding_dim`` columns.
``mlp.<i>.weight``, ``mlp.<i>.bias``
    Linear layer ``i`` (``(out, in)`` as :class:`torch.nn.Linear`); an activation follows every
    layer but the last, which gives one logit per class.

Keeping the network as plain tensors makes surgery (:mod:`lifelong.learners.surgery`),
per-sample gradients for EWC (:func:`torch.func.vmap`) and loading without pickle direct.
PyTorch is the optional ``torch`` extra: it is imported when a function runs, never when this
module is imported.

Examples
--------
>>> spec = NetSpec(n_numeric=3, hidden=(4,), n_classes=2)
>>> import torch
>>> params = init_params(spec, torch.Generator().manual_seed(0))
>>> sorted(params)
['input.mean', 'input.scale', 'mlp.0.bias', 'mlp.0.weight', 'mlp.1.bias', 'mlp.1.weight']
>>> forward(params, spec, torch.zeros(5, 3, dtype=torch.float64), None).shape
torch.Size([5, 2])
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from lifelong.errors import ConfigError

if TYPE_CHECKING:
    import torch

Activation = Literal["relu", "tanh"]
ACTIVATIONS: tuple[Activation, ...] = ("relu", "tanh")
FROZEN = ("input.mean", "input.scale")


def require_torch() -> None:
    """Check that PyTorch is importable, else raise a ConfigError naming the extra to install."""
    try:
        importlib.import_module("torch")
    except ImportError as exc:
        raise ConfigError(
            "model.kind: the PyTorch learners need torch; install the 'torch' extra "
            "(pip install 'lifelong[torch]'), got no importable torch"
        ) from exc


@dataclass(frozen=True)
class NetSpec:
    """The shape of a network.

    Parameters
    ----------
    n_numeric
        Numeric input columns (standardised, then fed to the first layer).
    hidden
        Widths of the hidden layers.
    n_classes
        Output logits.
    activation
        ``relu`` or ``tanh`` after every hidden layer.
    embeddings
        ``(rows, dim)`` of each embedding table, in column order.
    """

    n_numeric: int
    hidden: tuple[int, ...]
    n_classes: int
    activation: Activation = "relu"
    embeddings: tuple[tuple[int, int], ...] = ()

    @property
    def n_inputs(self) -> int:
        """Width of the first layer's input: numeric columns plus embedding dimensions."""
        return self.n_numeric + sum(dim for _, dim in self.embeddings)

    @property
    def n_layers(self) -> int:
        """Linear layers, the output layer included."""
        return len(self.hidden) + 1

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """The name and shape of every tensor of the network."""
        shapes: dict[str, tuple[int, ...]] = {
            "input.mean": (self.n_numeric,),
            "input.scale": (self.n_numeric,),
        }
        for j, (rows, dim) in enumerate(self.embeddings):
            shapes[f"embed.{j}.weight"] = (rows, dim)
        widths = (self.n_inputs, *self.hidden, self.n_classes)
        for i in range(self.n_layers):
            shapes[f"mlp.{i}.weight"] = (widths[i + 1], widths[i])
            shapes[f"mlp.{i}.bias"] = (widths[i + 1],)
        return shapes

    def trainable(self) -> list[str]:
        """Names of the trained tensors, in a stable order (the optimizer's order)."""
        return [name for name in self.shapes() if name not in FROZEN]


def init_params(spec: NetSpec, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Fresh tensors: layers as :class:`torch.nn.Linear` does, embeddings ``N(0, 1/dim)``."""
    import torch

    params: dict[str, torch.Tensor] = {}
    for name, shape in spec.shapes().items():
        if name == "input.mean":
            value = torch.zeros(shape, dtype=torch.float64)
        elif name == "input.scale":
            value = torch.ones(shape, dtype=torch.float64)
        elif name.startswith("embed."):
            noise = torch.randn(shape, generator=generator, dtype=torch.float64)
            value = noise / float(shape[1]) ** 0.5
        else:
            layer = int(name.split(".")[1])
            fan_in = spec.shapes()[f"mlp.{layer}.weight"][1]
            bound = 1.0 / max(fan_in, 1) ** 0.5
            unit = torch.rand(shape, generator=generator, dtype=torch.float64)
            value = (unit * 2.0 - 1.0) * bound
        params[name] = value
    return params


def forward(
    params: dict[str, torch.Tensor],
    spec: NetSpec,
    numeric: torch.Tensor,
    ids: torch.Tensor | None,
) -> torch.Tensor:
    """Logits of a batch: ``numeric`` ``(n, n_numeric)`` floats, ``ids`` ``(n, tables)`` ints."""
    import torch

    functional = torch.nn.functional
    parts = [(numeric - params["input.mean"]) / params["input.scale"]]
    for j in range(len(spec.embeddings)):
        if ids is None:
            raise ConfigError("ids: expected embedding indices for a network with tables")
        parts.append(functional.embedding(ids[:, j], params[f"embed.{j}.weight"]))
    hidden = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
    act = torch.relu if spec.activation == "relu" else torch.tanh
    for i in range(spec.n_layers):
        hidden = functional.linear(hidden, params[f"mlp.{i}.weight"], params[f"mlp.{i}.bias"])
        if i < spec.n_layers - 1:
            hidden = act(hidden)
    return hidden


__all__ = [
    "ACTIVATIONS",
    "FROZEN",
    "Activation",
    "NetSpec",
    "forward",
    "init_params",
    "require_torch",
]
