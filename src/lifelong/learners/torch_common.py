"""What the PyTorch learners share: training from scratch or from the checkpoint, replay, EWC.

``fit`` initialises a network (seeded), fixes the input standardisation on the rows and
trains ``epochs`` passes of mini-batch Adam. ``update`` continues from the current weights
*and* the optimizer's moments for ``update_epochs`` passes over the new rows mixed with the
replay buffer (a seeded reservoir of at most ``replay_size`` past rows); with ``ewc_lambda > 0``
an elastic-weight-consolidation penalty keeps the weights that mattered for the previous
task (Fisher diagonal measured after each fit/update) near their values. Both limit
catastrophic forgetting; ``tests/learners/test_torch_forgetting.py`` measures it.

The checkpoint is ``weights.safetensors`` (the network), ``optimizer.safetensors`` (Adam's
step and moments), ``continual.safetensors`` (replay rows, Fisher and anchor, when used) and
``learner.json`` (hyperparameters, classes, counters). No pickle is written or read.
Training and prediction run with ``num_threads`` threads and seeded generators; the process's
global random state is never touched.
"""

from __future__ import annotations

import copy
import importlib.metadata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import numpy as np
from numpy.typing import NDArray

from lifelong.errors import (
    ArtifactError,
    ConfigError,
    LifelongError,
    TrainingError,
    ValidationError,
)
from lifelong.learners._checks import (
    FloatArray,
    check_choice,
    check_features,
    check_float,
    check_int,
    check_known_labels,
    check_target,
    check_weight,
    json_labels,
)
from lifelong.learners.base import Learner
from lifelong.learners.manifest import read_manifest, write_manifest
from lifelong.learners.replay import ReservoirBuffer
from lifelong.learners.torch_nets import (
    ACTIVATIONS,
    Activation,
    NetSpec,
    forward,
    init_params,
    require_torch,
)
from lifelong.learners.torch_train import (
    Batch,
    EWCAnchor,
    fisher_diagonal,
    make_optimizer,
    optimizer_tensors,
    restore_optimizer,
    torch_threads,
    train_epochs,
)

if TYPE_CHECKING:
    import torch

WEIGHTS_FILE = "weights.safetensors"
OPTIMIZER_FILE = "optimizer.safetensors"
CONTINUAL_FILE = "continual.safetensors"


def _hidden(value: object) -> tuple[int, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise ConfigError(f"hidden: expected a non-empty list of layer widths, got {value!r}")
    return tuple(check_int("hidden", width, minimum=1) for width in value)


def _save_tensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    from safetensors.torch import save_file

    save_file({name: value.detach().contiguous() for name, value in tensors.items()}, str(path))


def _load_tensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return dict(load_file(str(path)))
    except (OSError, SafetensorError, ValueError, RuntimeError) as exc:
        raise ArtifactError(f"{path}: expected a safetensors file: {exc}") from exc


class TorchLearnerBase(Learner):
    """Shared hyperparameters and state of the PyTorch classifiers (see the module docstring).

    Subclasses may embed some input columns: they override :meth:`_split` (numeric block and
    integer indices), :meth:`_tables` (embedding table shapes) and :meth:`_check_layout`.
    """

    def __init__(
        self,
        *,
        hidden: Sequence[int] = (32,),
        activation: Activation = "relu",
        learning_rate: float = 0.01,
        weight_decay: float = 0.0,
        epochs: int = 20,
        update_epochs: int = 5,
        batch_size: int = 64,
        seed: int = 0,
        num_threads: int = 1,
        replay_size: int = 0,
        ewc_lambda: float = 0.0,
    ) -> None:
        require_torch()
        self.hidden = _hidden(hidden)
        self.activation: Activation = check_choice("activation", activation, ACTIVATIONS)  # type: ignore[assignment]
        self.learning_rate = check_float(
            "learning_rate", learning_rate, low=0.0, high=np.inf, low_inclusive=False
        )
        self.weight_decay = check_float("weight_decay", weight_decay, low=0.0, high=np.inf)
        self.epochs = check_int("epochs", epochs, minimum=1)
        self.update_epochs = check_int("update_epochs", update_epochs, minimum=1)
        self.batch_size = check_int("batch_size", batch_size, minimum=1)
        self.seed = check_int("seed", seed, minimum=0)
        self.num_threads = check_int("num_threads", num_threads, minimum=1)
        self.replay_size = check_int("replay_size", replay_size, minimum=0)
        self.ewc_lambda = check_float("ewc_lambda", ewc_lambda, low=0.0, high=np.inf)
        self._spec: NetSpec | None = None
        self._params: dict[str, torch.Tensor] | None = None
        self._optimizer: torch.optim.Adam | None = None
        self._classes: NDArray[Any] = np.empty(0)
        self._n_features: int | None = None
        self._calls = 0
        self._replay = ReservoirBuffer(replay_size, seed=seed) if replay_size else None
        self._ewc: EWCAnchor | None = None

    # ------------------------------------------------------------- subclass hooks
    def _check_layout(self, n_features: int) -> None:
        """Refuse a column count that the embedded columns do not fit in."""

    def _numeric_width(self, n_features: int) -> int:
        return n_features

    def _tables(self) -> tuple[tuple[int, int], ...]:
        return ()

    def _split(self, X: FloatArray) -> tuple[FloatArray, NDArray[np.int64] | None]:
        """Numeric block (finite floats) and embedding indices of validated rows."""
        bad = ~np.isfinite(X)
        if bad.any():
            row, column = (int(i) for i in np.argwhere(bad)[0])
            raise ValidationError(
                f"X: expected finite numbers, got {X[row, column]} at row {row}, column {column}",
                field="X",
            )
        return X, None

    def _extra_params(self) -> dict[str, Any]:
        return {}

    def _extra_signature(self) -> dict[str, Any]:
        return {}

    # ------------------------------------------------------------------ helpers
    def _net_spec(self, n_features: int, n_classes: int) -> NetSpec:
        return NetSpec(
            n_numeric=self._numeric_width(n_features),
            hidden=self.hidden,
            n_classes=n_classes,
            activation=self.activation,
            embeddings=self._tables(),
        )

    def _generator(self, call: int, purpose: int) -> torch.Generator:
        """A generator for training call ``call``: purpose 0 init, 1 batch order, 2 Fisher."""
        import torch

        state = np.random.SeedSequence([self.seed, call, purpose]).generate_state(2)
        return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))

    def _batch(self, X: FloatArray, targets: FloatArray, weights: FloatArray) -> Batch:
        import torch

        numeric, ids = self._split(X)
        return Batch(
            numeric=torch.from_numpy(np.ascontiguousarray(numeric, dtype=np.float64)),
            ids=None if ids is None else torch.from_numpy(ids),
            targets=torch.from_numpy(np.ascontiguousarray(targets, dtype=np.float64)),
            weights=torch.from_numpy(np.ascontiguousarray(weights, dtype=np.float64)),
        )

    def _anchor(
        self, params: dict[str, torch.Tensor], spec: NetSpec, batch: Batch, call: int
    ) -> EWCAnchor | None:
        if self.ewc_lambda <= 0.0:
            return None
        generator = self._generator(call, 2)
        fisher = fisher_diagonal(params, spec, batch.numeric, batch.ids, generator)
        anchor = {name: params[name].detach().clone() for name in fisher}
        return EWCAnchor(anchor=anchor, fisher=fisher)

    def _inputs(
        self, X: FloatArray, y: NDArray[Any], sample_weight: FloatArray | None, n: int | None
    ) -> tuple[FloatArray, NDArray[Any], FloatArray]:
        features = check_features(X, n_features=n)
        self._check_layout(features.shape[1])
        target = check_target(y, features.shape[0])
        weight = check_weight(sample_weight, features.shape[0])
        if weight is None:
            weight = np.ones(features.shape[0], dtype=np.float64)
        return features, target, weight

    # ------------------------------------------------------------------ training
    def fit(
        self, X: FloatArray, y: NDArray[Any], *, sample_weight: FloatArray | None = None
    ) -> Self:
        features, target, weight = self._inputs(X, y, sample_weight, None)
        classes = np.unique(target)
        if classes.size < 2:
            raise TrainingError(f"y: expected at least 2 classes, got {json_labels(classes)}")
        codes = np.searchsorted(classes, target)
        return self._fit_targets(features, np.eye(classes.size)[codes], classes, codes, weight)

    def fit_soft(
        self,
        X: FloatArray,
        targets: FloatArray,
        *,
        classes: NDArray[Any],
        sample_weight: FloatArray | None = None,
    ) -> Self:
        """Train from scratch on class-probability targets (one row per row of ``X``).

        ``classes`` (sorted, distinct, at least 2) name the target columns. This is how a
        teacher's soft predictions are distilled (:func:`lifelong.learners.distill.distill`).
        """
        labels = np.asarray(classes)
        if labels.ndim != 1 or labels.size < 2 or not np.array_equal(np.unique(labels), labels):
            raise ValidationError(
                f"classes: expected 2 or more sorted distinct labels, got {labels.tolist()}",
                field="classes",
            )
        soft = np.asarray(targets, dtype=np.float64)
        features = check_features(X)
        if soft.shape != (features.shape[0], labels.size):
            raise ValidationError(
                f"targets: expected shape {(features.shape[0], labels.size)}, got {soft.shape}",
                field="targets",
            )
        if not np.all(np.isfinite(soft)) or np.any(soft < 0) or not np.allclose(soft.sum(1), 1):
            raise ValidationError(
                "targets: expected rows of non-negative probabilities summing to 1",
                field="targets",
            )
        self._check_layout(features.shape[1])
        weight = check_weight(sample_weight, features.shape[0])
        if weight is None:
            weight = np.ones(features.shape[0], dtype=np.float64)
        return self._fit_targets(features, soft, labels, np.argmax(soft, axis=1), weight)

    def _fit_targets(
        self,
        features: FloatArray,
        targets: FloatArray,
        classes: NDArray[Any],
        codes: NDArray[np.intp],
        weight: FloatArray,
    ) -> Self:
        import torch

        spec = self._net_spec(features.shape[1], classes.size)
        batch = self._batch(features, targets, weight)
        try:
            with torch_threads(self.num_threads):
                params = init_params(spec, self._generator(0, 0))
                mean = batch.numeric.mean(dim=0)
                scale = batch.numeric.std(dim=0, correction=0)
                params["input.mean"] = mean
                params["input.scale"] = torch.where(scale > 1e-12, scale, torch.ones_like(scale))
                optimizer = make_optimizer(
                    params, spec, learning_rate=self.learning_rate, weight_decay=self.weight_decay
                )
                train_epochs(
                    params,
                    spec,
                    optimizer,
                    batch,
                    epochs=self.epochs,
                    batch_size=self.batch_size,
                    generator=self._generator(0, 1),
                )
                ewc = self._anchor(params, spec, batch, 0)
        except LifelongError:
            raise
        except Exception as exc:
            raise TrainingError(f"{self.kind}: training failed: {exc}") from exc
        self._spec, self._params, self._optimizer, self._ewc = spec, params, optimizer, ewc
        self._classes, self._n_features, self._calls = classes, features.shape[1], 1
        if self._replay is not None:
            self._replay.clear()
            self._replay.add(features, codes)
        return self

    def update(
        self, X: FloatArray, y: NDArray[Any], *, sample_weight: FloatArray | None = None
    ) -> Self:
        if self._params is None or self._spec is None or self._optimizer is None:
            return self.fit(X, y, sample_weight=sample_weight)
        features, target, weight = self._inputs(X, y, sample_weight, self._n_features)
        check_known_labels(target, self._classes)
        codes = np.searchsorted(self._classes, target)
        rows, all_codes, all_weight = features, codes, weight
        if self._replay is not None and self._replay.size:
            rows = np.vstack([features, self._replay.X])
            all_codes = np.concatenate([codes, self._replay.codes])
            all_weight = np.concatenate([weight, np.ones(self._replay.size)])
        batch = self._batch(rows, np.eye(self._classes.size)[all_codes], all_weight)
        fresh = self._batch(features, np.eye(self._classes.size)[codes], weight)
        backup = {name: value.detach().clone() for name, value in self._params.items()}
        moments = copy.deepcopy(self._optimizer.state_dict())
        try:
            with torch_threads(self.num_threads):
                train_epochs(
                    self._params,
                    self._spec,
                    self._optimizer,
                    batch,
                    epochs=self.update_epochs,
                    batch_size=self.batch_size,
                    generator=self._generator(self._calls, 1),
                    ewc=self._ewc,
                    ewc_lambda=self.ewc_lambda,
                )
                ewc = self._anchor(self._params, self._spec, fresh, self._calls)
        except Exception as exc:
            import torch

            with torch.no_grad():
                for name, value in backup.items():
                    self._params[name].copy_(value)
            self._optimizer.load_state_dict(moments)
            if isinstance(exc, LifelongError):
                raise
            raise TrainingError(f"{self.kind}: update failed: {exc}") from exc
        self._ewc = ewc
        self._calls += 1
        if self._replay is not None:
            self._replay.add(features, codes)
        return self

    # ---------------------------------------------------------------- prediction
    def predict_proba(self, X: FloatArray) -> FloatArray:
        if self._params is None or self._spec is None:
            raise TrainingError(f"predict: the {self.kind} learner is not fitted; call fit first")
        features = check_features(X, n_features=self._n_features)
        import torch

        numeric, ids = self._split(features)
        with torch_threads(self.num_threads), torch.no_grad():
            logits = forward(
                self._params,
                self._spec,
                torch.from_numpy(np.ascontiguousarray(numeric, dtype=np.float64)),
                None if ids is None else torch.from_numpy(ids),
            )
            proba = torch.softmax(logits, dim=1).numpy()
        return np.asarray(proba, dtype=np.float64)

    def predict(self, X: FloatArray) -> NDArray[Any]:
        return np.asarray(self._classes[np.argmax(self.predict_proba(X), axis=1)])

    # ------------------------------------------------------------------- state
    @property
    def classes_(self) -> NDArray[Any]:
        return self._classes

    @property
    def is_fitted(self) -> bool:
        return self._params is not None

    @property
    def spec(self) -> NetSpec | None:
        """The network's shape, or ``None`` before ``fit``."""
        return self._spec

    @property
    def replay(self) -> ReservoirBuffer | None:
        """The replay buffer, or ``None`` when ``replay_size`` is 0."""
        return self._replay

    def weights(self) -> dict[str, torch.Tensor]:
        """Copies of the network's named tensors (empty before ``fit``)."""
        return {n: v.detach().clone() for n, v in (self._params or {}).items()}

    def params(self) -> dict[str, Any]:
        return {
            "hidden": list(self.hidden),
            "activation": self.activation,
            "learning_rate": self.learning_rate,
            "weight_decay": self.weight_decay,
            "epochs": self.epochs,
            "update_epochs": self.update_epochs,
            "batch_size": self.batch_size,
            "seed": self.seed,
            "num_threads": self.num_threads,
            "replay_size": self.replay_size,
            "ewc_lambda": self.ewc_lambda,
            **self._extra_params(),
        }

    def signature(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "hidden": list(self.hidden),
            "activation": self.activation,
            **self._extra_signature(),
        }

    def clone(self) -> Self:
        return type(self)(**self.params())

    def transplant(
        self,
        hidden: Sequence[int],
        tensors: dict[str, torch.Tensor],
        *,
        learning_rate: float | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Self:
        """A fitted copy with other hidden widths and the given tensors (network surgery).

        The copy keeps the classes, the input layout, the replay buffer (what fits in its own)
        and the call counter; it starts a fresh optimizer (at ``learning_rate``, default the
        copy's) and no EWC anchor (the tensor shapes changed). ``params`` gives the copy other
        hyperparameters (default this learner's); ``hidden`` always wins.
        """
        if self._spec is None or self._n_features is None:
            raise TrainingError(f"transplant: the {self.kind} learner is not fitted")
        base = self.params() if params is None else dict(params)
        rate = base.get("learning_rate", self.learning_rate) if learning_rate is None else learning_rate
        learner = type(self)(**{**base, "hidden": list(hidden), "learning_rate": rate})
        spec = learner._net_spec(self._n_features, self._classes.size)
        learner._install(spec, tensors, self._classes, self._n_features)
        learner._calls = self._calls
        if self._replay is not None and learner._replay is not None:
            keep = min(self._replay.size, learner._replay.capacity)
            learner._replay.restore(
                self._replay.X[-keep:] if keep else self._replay.X[:0],
                self._replay.codes[-keep:] if keep else self._replay.codes[:0],
                self._replay.seen,
            )
        return learner

    def _install(
        self,
        spec: NetSpec,
        tensors: dict[str, torch.Tensor],
        classes: NDArray[Any],
        n_features: int,
    ) -> None:
        import torch

        expected = spec.shapes()
        if set(tensors) != set(expected):
            raise ArtifactError(
                f"weights: expected tensors {sorted(expected)}, got {sorted(tensors)}"
            )
        for name, shape in expected.items():
            value = tensors[name]
            if tuple(value.shape) != shape or value.dtype != torch.float64:
                raise ArtifactError(
                    f"weights: {name}: expected float64 {shape}, got {value.dtype} "
                    f"{tuple(value.shape)}"
                )
        params = {name: tensors[name].detach().clone() for name in expected}
        self._optimizer = make_optimizer(
            params, spec, learning_rate=self.learning_rate, weight_decay=self.weight_decay
        )
        self._spec, self._params = spec, params
        self._classes, self._n_features = classes, n_features

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        if self._params is not None and self._spec is not None and self._optimizer is not None:
            _save_tensors(directory / WEIGHTS_FILE, self._params)
            _save_tensors(
                directory / OPTIMIZER_FILE, optimizer_tensors(self._optimizer, self._spec)
            )
            continual: dict[str, torch.Tensor] = {}
            import torch

            if self._replay is not None and self._replay.size:
                continual["replay.X"] = torch.from_numpy(self._replay.X.copy())
                continual["replay.codes"] = torch.from_numpy(self._replay.codes.copy())
            if self._ewc is not None:
                continual |= {f"ewc.fisher.{n}": v for n, v in self._ewc.fisher.items()}
                continual |= {f"ewc.anchor.{n}": v for n, v in self._ewc.anchor.items()}
            if continual:
                _save_tensors(directory / CONTINUAL_FILE, continual)
        write_manifest(
            directory,
            kind=self.kind,
            params=self.params(),
            classes=json_labels(self._classes),
            fitted=self._params is not None,
            n_features=self._n_features,
            calls=self._calls,
            replay_seen=0 if self._replay is None else self._replay.seen,
            torch_version=importlib.metadata.version("torch"),
        )

    @classmethod
    def load(cls, directory: Path) -> Self:
        manifest = read_manifest(directory, kind=cls.kind)
        try:
            learner = cls(**manifest["params"])
        except (TypeError, ConfigError) as exc:
            raise ArtifactError(
                f"{directory}: learner.json params do not build a learner: {exc}"
            ) from exc
        if not manifest.get("fitted"):
            return learner
        classes = np.asarray(manifest.get("classes", []))
        n_features = manifest.get("n_features")
        if classes.size < 2 or not isinstance(n_features, int) or n_features < 1:
            raise ArtifactError(f"{directory}: expected 2+ classes and a positive n_features")
        try:
            learner._check_layout(n_features)
        except ValidationError as exc:
            raise ArtifactError(f"{directory}: {exc}") from exc
        spec = learner._net_spec(n_features, classes.size)
        learner._install(spec, _load_tensors(directory / WEIGHTS_FILE), classes, n_features)
        optimizer = learner._optimizer
        if optimizer is not None and (directory / OPTIMIZER_FILE).is_file():
            restore_optimizer(optimizer, spec, _load_tensors(directory / OPTIMIZER_FILE))
        learner._calls = int(manifest.get("calls", 1))
        continual = (
            _load_tensors(directory / CONTINUAL_FILE)
            if (directory / CONTINUAL_FILE).is_file()
            else {}
        )
        learner._restore_continual(continual, int(manifest.get("replay_seen", 0)), spec)
        return learner

    def _restore_continual(
        self, tensors: dict[str, torch.Tensor], seen: int, spec: NetSpec
    ) -> None:
        if self._replay is not None and "replay.X" in tensors:
            self._replay.restore(tensors["replay.X"].numpy(), tensors["replay.codes"].numpy(), seen)
        elif self._replay is not None:
            self._replay.restore(np.empty((0, 0)), np.empty(0, dtype=np.int64), seen)
        fisher = {
            k.removeprefix("ewc.fisher."): v
            for k, v in tensors.items()
            if k.startswith("ewc.fisher.")
        }
        anchor = {
            k.removeprefix("ewc.anchor."): v
            for k, v in tensors.items()
            if k.startswith("ewc.anchor.")
        }
        if fisher:
            shapes = spec.shapes()
            if set(fisher) != set(anchor) or any(
                tuple(v.shape) != shapes.get(n) for n, v in (fisher | anchor).items()
            ):
                raise ArtifactError("continual: ewc fisher and anchor do not match the network")
            self._ewc = EWCAnchor(anchor=anchor, fisher=fisher)


__all__ = ["CONTINUAL_FILE", "OPTIMIZER_FILE", "WEIGHTS_FILE", "TorchLearnerBase"]
