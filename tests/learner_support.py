"""Helpers shared by the learner tests: the torch requirement and a test signing key."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from service_support import require

from lifelong.learners.river import RiverLearner
from lifelong.registry.signing import Signer

TORCH_INSTALLED = all(
    importlib.util.find_spec(name) is not None for name in ("torch", "safetensors")
)
TEST_SIGNER = Signer(b"lifelong-test-signing-key-32-byte")


def require_torch() -> None:
    """Skip without PyTorch (the 'torch' extra), or fail under CI."""
    require(TORCH_INSTALLED, "torch and safetensors are not installed (the 'torch' extra)")


class SignedRiverLearner(RiverLearner):
    """A River learner whose ``load`` verifies with the test key unless told otherwise.

    The contract suite calls ``type(learner).load(directory)``; in production the caller that
    owns the registry's key passes ``signer=`` explicitly.
    """

    @classmethod
    def load(cls, directory: Path, *, signer: Signer | None = None) -> SignedRiverLearner:
        return super().load(directory, signer=signer or TEST_SIGNER)


def circle(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Inside a circle in the first two columns, with 5% label noise (a nonlinear boundary)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] ** 2 + X[:, 1] ** 2 < 1.4).astype(np.int64)
    return X, np.where(rng.random(n) < 0.05, 1 - y, y)
