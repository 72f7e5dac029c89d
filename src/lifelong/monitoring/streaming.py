"""Streaming drift detectors: River's own implementations behind lifelong's detector protocol.

Each class checks its hyperparameters (keyword-only, River's defaults), refuses values a
detector cannot read (a 2 for an error stream, NaN anywhere) with a message naming them, and
delegates the statistics to River. River is imported when a detector is built, not when this
module is imported.

Examples
--------
>>> import random
>>> rng = random.Random(12345)
>>> stream = rng.choices([0, 1], k=1000) + rng.choices(range(4, 8), k=1000)
>>> ADWINDetector().update_many(stream)
[1023]
>>> build_detector("ddm", warm_start=50).params()["warm_start"]
50
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from lifelong.errors import ConfigError
from lifelong.monitoring.detectors import DetectorInput, DriftDetector
from lifelong.plugins import PluginRegistry

PageHinkleyMode = Literal["up", "down", "both"]


def _positive_int(name: str, value: int, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return value


def _fraction(name: str, value: float, *, low: float = 0.0, high: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low < value < high:
        raise ConfigError(f"{name}: expected a number in ({low}, {high}), got {value!r}")
    return float(value)


def _positive(name: str, value: float, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not (value > 0 or (allow_zero and value == 0)):
        raise ConfigError(f"{name}: expected a number {'>=' if allow_zero else '>'} 0, got {value!r}")
    return float(value)


class RiverDetector(DriftDetector):
    """A River detector behind :class:`DriftDetector`; subclasses say which and check arguments."""

    input: ClassVar[DetectorInput]

    def __init__(self, **params: Any) -> None:
        self._params = params
        self._river = self._build()
        self._seen = 0

    def _build(self) -> Any:
        raise TypeError(f"{type(self).__name__}: a RiverDetector subclass must build its River detector in _build")

    def _update(self, x: float) -> None:
        self._river.update(x)
        self._seen += 1

    @property
    def drift_detected(self) -> bool:
        return bool(self._river.drift_detected)

    @property
    def warning_detected(self) -> bool:
        return bool(getattr(self._river, "warning_detected", False))

    @property
    def n_seen(self) -> int:
        return self._seen

    def params(self) -> dict[str, Any]:
        return dict(self._params)

    def reset(self) -> None:
        self._river = self._build()
        self._seen = 0


class ADWINDetector(RiverDetector):
    """ADWIN: adaptive windowing on any numeric stream (River's ``drift.ADWIN``)."""

    kind = "adwin"
    input = "numeric"

    def __init__(
        self,
        *,
        delta: float = 0.002,
        clock: int = 32,
        max_buckets: int = 5,
        min_window_length: int = 5,
        grace_period: int = 10,
    ) -> None:
        super().__init__(
            delta=_fraction("delta", delta),
            clock=_positive_int("clock", clock),
            max_buckets=_positive_int("max_buckets", max_buckets),
            min_window_length=_positive_int("min_window_length", min_window_length),
            grace_period=_positive_int("grace_period", grace_period),
        )

    def _build(self) -> Any:
        from river import drift

        return drift.ADWIN(**self._params)  # type: ignore[no-untyped-call]


class PageHinkleyDetector(RiverDetector):
    """Page-Hinkley: a CUSUM test on the mean of a numeric stream (River's ``drift.PageHinkley``)."""

    kind = "page_hinkley"
    input = "numeric"

    def __init__(
        self,
        *,
        min_instances: int = 30,
        delta: float = 0.005,
        threshold: float = 50.0,
        alpha: float = 1 - 0.0001,
        mode: PageHinkleyMode = "both",
    ) -> None:
        if mode not in ("up", "down", "both"):
            raise ConfigError(f"mode: expected 'up', 'down' or 'both', got {mode!r}")
        super().__init__(
            min_instances=_positive_int("min_instances", min_instances),
            delta=_positive("delta", delta, allow_zero=True),
            threshold=_positive("threshold", threshold),
            alpha=_fraction("alpha", alpha, high=1.0) if alpha != 1 else 1.0,
            mode=mode,
        )

    def _build(self) -> Any:
        from river import drift

        return drift.PageHinkley(**self._params)


class KSWINDetector(RiverDetector):
    """KSWIN: Kolmogorov-Smirnov tests on a sliding window (River's ``drift.KSWIN``).

    ``seed`` defaults to 0 (River's default draws a random one) so runs are reproducible.
    """

    kind = "kswin"
    input = "numeric"

    def __init__(self, *, alpha: float = 0.005, window_size: int = 100, stat_size: int = 30, seed: int = 0) -> None:
        window_size = _positive_int("window_size", window_size, minimum=2)
        stat_size = _positive_int("stat_size", stat_size)
        if stat_size >= window_size:
            raise ConfigError(f"stat_size: expected fewer than window_size ({window_size}), got {stat_size}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"seed: expected an integer, got {seed!r}")
        super().__init__(alpha=_fraction("alpha", alpha), window_size=window_size, stat_size=stat_size, seed=seed)

    def _build(self) -> Any:
        from river import drift

        return drift.KSWIN(**self._params)


class DDMDetector(RiverDetector):
    """DDM: the error rate against its best level so far (River's ``drift.binary.DDM``)."""

    kind = "ddm"
    input = "binary"

    def __init__(self, *, warm_start: int = 30, warning_threshold: float = 2.0, drift_threshold: float = 3.0) -> None:
        warning = _positive("warning_threshold", warning_threshold)
        drift_at = _positive("drift_threshold", drift_threshold)
        if drift_at <= warning:
            raise ConfigError(f"drift_threshold: expected more than warning_threshold ({warning}), got {drift_at}")
        super().__init__(warm_start=_positive_int("warm_start", warm_start), warning_threshold=warning, drift_threshold=drift_at)

    def _build(self) -> Any:
        from river.drift import binary

        return binary.DDM(**self._params)


class EDDMDetector(RiverDetector):
    """EDDM: the distance between errors (River's ``drift.binary.EDDM``)."""

    kind = "eddm"
    input = "binary"

    def __init__(self, *, warm_start: int = 30, alpha: float = 0.95, beta: float = 0.9) -> None:
        alpha = _fraction("alpha", alpha)
        beta = _fraction("beta", beta)
        if beta >= alpha:
            raise ConfigError(f"beta: expected less than alpha ({alpha}), got {beta}")
        super().__init__(warm_start=_positive_int("warm_start", warm_start), alpha=alpha, beta=beta)

    def _build(self) -> Any:
        from river.drift import binary

        return binary.EDDM(**self._params)


class HDDMADetector(RiverDetector):
    """HDDM-A: Hoeffding bounds on moving averages of errors (River's ``drift.binary.HDDMA``)."""

    kind = "hddm_a"
    input = "binary"

    def __init__(self, *, drift_confidence: float = 0.001, warning_confidence: float = 0.005, two_sided_test: bool = False) -> None:
        super().__init__(
            drift_confidence=_fraction("drift_confidence", drift_confidence),
            warning_confidence=_fraction("warning_confidence", warning_confidence),
            two_sided_test=bool(two_sided_test),
        )

    def _build(self) -> Any:
        from river.drift import binary

        return binary.HDDMA(**self._params)  # type: ignore[no-untyped-call]


class HDDMWDetector(RiverDetector):
    """HDDM-W: McDiarmid bounds on weighted moving averages (River's ``drift.binary.HDDMW``)."""

    kind = "hddm_w"
    input = "binary"

    def __init__(
        self,
        *,
        drift_confidence: float = 0.001,
        warning_confidence: float = 0.005,
        lambda_val: float = 0.05,
        two_sided_test: bool = False,
    ) -> None:
        super().__init__(
            drift_confidence=_fraction("drift_confidence", drift_confidence),
            warning_confidence=_fraction("warning_confidence", warning_confidence),
            lambda_val=_fraction("lambda_val", lambda_val),
            two_sided_test=bool(two_sided_test),
        )

    def _build(self) -> Any:
        from river.drift import binary

        return binary.HDDMW(**self._params)  # type: ignore[no-untyped-call]


BUILTIN_DETECTORS: dict[str, type[DriftDetector]] = {
    cls.kind: cls
    for cls in (ADWINDetector, PageHinkleyDetector, KSWINDetector, DDMDetector, EDDMDetector, HDDMADetector, HDDMWDetector)
}


def detector_registry() -> PluginRegistry[DriftDetector]:
    """A registry of the built-in detectors (third-party ones arrive through ``lifelong.detector``)."""
    return PluginRegistry("detector", BUILTIN_DETECTORS)


def build_detector(kind: str, **params: Any) -> DriftDetector:
    """The detector registered as ``kind`` with ``params``; unknown kinds list the known ones."""
    return detector_registry().get(kind)(**params)


__all__ = [
    "BUILTIN_DETECTORS",
    "ADWINDetector",
    "DDMDetector",
    "EDDMDetector",
    "HDDMADetector",
    "HDDMWDetector",
    "KSWINDetector",
    "PageHinkleyDetector",
    "RiverDetector",
    "build_detector",
    "detector_registry",
]
