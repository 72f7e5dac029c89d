"""Serve what the registry says: the champion's bundle, verified, as a :class:`ServedModel`."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from lifelong.deployment import CHAMPION, promote, rollback
from lifelong.registry import Registry
from lifelong.serving.fastpath import binary_logistic_proba
from lifelong.serving.model import InputSpec, ServedModel, checked_matrix
from lifelong.training.bundle import ModelBundle


def served_from_bundle(model: str, version: str, bundle: ModelBundle) -> ServedModel:
    """Wrap a bundle: its features become typed inputs, its pass-through keys optional strings."""
    features = bundle.features
    classes = np.asarray(bundle.classes_)
    inputs = [InputSpec(name, "FP64") for name in features.numeric]
    inputs += [
        InputSpec(name, "BYTES", required=features.missing == "error")
        for name in features.categorical
    ]
    inputs += [
        InputSpec(name, "BYTES")
        for name in bundle.passthrough
        if name not in {i.name for i in inputs}
    ]

    def predict(frame: pd.DataFrame) -> tuple[NDArray[Any], NDArray[np.float64]]:
        proba = np.asarray(bundle.predict_proba_frame(frame), dtype=np.float64)
        return classes[proba.argmax(axis=1)], proba

    fast = None
    if not features.categorical:
        learner = bundle.learner
        direct = binary_logistic_proba(getattr(learner, "estimator", None))

        def fast(X: NDArray[np.float64]) -> tuple[NDArray[Any], NDArray[np.float64]]:
            if direct is not None:  # the same arithmetic as scikit-learn, without its input checks
                proba = direct(X)
            else:
                with checked_matrix():
                    proba = np.asarray(learner.predict_proba(X), dtype=np.float64)
            return classes[proba.argmax(axis=1)], proba

    return ServedModel(
        model=model,
        version=version,
        inputs=tuple(inputs),
        classes=tuple(classes.tolist()),
        predict=predict,
        platform=f"lifelong-{bundle.learner.kind}",
        features=tuple(features.numeric) if fast is not None else (),
        predict_array=fast,
    )


class RegistryModelLoader:
    """The server's view of the registry: which version is champion, and loading it.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> loader = RegistryModelLoader(Registry.open(pathlib.Path(tempfile.mkdtemp())))
    >>> loader.champion_version("ctr") is None
    True
    """

    def __init__(
        self,
        registry: Registry,
        *,
        alias: str = CHAMPION,
        loaded: Callable[[str, str], ModelBundle | None] | None = None,
    ) -> None:
        self.registry = registry
        self.alias = alias
        self.loaded = loaded

    def models(self) -> list[str]:
        return self.registry.models()

    def champion_version(self, model: str) -> str | None:
        return self.registry.alias_version(model, self.alias)

    def load(self, model: str, version: str) -> ServedModel:
        """``version`` of ``model`` ready to serve: read from the registry, its hashes verified.

        With ``loaded`` (the orchestrator of the same process: :meth:`Orchestrator.loaded_bundle`),
        a bundle that process holds already (it trained and registered it, or read it verified)
        is served as it is, not read back a second time.
        """
        held = self.loaded(model, version) if self.loaded is not None else None
        if held is not None:
            return served_from_bundle(model, version, held)
        with tempfile.TemporaryDirectory(prefix="lifelong-serve-") as tmp:
            path = self.registry.load_artifact(model, version, Path(tmp) / "bundle")
            bundle = ModelBundle.load(path, signer=self.registry.signer)
        return served_from_bundle(model, version, bundle)


class RegistryAdmin:
    """Admin actions of the server, applied to the registry (atomic, kept in the alias history)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def promote(self, model: str, version: str, *, actor: str, reason: str) -> None:
        promote(self.registry, model, version, actor=actor, reason=reason)

    def rollback(self, model: str, *, actor: str, reason: str) -> str:
        change = rollback(self.registry, model, actor=actor, reason=reason)
        return str(change.to_version)


def build_app(
    registry: Registry,
    sink: Any,
    *,
    admin_token: str | None,
    api_token: str | None = None,
    clock: Any = None,
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "testserver"),
) -> Any:
    """The prediction server for a registry and an event store (the prediction log's sink).

    Admin endpoints are enabled only when ``admin_token`` is given. Rows are written ahead
    beside an event store (see :func:`~lifelong.serving.routed_app.wal_folder`).
    """
    from lifelong.serving.app import create_app
    from lifelong.serving.catalog import ModelCatalog
    from lifelong.serving.logger import PredictionLogger
    from lifelong.serving.routed_app import wal_folder
    from lifelong.serving.service import PredictionService

    catalog = ModelCatalog(RegistryModelLoader(registry))
    wal = wal_folder(sink, None)
    logger = PredictionLogger(sink, stream="predictions", wal_dir=wal / "predictions" if wal else None)
    service = PredictionService(catalog, logger, clock=clock)
    admin = RegistryAdmin(registry) if admin_token else None
    return create_app(
        service,
        admin=admin,
        admin_token=admin_token,
        api_token=api_token,
        allowed_hosts=allowed_hosts,
    )


__all__ = ["RegistryAdmin", "RegistryModelLoader", "build_app", "served_from_bundle"]
