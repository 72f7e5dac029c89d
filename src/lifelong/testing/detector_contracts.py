"""The drift detector contract suite: the checks every :class:`~lifelong.monitoring.DriftDetector` passes.

Each check takes a factory of unfed detectors and raises :class:`AssertionError` with a clear
message when the detector breaks the contract. Run them all with :func:`check_detector`, or
parametrize a test over :func:`detector_checks`. Streams are seeded and shaped for the
detector's input: 0/1 error indicators for binary detectors, numbers for numeric ones.

Examples
--------
>>> from lifelong.monitoring.streaming import ADWINDetector
>>> check_detector(ADWINDetector)
>>> [check.__name__ for check in detector_checks()][:2]
['check_detects_abrupt_change', 'check_quiet_on_a_stationary_stream']
"""

from __future__ import annotations

import random
from collections.abc import Callable

from lifelong.errors import ConfigError, ValidationError
from lifelong.monitoring.detectors import DriftDetector

DetectorFactory = Callable[[], DriftDetector]
DetectorCheck = Callable[[DetectorFactory], None]


def abrupt_stream(detector: DriftDetector, *, seed: int = 7, before: int = 500, after: int = 500) -> list[float]:
    """A stream that changes at index ``before``: error rate 0.1 → 0.6, or mean 0 → 3."""
    rng = random.Random(seed)
    if detector.input == "binary":
        return [float(rng.random() < 0.1) for _ in range(before)] + [float(rng.random() < 0.6) for _ in range(after)]
    return [rng.gauss(0.0, 1.0) for _ in range(before)] + [rng.gauss(3.0, 1.0) for _ in range(after)]


def stationary_stream(detector: DriftDetector, *, seed: int = 11, n: int = 2000) -> list[float]:
    """A stream with no change: errors at a constant rate 0.2, or a standard normal."""
    rng = random.Random(seed)
    if detector.input == "binary":
        return [float(rng.random() < 0.2) for _ in range(n)]
    return [rng.gauss(0.0, 1.0) for _ in range(n)]


def _check(condition: object, message: str) -> None:
    """Raise AssertionError with ``message`` unless ``condition`` holds (kept under ``python -O``)."""
    if not condition:
        raise AssertionError(message)


def check_detects_abrupt_change(factory: DetectorFactory) -> None:
    """A large abrupt change is detected after it happens, within 300 values."""
    detector = factory()
    found = detector.update_many(abrupt_stream(detector))
    after = [index for index in found if index >= 500]
    _check(after and after[0] < 800, f"{detector!r}: expected a drift within 300 values of index 500, got detections at {found[:10]}")


def check_quiet_on_a_stationary_stream(factory: DetectorFactory) -> None:
    """A stationary stream of 2,000 values raises at most one drift."""
    detector = factory()
    found = detector.update_many(stationary_stream(detector))
    _check(len(found) <= 1, f"{detector!r}: expected at most 1 false drift on a stationary stream, got {len(found)} at {found[:10]}")


def check_counts_and_reset(factory: DetectorFactory) -> None:
    """``n_seen`` counts updates; ``reset`` forgets them and the detector behaves as new."""
    detector = factory()
    stream = abrupt_stream(detector)
    first = detector.update_many(stream)
    _check(detector.n_seen == len(stream), f"{detector!r}: expected n_seen {len(stream)}, got {detector.n_seen}")
    detector.reset()
    _check(detector.n_seen == 0, f"{detector!r}: expected n_seen 0 after reset, got {detector.n_seen}")
    _check(not detector.drift_detected, f"{detector!r}: expected no drift flagged right after reset")
    again = detector.update_many(stream)
    _check(again == first, f"{detector!r}: expected the same detections after reset, got {again[:5]} vs {first[:5]}")


def check_clone_is_unfed_with_same_params(factory: DetectorFactory) -> None:
    """``clone`` gives an unfed detector with equal parameters that detects the same changes."""
    detector = factory()
    stream = abrupt_stream(detector)
    detector.update_many(stream[:300])
    copy = detector.clone()
    _check(type(copy) is type(detector) and copy.params() == detector.params(), f"{detector!r}: clone changed type or params: {copy!r}")
    _check(copy.n_seen == 0, f"{detector!r}: expected an unfed clone, got n_seen {copy.n_seen}")
    _check(copy.update_many(stream) == factory().update_many(stream), f"{detector!r}: a clone detected differently from a new detector")


def check_deterministic(factory: DetectorFactory) -> None:
    """Two detectors from the factory detect at the same indices on the same stream."""
    a, b = factory(), factory()
    stream = abrupt_stream(a, seed=3)
    first, second = a.update_many(stream), b.update_many(stream)
    _check(first == second, f"{a!r}: detected differently on the same stream: {first[:5]} vs {second[:5]}")


def check_refuses_bad_input(factory: DetectorFactory) -> None:
    """NaN, text, and (for binary detectors) values other than 0/1 are refused with ValidationError."""
    detector = factory()
    bad: list[object] = [float("nan"), "high", None]
    if detector.input == "binary":
        bad.append(2)
    for value in bad:
        try:
            detector.update(value)  # type: ignore[arg-type]
        except ValidationError as error:
            _check("x:" in str(error), f"{detector!r}: expected the message to name 'x', got {error}")
        else:
            raise AssertionError(f"{detector!r}: accepted {value!r}; expected a ValidationError")
    _check(detector.n_seen == 0, f"{detector!r}: refused values were counted (n_seen {detector.n_seen})")


def check_params_rebuild(factory: DetectorFactory) -> None:
    """``params()`` are keyword arguments that rebuild an equal detector; an unknown one is refused."""
    detector = factory()
    rebuilt = type(detector)(**detector.params())
    _check(rebuilt.params() == detector.params(), f"{detector!r}: params() did not rebuild it, got {rebuilt!r}")
    try:
        type(detector)(**detector.params(), no_such_parameter=1)  # type: ignore[call-arg]
    except (TypeError, ConfigError):
        pass
    else:
        raise AssertionError(f"{detector!r}: accepted an unknown parameter")


def detector_checks() -> list[DetectorCheck]:
    """Every check of the suite, in order."""
    return [
        check_detects_abrupt_change,
        check_quiet_on_a_stationary_stream,
        check_counts_and_reset,
        check_clone_is_unfed_with_same_params,
        check_deterministic,
        check_refuses_bad_input,
        check_params_rebuild,
    ]


def check_detector(factory: DetectorFactory) -> None:
    """Run every check; the first failure names its check."""
    for check in detector_checks():
        try:
            check(factory)
        except AssertionError as error:
            raise AssertionError(f"{check.__name__}: {error}") from error


__all__ = [
    "DetectorCheck",
    "DetectorFactory",
    "abrupt_stream",
    "check_clone_is_unfed_with_same_params",
    "check_counts_and_reset",
    "check_deterministic",
    "check_detector",
    "check_detects_abrupt_change",
    "check_params_rebuild",
    "check_quiet_on_a_stationary_stream",
    "check_refuses_bad_input",
    "detector_checks",
    "stationary_stream",
]
