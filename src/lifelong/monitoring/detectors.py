"""The streaming drift detector protocol: River's shape, ``update(x)`` then ``drift_detected``.

A detector reads one value at a time: an error indicator (1 wrong, 0 right) for the
detectors that watch a model's errors (``input == "binary"``), or any finite number for the
ones that watch a feature or a score (``input == "numeric"``). After each ``update``,
``drift_detected`` says whether that value completed a change; ``warning_detected`` whether the
stream entered a warning zone (detectors without one always say ``False``).

Examples
--------
>>> from lifelong.monitoring.streaming import PageHinkleyDetector
>>> detector = PageHinkleyDetector()
>>> detector.update_many([0.0] * 100 + [10.0] * 100)
[105]
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any, ClassVar, Literal, Self

from lifelong.errors import ValidationError

DetectorInput = Literal["binary", "numeric"]


class DriftDetector(ABC):
    """Watches a stream of values and says when its distribution changed."""

    kind: ClassVar[str]
    input: ClassVar[DetectorInput]

    @abstractmethod
    def _update(self, x: float) -> None:
        """Feed one value already checked by :meth:`update`."""

    @property
    @abstractmethod
    def drift_detected(self) -> bool:
        """Whether the last value completed a change."""

    @property
    def warning_detected(self) -> bool:
        """Whether the last value put the stream in a warning zone."""
        return False

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """The keyword arguments that rebuild an unfed copy."""

    @abstractmethod
    def reset(self) -> None:
        """Forget everything seen."""

    @property
    @abstractmethod
    def n_seen(self) -> int:
        """How many values were fed since the last :meth:`reset`."""

    def clone(self) -> Self:
        """An unfed detector with the same parameters."""
        return type(self)(**self.params())

    def update(self, x: float | int | bool) -> None:
        """Feed one value: 0 or 1 for binary detectors, any finite number for numeric ones."""
        value = _checked(x, self.input, self.kind)
        self._update(value)

    def update_many(self, values: Iterable[float | int | bool]) -> list[int]:
        """Feed ``values`` in order; return the positions (0-based) where a drift was detected."""
        found: list[int] = []
        for index, value in enumerate(values):
            self.update(value)
            if self.drift_detected:
                found.append(index)
        return found

    def __repr__(self) -> str:
        arguments = ", ".join(f"{name}={value!r}" for name, value in self.params().items())
        return f"{type(self).__name__}({arguments})"


def _checked(x: Any, expected: DetectorInput, kind: str) -> float:
    if isinstance(x, bool):
        return float(x)
    try:
        value = float(x)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"x: expected a number for the {kind} detector, got {x!r}") from exc
    if not math.isfinite(value):
        raise ValidationError(f"x: expected a finite number for the {kind} detector, got {x!r}")
    if expected == "binary" and value not in (0.0, 1.0):
        raise ValidationError(
            f"x: expected 0 (right) or 1 (error) for the binary {kind} detector, got {x!r}"
        )
    return value


__all__ = ["DetectorInput", "DriftDetector"]
