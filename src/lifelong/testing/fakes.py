"""In-memory fakes for the prediction server: a model loader with movable champions, and a sink.

They are real implementations kept in memory (no mocks): the loader serves real fitted
scikit-learn models and keeps an alias history; the sink is idempotent by ``event_id`` like the
event store.

Examples
--------
>>> loader = InMemoryModelLoader()
>>> loader.add(logistic_served_model("churn", "1.0"), champion=True)
>>> loader.add(logistic_served_model("churn", "1.1", seed=1))
>>> loader.promote("churn", "1.1", actor="alice", reason="better AUC")
>>> loader.champion_version("churn")
'1.1'
>>> loader.rollback("churn", actor="bob", reason="latency")
'1.0'
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from lifelong.clock import Clock, SystemClock
from lifelong.errors import ArtifactError, NotFoundError, RegistryError
from lifelong.events.store import AppendResult
from lifelong.registry.types import AliasChange
from lifelong.serving.model import InputSpec, ServedModel, served_from_estimator


class InMemoryModelLoader:
    """A :class:`~lifelong.serving.model.ModelLoader` and ``AdminActions`` over in-memory versions.

    Parameters
    ----------
    load_delay
        Seconds every :meth:`load` takes, to exercise swaps during slow loads.
    clock
        Time source of the alias history.

    Examples
    --------
    >>> loader = InMemoryModelLoader()
    >>> loader.add(logistic_served_model("m", "1.0"), champion=True)
    >>> loader.load("m", "1.0").version, loader.loads
    ('1.0', 1)
    """

    def __init__(self, *, load_delay: float = 0.0, clock: Clock | None = None) -> None:
        self._lock = threading.Lock()
        self._versions: dict[str, dict[str, ServedModel]] = {}
        self._champions: dict[str, str | None] = {}
        self._load_delay = float(load_delay)
        self._clock = clock or SystemClock()
        self.history: list[AliasChange] = []
        self.broken: set[tuple[str, str]] = set()
        self.loads = 0

    def add(self, served: ServedModel, *, champion: bool = False) -> None:
        """Register a version; with ``champion=True`` it also becomes the champion."""
        with self._lock:
            self._versions.setdefault(served.model, {})[served.version] = served
            self._champions.setdefault(served.model, None)
        if champion:
            self.set_champion(served.model, served.version)

    def models(self) -> list[str]:
        with self._lock:
            return sorted(self._versions)

    def versions(self, model: str) -> list[str]:
        """Registered versions of ``model``."""
        return sorted(self._model(model))

    def champion_version(self, model: str) -> str | None:
        self._model(model)
        return self._champions.get(model)

    def load(self, model: str, version: str) -> ServedModel:
        served = self._version(model, version)
        if self._load_delay:
            time.sleep(self._load_delay)
        if (model, version) in self.broken:
            raise ArtifactError(
                f"artifact of {model!r} version {version!r}: expected a readable file, got a broken one"
            )
        with self._lock:
            self.loads += 1
        return served

    def set_champion(
        self, model: str, version: str | None, *, actor: str = "test", reason: str = ""
    ) -> None:
        """Point the champion alias at ``version`` (None removes it) and record the move."""
        if version is not None:
            self._version(model, version)
        with self._lock:
            previous = self._champions.get(model)
            self._champions[model] = version
            self.history.append(
                AliasChange(model, "champion", previous, version, actor, reason, self._clock.now())
            )

    def promote(self, model: str, version: str, *, actor: str, reason: str) -> None:
        self.set_champion(model, version, actor=actor, reason=reason)

    def rollback(self, model: str, *, actor: str, reason: str) -> str:
        current = self.champion_version(model)
        with self._lock:
            moves = [c for c in self.history if c.model == model and c.to_version == current]
        previous = moves[-1].from_version if moves else None
        if previous is None:
            raise RegistryError(f"rollback of {model!r}: expected a previous champion, got none")
        self.set_champion(model, previous, actor=actor, reason=reason)
        return previous

    def _model(self, model: str) -> dict[str, ServedModel]:
        with self._lock:
            versions = self._versions.get(model)
            if versions is None:
                raise NotFoundError(
                    f"model: expected one of {sorted(self._versions)}, got {model!r}"
                )
            return dict(versions)

    def _version(self, model: str, version: str) -> ServedModel:
        versions = self._model(model)
        if version not in versions:
            raise NotFoundError(
                f"version of {model!r}: expected one of {sorted(versions)}, got {version!r}"
            )
        return versions[version]


class ListPredictionSink:
    """A prediction sink that keeps frames in memory, idempotent by ``event_id``.

    Examples
    --------
    >>> import pandas as pd
    >>> sink = ListPredictionSink()
    >>> sink.append("predictions", pd.DataFrame({"event_id": ["a", "b"]}))
    AppendResult(written=2, duplicates=0)
    >>> sink.append("predictions", pd.DataFrame({"event_id": ["b"]}))
    AppendResult(written=0, duplicates=1)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.frames: list[tuple[str, pd.DataFrame]] = []
        self._ids: set[tuple[str, str]] = set()
        self.failures_left = 0
        self.calls = 0

    def fail_next(self, count: int) -> None:
        """Make the next ``count`` appends raise ``ConnectionError``."""
        self.failures_left = count

    def append(self, stream: str, frame: pd.DataFrame) -> AppendResult:
        with self._lock:
            self.calls += 1
            if self.failures_left:
                self.failures_left -= 1
                raise ConnectionError(
                    f"sink {stream!r}: expected to be reachable, got a refused connection"
                )
            ids = [str(value) for value in frame["event_id"]]
            fresh = [(stream, event_id) not in self._ids for event_id in ids]
            self._ids.update((stream, event_id) for event_id in ids)
            kept = frame.loc[fresh].reset_index(drop=True)
            if len(kept):
                self.frames.append((stream, kept))
            return AppendResult(written=len(kept), duplicates=len(ids) - len(kept))

    def rows(self, stream: str = "predictions") -> pd.DataFrame:
        """Every stored row of ``stream``, in append order."""
        with self._lock:
            frames = [frame for name, frame in self.frames if name == stream]
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, ignore_index=True)


def logistic_served_model(
    model: str = "demo",
    version: str = "1.0",
    *,
    seed: int = 0,
    features: Sequence[str] = ("x1", "x2", "x3"),
    extra_inputs: Sequence[InputSpec] = (),
    n_rows: int = 200,
    classes: Sequence[Any] = (0, 1),
) -> ServedModel:
    """A :class:`ServedModel` over a scikit-learn LogisticRegression fitted on seeded data.

    Different seeds give different coefficients, so the versions answer differently.
    """
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, len(features)))
    weights = rng.normal(size=(len(features), len(classes)))
    y = np.asarray(classes, dtype=object if any(isinstance(c, str) for c in classes) else None)[
        (X @ weights).argmax(axis=1)
    ]
    estimator = LogisticRegression().fit(X, y)
    return served_from_estimator(
        model, version, estimator, features=features, extra_inputs=extra_inputs
    )


__all__ = ["InMemoryModelLoader", "ListPredictionSink", "logistic_served_model"]
