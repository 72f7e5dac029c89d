"""The learner contract suite: the checks every :class:`~lifelong.learners.base.Learner` passes.

As River's ``checks`` and scikit-learn's ``parametrize_with_checks``: each check is a plain
function that takes a factory of unfitted learners and raises :class:`AssertionError` with a
clear message when the learner breaks the contract. Run them all with :func:`check_learner`,
or parametrize a test over :func:`learner_checks`. The checks target classifiers, and respect
``supports_update``: a learner that cannot continue from its state must refuse ``update``.

The checks train and probe on :func:`drifting_binary` (real-valued features). A factory whose
learner reads another kind of row carries its own generator as a ``dataset`` attribute (see
:class:`DatasetFactory` and :func:`with_dataset`): every check then draws its training rows,
drifted rows and probe rows from it. :func:`drifting_interactions` is the generator of
recommenders (integer user and item ids in columns 0 and 1).

Examples
--------
>>> from lifelong.learners import SklearnLearner
>>> check_learner(lambda: SklearnLearner(estimator="sklearn.naive_bayes.GaussianNB"))
>>> [check.__name__ for check in learner_checks()][:2]
['check_fit_predict_shapes', 'check_probabilities']
>>> factory = with_dataset(
...     lambda: SklearnLearner(estimator="sklearn.naive_bayes.GaussianNB"), drifting_interactions
... )
>>> check_learner(factory)
"""

from __future__ import annotations

import functools
import json
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from lifelong.errors import LifelongError, TrainingError
from lifelong.learners.base import Learner
from lifelong.learners.manifest import MANIFEST

LearnerFactory = Callable[[], Learner]
LearnerCheck = Callable[[LearnerFactory], None]
PICKLE_PROTOCOL_BYTE = 0x80
PROBE_ROWS = 50


class Dataset(Protocol):
    """A seeded generator of ``(X, y)`` rows whose labels change as ``drift`` goes from 0 to 1."""

    def __call__(
        self, *, seed: int = 0, n_rows: int = 240, drift: float = 0.0
    ) -> tuple[NDArray[np.float64], NDArray[np.int64]]: ...


@runtime_checkable
class DatasetFactory(Protocol):
    """A learner factory that names the rows its learners are checked on.

    Examples
    --------
    >>> from lifelong.learners import SklearnLearner
    >>> def gnb() -> Learner:
    ...     return SklearnLearner(estimator="sklearn.naive_bayes.GaussianNB")
    >>> isinstance(gnb, DatasetFactory)
    False
    >>> with_dataset(gnb, drifting_interactions).dataset is drifting_interactions
    True
    """

    def __call__(self) -> Learner: ...

    @property
    def dataset(self) -> Dataset: ...


def drifting_binary(
    *, seed: int = 0, n_rows: int = 240, n_features: int = 4, drift: float = 0.0
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """A small binary problem whose decision boundary rotates as ``drift`` goes from 0 to 1.

    Examples
    --------
    >>> X, y = drifting_binary(seed=1, n_rows=10)
    >>> X.shape, sorted(set(y.tolist()))
    ((10, 4), [0, 1])
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_features))
    angle = drift * np.pi / 2
    weights = np.zeros(n_features)
    weights[0], weights[1 % n_features] = np.cos(angle), np.sin(angle)
    if n_features > 2:
        weights[2] = 0.5
    score = X @ weights + rng.normal(scale=0.3, size=n_rows)
    y = (score > 0).astype(np.int64)
    y[:2] = (0, 1)  # both classes always present
    return X, y


def drifting_interactions(
    *, seed: int = 0, n_rows: int = 240, drift: float = 0.0, n_users: int = 8, n_items: int = 8
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """:func:`drifting_binary` with integer user and item ids in columns 0 and 1.

    The user is the quantile bucket (of the standard normal, so fixed across seeds) of feature
    0 and the item that of feature 1; columns 2 and 3 stay real-valued. The label is
    drifting_binary's: it depends mostly on the user at ``drift=0`` and on the item at
    ``drift=1``, so an update on drifted rows has something to learn.

    Examples
    --------
    >>> X, y = drifting_interactions(seed=1, n_rows=6)
    >>> X[:, :2].tolist()
    [[5.0, 6.0], [6.0, 5.0], [5.0, 4.0], [1.0, 3.0], [4.0, 3.0], [4.0, 3.0]]
    >>> sorted(set(y.tolist()))
    [0, 1]
    """
    X, y = drifting_binary(seed=seed, n_rows=n_rows, drift=drift)
    ids = X.copy()
    for column, buckets in ((0, n_users), (1, n_items)):
        edges = [NormalDist().inv_cdf(q / buckets) for q in range(1, buckets)]
        ids[:, column] = np.searchsorted(edges, X[:, column])
    return ids, y


def with_dataset(factory: LearnerFactory, dataset: Dataset) -> DatasetFactory:
    """``factory``, checked on rows drawn from ``dataset`` instead of :func:`drifting_binary`."""
    return _WithDataset(factory, dataset)


@dataclass(frozen=True)
class _WithDataset:
    build: LearnerFactory
    dataset: Dataset

    def __call__(self) -> Learner:
        return self.build()


def _dataset(factory: LearnerFactory) -> Dataset:
    """The rows ``factory``'s learners are checked on: its ``dataset``, or drifting_binary."""
    if isinstance(factory, DatasetFactory):
        return factory.dataset
    return drifting_binary


def _probe(factory: LearnerFactory) -> NDArray[np.float64]:
    return _dataset(factory)(seed=99, n_rows=PROBE_ROWS)[0]


def _fitted(factory: LearnerFactory, seed: int = 0, drift: float = 0.0) -> Learner:
    X, y = _dataset(factory)(seed=seed, drift=drift)
    return factory().fit(X, y)


def _name(learner: Learner) -> str:
    return f"{type(learner).__name__}({learner.params()})"


def _expect_error(
    errors: type[BaseException] | tuple[type[BaseException], ...],
    action: Callable[[], object],
    message: str,
) -> None:
    try:
        action()
    except errors:
        return
    except Exception as exc:
        raise AssertionError(f"{message}; it raised {type(exc).__name__}: {exc}") from exc
    raise AssertionError(f"{message}; it raised nothing")


def check_fit_predict_shapes(factory: LearnerFactory) -> None:
    """``fit`` returns the learner; ``predict`` and ``predict_proba`` have one row per input row."""
    X, y = _dataset(factory)()
    learner = factory()
    returned = learner.fit(X, y)
    if returned is not learner:
        raise AssertionError(f"{_name(learner)}: fit must return the learner itself (self)")
    probe = _probe(factory)
    predicted = learner.predict(probe)
    if predicted.shape != (len(probe),):
        raise AssertionError(
            f"{_name(learner)}: predict shape {predicted.shape}, expected ({PROBE_ROWS},)"
        )
    proba = learner.predict_proba(probe)
    if proba.shape != (len(probe), 2):
        raise AssertionError(
            f"{_name(learner)}: predict_proba shape {proba.shape}, expected ({PROBE_ROWS}, 2)"
        )
    if not set(np.unique(predicted).tolist()) <= set(y.tolist()):
        raise AssertionError(f"{_name(learner)}: predict returned labels outside y's")


def check_probabilities(factory: LearnerFactory) -> None:
    """Probabilities lie in [0, 1], sum to 1, and ``predict`` picks the most probable class."""
    learner = _fitted(factory)
    proba = learner.predict_proba(_probe(factory))
    if proba.dtype != np.float64:
        raise AssertionError(
            f"{_name(learner)}: predict_proba dtype {proba.dtype}, expected float64"
        )
    if not (np.all(proba >= 0.0) and np.all(proba <= 1.0)):
        raise AssertionError(
            f"{_name(learner)}: probabilities outside [0, 1]: {proba.min()}..{proba.max()}"
        )
    if not np.allclose(proba.sum(axis=1), 1.0, atol=1e-6):
        raise AssertionError(f"{_name(learner)}: probability rows do not sum to 1")
    clear = np.max(proba, axis=1) > 0.5 + 1e-9
    argmax = learner.classes_[np.argmax(proba, axis=1)]
    if not np.array_equal(learner.predict(_probe(factory))[clear], argmax[clear]):
        raise AssertionError(
            f"{_name(learner)}: predict disagrees with the argmax of predict_proba"
        )


def check_classes_match_y(factory: LearnerFactory) -> None:
    """``classes_`` are y's distinct labels, sorted; labels need not be integers."""
    X, y = _dataset(factory)()
    labels = np.array(["no", "yes"])[y]
    learner = factory().fit(X, labels)
    if learner.classes_.tolist() != ["no", "yes"]:
        raise AssertionError(
            f"{_name(learner)}: classes_ {learner.classes_!r}, expected ['no', 'yes']"
        )
    if not set(learner.predict(_probe(factory)).tolist()) <= {"no", "yes"}:
        raise AssertionError(f"{_name(learner)}: predict returned labels outside y's")


def check_is_fitted_flips(factory: LearnerFactory) -> None:
    """``is_fitted`` is false on a fresh learner and true after ``fit``."""
    learner = factory()
    if learner.is_fitted:
        raise AssertionError(f"{_name(learner)}: a fresh learner claims is_fitted")
    X, y = _dataset(factory)()
    if not learner.fit(X, y).is_fitted:
        raise AssertionError(f"{_name(learner)}: is_fitted is still false after fit")


def check_fit_does_not_modify_inputs(factory: LearnerFactory) -> None:
    """``fit`` leaves ``X`` and ``y`` as they were."""
    X, y = _dataset(factory)()
    X_copy, y_copy = X.copy(), y.copy()
    learner = factory().fit(X, y)
    if not (np.array_equal(X, X_copy) and np.array_equal(y, y_copy)):
        raise AssertionError(f"{_name(learner)}: fit modified its inputs")


def _saved(learner: Learner, action: Callable[[Path], Any]) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "learner"
        learner.save(directory)
        return action(directory)


def check_save_load_round_trip(factory: LearnerFactory) -> None:
    """``load(save(learner))`` predicts exactly as the learner, and carries ``learner.json``."""
    learner = _fitted(factory)
    probe = _probe(factory)

    def reload(directory: Path) -> Learner:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("kind") != learner.kind:
            raise AssertionError(f"{_name(learner)}: {MANIFEST} kind {manifest.get('kind')!r}")
        return type(learner).load(directory)

    loaded = _saved(learner, reload)
    if not loaded.is_fitted or loaded.params() != learner.params():
        raise AssertionError(f"{_name(learner)}: the loaded learner lost its state or params")
    if not np.array_equal(loaded.predict_proba(probe), learner.predict_proba(probe)):
        raise AssertionError(
            f"{_name(learner)}: predict_proba differs after a save/load round trip"
        )
    if not np.array_equal(loaded.predict(probe), learner.predict(probe)):
        raise AssertionError(f"{_name(learner)}: predict differs after a save/load round trip")
    if loaded.signature() != learner.signature():
        raise AssertionError(
            f"{_name(learner)}: the signature differs after a save/load round trip"
        )


def _is_pickle(head: bytes) -> bool:
    """Whether ``head`` (a file's first bytes) starts a binary pickle (protocol 2 or above).

    A safetensors file starts with its header's length (8 bytes, little-endian) and then
    ``{``; that length's first byte may happen to be 0x80, so such a file is not a pickle.
    """
    if head[:1] != bytes([PICKLE_PROTOCOL_BYTE]):
        return False
    return not (len(head) > 8 and head[8:9] == b"{")


def _pickled_members(path: Path) -> list[str]:
    found = []
    with path.open("rb") as handle:
        if _is_pickle(handle.read(9)):
            found.append(str(path))
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                with archive.open(member) as handle:
                    if _is_pickle(handle.read(9)):
                        found.append(f"{path}!{member}")
    return found


def check_saved_files_are_not_pickle(factory: LearnerFactory) -> None:
    """No saved file (nor any member of a saved zip archive) is a raw pickle."""
    learner = _fitted(factory)

    def scan(directory: Path) -> list[str]:
        files = [path for path in sorted(directory.rglob("*")) if path.is_file()]
        if not files:
            raise AssertionError(f"{_name(learner)}: save wrote no files")
        return [found for path in files for found in _pickled_members(path)]

    pickled = _saved(learner, scan)
    if pickled:
        raise AssertionError(f"{_name(learner)}: saved raw pickle data in {pickled}")


def check_params_are_json(factory: LearnerFactory) -> None:
    """``params()`` and ``signature()`` survive a JSON round trip unchanged."""
    learner = factory()
    for what, value in (("params", learner.params()), ("signature", learner.signature())):
        if json.loads(json.dumps(value)) != value:
            raise AssertionError(f"{_name(learner)}: {what}() is not plain JSON: {value!r}")


def check_clone(factory: LearnerFactory) -> None:
    """``clone()`` is an unfitted learner of the same type with equal params; the original stays."""
    learner = _fitted(factory)
    copy = learner.clone()
    if type(copy) is not type(learner) or copy.is_fitted:
        raise AssertionError(
            f"{_name(learner)}: clone() must be an unfitted {type(learner).__name__}"
        )
    if copy.params() != learner.params() or copy.signature() != learner.signature():
        raise AssertionError(f"{_name(learner)}: clone() params {copy.params()} differ")
    if not learner.is_fitted:
        raise AssertionError(f"{_name(learner)}: clone() unfitted the original")


def check_update_on_unfitted_is_fit(factory: LearnerFactory) -> None:
    """``update`` on an unfitted learner gives the model ``fit`` gives (or is refused)."""
    X, y = _dataset(factory)()
    learner = factory()
    if not learner.supports_update:
        _expect_error(
            TrainingError,
            lambda: learner.update(X, y),
            f"{_name(learner)}: supports_update is false, so update must raise TrainingError",
        )
        return
    updated = learner.update(X, y)
    if updated is not learner or not learner.is_fitted:
        raise AssertionError(
            f"{_name(learner)}: update on an unfitted learner must fit and return self"
        )
    fitted = factory().fit(X, y)
    if not np.array_equal(
        learner.predict_proba(_probe(factory)), fitted.predict_proba(_probe(factory))
    ):
        raise AssertionError(f"{_name(learner)}: update on an unfitted learner differs from fit")


def check_update_continues(factory: LearnerFactory) -> None:
    """``update`` after ``fit`` changes the model and keeps its signature and classes."""
    learner = _fitted(factory)
    X, y = _dataset(factory)(seed=1, drift=1.0)
    if not learner.supports_update:
        _expect_error(
            TrainingError,
            lambda: learner.update(X, y),
            f"{_name(learner)}: supports_update is false, so update must raise TrainingError",
        )
        return
    probe = _probe(factory)
    before, signature, classes = learner.predict_proba(probe), learner.signature(), learner.classes_
    if learner.update(X, y) is not learner:
        raise AssertionError(f"{_name(learner)}: update must return the learner itself (self)")
    if np.allclose(learner.predict_proba(probe), before, rtol=0.0, atol=1e-12):
        raise AssertionError(f"{_name(learner)}: update on drifted rows did not change the model")
    if learner.signature() != signature or not np.array_equal(learner.classes_, classes):
        raise AssertionError(f"{_name(learner)}: update changed the signature or the classes")


def check_deterministic(factory: LearnerFactory) -> None:
    """Two learners trained on the same rows (fit, then update) predict identically."""
    probe = _probe(factory)
    first, second = _fitted(factory), _fitted(factory)
    if not np.array_equal(first.predict_proba(probe), second.predict_proba(probe)):
        raise AssertionError(f"{_name(first)}: two fits on the same rows predict differently")
    if first.supports_update:
        X, y = _dataset(factory)(seed=1, drift=1.0)
        first.update(X, y)
        second.update(X, y)
        if not np.array_equal(first.predict_proba(probe), second.predict_proba(probe)):
            raise AssertionError(
                f"{_name(first)}: two updates on the same rows predict differently"
            )


def check_predict_is_pure(factory: LearnerFactory) -> None:
    """Predicting twice gives the same answer, whatever was predicted in between."""
    learner = _fitted(factory)
    probe = _probe(factory)
    first_labels, first_proba = learner.predict(probe), learner.predict_proba(probe)
    learner.predict_proba(_dataset(factory)(seed=5, n_rows=7)[0])
    if not (
        np.array_equal(learner.predict(probe), first_labels)
        and np.array_equal(learner.predict_proba(probe), first_proba)
    ):
        raise AssertionError(f"{_name(learner)}: predictions changed between two identical calls")


def check_single_row(factory: LearnerFactory) -> None:
    """One row in, one prediction out, equal to that row's prediction within a batch."""
    learner = _fitted(factory)
    probe = _probe(factory)
    one = learner.predict_proba(probe[3:4])
    if one.shape != (1, 2) or learner.predict(probe[3:4]).shape != (1,):
        raise AssertionError(f"{_name(learner)}: a single row gave shape {one.shape}")
    if not np.allclose(one[0], learner.predict_proba(probe)[3], rtol=0.0, atol=1e-12):
        raise AssertionError(f"{_name(learner)}: a row predicts differently alone and in a batch")


def check_refuses_mismatched_features(factory: LearnerFactory) -> None:
    """Rows with another number of columns raise a LifelongError, not a raw library error."""
    learner = _fitted(factory)
    probe = _probe(factory)
    for bad in (probe[:, :-1], np.hstack([probe, probe[:, :1]])):
        for method in (learner.predict, learner.predict_proba):
            _expect_error(
                LifelongError,
                functools.partial(method, bad),
                f"{_name(learner)}: {method.__name__} on {bad.shape[1]} columns (fitted on "
                f"{probe.shape[1]}) must raise a LifelongError",
            )
    if learner.supports_update:
        X, y = _dataset(factory)(seed=2)
        _expect_error(
            LifelongError,
            lambda: learner.update(X[:, :-1], y),
            f"{_name(learner)}: update on fewer columns than fitted must raise a LifelongError",
        )


def _finite_distribution(learner: Learner, X: NDArray[np.float64], what: str) -> None:
    proba = learner.predict_proba(X)
    if not (np.all(np.isfinite(proba)) and np.allclose(proba.sum(axis=1), 1.0, atol=1e-6)):
        raise AssertionError(
            f"{_name(learner)}: {what} gave non-finite or unnormalised probabilities"
        )


def check_non_finite_features(factory: LearnerFactory) -> None:
    """NaN or inf in ``X`` is handled (valid probabilities) or refused with a LifelongError.

    The feature pipeline applies the configured policy (``missing: impute`` or ``error``)
    before a learner sees the rows; a learner must still never answer with NaN probabilities
    nor leak a raw library error, whether the bad value comes at ``fit`` or at prediction.
    """
    X, y = _dataset(factory)()
    for bad in (np.nan, np.inf):
        dirty = X.copy()
        dirty[5, 1] = bad
        learner = factory()
        try:
            learner.fit(dirty, y)
        except LifelongError:
            pass
        except Exception as exc:
            raise AssertionError(
                f"{_name(learner)}: fit on a row with {bad} raised {type(exc).__name__}: {exc}; "
                "expected it to be handled or refused with a LifelongError"
            ) from exc
        else:
            _finite_distribution(learner, _probe(factory), f"fit on a row with {bad}")
        fitted = _fitted(factory)
        probe = _probe(factory)
        probe[2, 0] = bad
        try:
            _finite_distribution(fitted, probe, f"predict_proba on a row with {bad}")
        except LifelongError:
            continue
        except AssertionError:
            raise
        except Exception as exc:
            raise AssertionError(
                f"{_name(fitted)}: predict_proba on a row with {bad} raised "
                f"{type(exc).__name__}: {exc}; expected it to be handled or a LifelongError"
            ) from exc


def learner_checks() -> list[LearnerCheck]:
    """Every learner contract check, in a stable order."""
    return [
        check_fit_predict_shapes,
        check_probabilities,
        check_classes_match_y,
        check_is_fitted_flips,
        check_fit_does_not_modify_inputs,
        check_save_load_round_trip,
        check_saved_files_are_not_pickle,
        check_params_are_json,
        check_clone,
        check_update_on_unfitted_is_fit,
        check_update_continues,
        check_deterministic,
        check_predict_is_pure,
        check_single_row,
        check_refuses_mismatched_features,
        check_non_finite_features,
    ]


def check_learner(factory: LearnerFactory) -> None:
    """Run every contract check on learners made by ``factory``; the first failure raises."""
    for check in learner_checks():
        try:
            check(factory)
        except AssertionError as exc:
            raise AssertionError(f"{check.__name__}: {exc}") from exc


__all__ = [
    "Dataset",
    "DatasetFactory",
    "LearnerCheck",
    "LearnerFactory",
    "check_classes_match_y",
    "check_clone",
    "check_deterministic",
    "check_fit_does_not_modify_inputs",
    "check_fit_predict_shapes",
    "check_is_fitted_flips",
    "check_learner",
    "check_non_finite_features",
    "check_params_are_json",
    "check_predict_is_pure",
    "check_probabilities",
    "check_refuses_mismatched_features",
    "check_save_load_round_trip",
    "check_saved_files_are_not_pickle",
    "check_single_row",
    "check_update_continues",
    "check_update_on_unfitted_is_fit",
    "drifting_binary",
    "drifting_interactions",
    "learner_checks",
    "with_dataset",
]
