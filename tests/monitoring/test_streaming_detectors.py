"""Streaming detectors: River's documented detections reproduced, the contract suite on each, bad input."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from lifelong.errors import ConfigError, ValidationError
from lifelong.monitoring.detectors import DriftDetector
from lifelong.monitoring.streaming import (
    ADWINDetector,
    DDMDetector,
    EDDMDetector,
    HDDMADetector,
    HDDMWDetector,
    KSWINDetector,
    PageHinkleyDetector,
    build_detector,
)
from lifelong.testing.detector_contracts import (
    check_detector,
    check_detects_abrupt_change,
    check_quiet_on_a_stationary_stream,
    check_refuses_bad_input,
    detector_checks,
)

# The contract suite runs on every built-in detector. KSWIN and EDDM use the parameters of River's
# own examples: with River's defaults they raise several false drifts on a few thousand stationary values.
FACTORIES: dict[str, Callable[[], DriftDetector]] = {
    "adwin": ADWINDetector,
    "page_hinkley": PageHinkleyDetector,
    "kswin": lambda: KSWINDetector(alpha=0.0001, seed=42),
    "ddm": DDMDetector,
    "eddm": lambda: EDDMDetector(alpha=0.8, beta=0.75),
    "hddm_a": HDDMADetector,
    "hddm_w": HDDMWDetector,
}


@pytest.mark.parametrize("check", detector_checks(), ids=lambda check: check.__name__)
@pytest.mark.parametrize("factory", FACTORIES.values(), ids=FACTORIES.keys())
def test_detector_contract(factory: Callable[[], DriftDetector], check: Callable[..., None]) -> None:
    check(factory)


def _numeric_example() -> list[int]:
    """The stream of River 0.26.1's docstrings for ADWIN, PageHinkley and KSWIN."""
    rng = random.Random(12345)
    return rng.choices([0, 1], k=1000) + rng.choices(range(4, 8), k=1000)


def _binary_example() -> list[int]:
    """The stream of River 0.26.1's docstrings for DDM, EDDM, HDDM_A and HDDM_W."""
    rng = random.Random(42)
    return rng.choices([0, 1], k=1000) + rng.choices([0, 1], k=1000, weights=[0.3, 0.7])


@pytest.mark.parametrize(
    ("factory", "expected"),
    [(ADWINDetector, [1023]), (PageHinkleyDetector, [1006]), (lambda: KSWINDetector(alpha=0.0001, seed=42), [1016])],
    ids=["adwin", "page_hinkley", "kswin"],
)
def test_numeric_detectors_reproduce_rivers_documented_indices(factory: Callable[[], DriftDetector], expected: list[int]) -> None:
    assert factory().update_many(_numeric_example()) == expected


def _warnings_and_drifts(detector: DriftDetector, stream: list[int]) -> list[str]:
    """River's docstring loop: the first warning after each drift, and every drift."""
    events, print_warning = [], True
    for index, value in enumerate(stream):
        detector.update(value)
        if detector.warning_detected and print_warning:
            events.append(f"warning {index}")
            print_warning = False
        if detector.drift_detected:
            events.append(f"drift {index}")
            print_warning = True
    return events


@pytest.mark.parametrize(
    ("factory", "expected"),
    [
        (DDMDetector, ["warning 1084", "drift 1334", "warning 1492"]),
        (lambda: EDDMDetector(alpha=0.8, beta=0.75), ["warning 1059", "drift 1278"]),
        (HDDMADetector, ["warning 451", "drift 1206"]),
        (HDDMWDetector, ["warning 451", "drift 1077"]),
    ],
    ids=["ddm", "eddm", "hddm_a", "hddm_w"],
)
def test_binary_detectors_reproduce_rivers_documented_indices(factory: Callable[[], DriftDetector], expected: list[str]) -> None:
    assert _warnings_and_drifts(factory(), _binary_example()) == expected


def test_binary_detectors_refuse_values_other_than_0_and_1() -> None:
    with pytest.raises(ValidationError, match="x: expected 0 \\(right\\) or 1 \\(error\\) for the binary ddm detector, got 0.5"):
        DDMDetector().update(0.5)
    detector = ADWINDetector()
    detector.update(0.5)
    assert detector.n_seen == 1


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: ADWINDetector(delta=1.5), "delta: expected a number in \\(0.0, 1.0\\), got 1.5"),
        (lambda: KSWINDetector(window_size=10, stat_size=10), "stat_size: expected fewer than window_size \\(10\\), got 10"),
        (lambda: DDMDetector(warning_threshold=3.0, drift_threshold=2.0), "drift_threshold: expected more than warning_threshold"),
        (lambda: PageHinkleyDetector(mode="sideways"), "mode: expected 'up', 'down' or 'both', got 'sideways'"),  # type: ignore[arg-type]
        (lambda: EDDMDetector(alpha=0.8, beta=0.9), "beta: expected less than alpha \\(0.8\\), got 0.9"),
        (lambda: build_detector("cusum"), "detector kind: expected one of \\['adwin', 'ddm', 'eddm', 'hddm_a', 'hddm_w', 'kswin', 'page_hinkley'\\], got 'cusum'"),
    ],
)
def test_bad_hyperparameters_name_the_parameter(build: Callable[[], object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build()


# --------------------------------------------------------------------------------------
# The checks must be able to fail.


class _Blind(ADWINDetector):
    @property
    def drift_detected(self) -> bool:
        return False


class _Jumpy(PageHinkleyDetector):
    @property
    def drift_detected(self) -> bool:
        return self.n_seen % 100 == 0


class _Lenient(DDMDetector):
    def update(self, x: float | int | bool) -> None:
        self._update(float(x) if x == x and isinstance(x, int | float) else 0.0)


@pytest.mark.parametrize(
    ("factory", "check", "message"),
    [
        (_Blind, check_detects_abrupt_change, "expected a drift within 300 values"),
        (_Jumpy, check_quiet_on_a_stationary_stream, "expected at most 1 false drift"),
        (_Lenient, check_refuses_bad_input, "accepted nan"),
    ],
    ids=["blind", "jumpy", "lenient"],
)
def test_checks_catch_broken_detectors(factory: Callable[[], DriftDetector], check: Callable[..., None], message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check(factory)


def test_check_detector_names_the_failing_check() -> None:
    with pytest.raises(AssertionError, match="^check_detects_abrupt_change: "):
        check_detector(_Blind)
