"""Offline gates: each compares challenger and champion on the same held-out rows.

Examples
--------
>>> comparison = Comparison(metric="roc_auc", higher_is_better=True, challenger=0.70, champion=0.72, rows=500)
>>> NotWorseGate(tolerance=0.01).check(comparison).passed
False
>>> NotWorseGate(tolerance=0.05).check(comparison).passed
True
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from lifelong.errors import ConfigError

if TYPE_CHECKING:
    from lifelong.evaluation.data import EvaluationData


@dataclass(frozen=True)
class Comparison:
    """Challenger and champion measured on the same rows (``champion`` is None without one).

    ``data`` carries the scored rows themselves (probabilities, labels, the held-out frame,
    an older window, the artifact) for the gates that need more than the two numbers.
    """

    metric: str
    higher_is_better: bool
    challenger: float
    champion: float | None
    rows: int
    data: EvaluationData | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class GateResult:
    """A gate's verdict with the values it measured."""

    gate: str
    passed: bool
    reason: str
    values: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def needs_data(kind: str) -> GateResult:
    """The failed result of a gate given a comparison without its scored rows."""
    return GateResult(kind, False, f"{kind}: needs the scored held-out rows, got only the two metric values")


class Gate(ABC):
    """One check a challenger must pass before it may serve."""

    kind: str

    @abstractmethod
    def check(self, comparison: Comparison) -> GateResult:
        """The verdict for ``comparison``."""


class NotWorseGate(Gate):
    """Reject a challenger worse than the champion by more than ``tolerance``."""

    kind = "not_worse"

    def __init__(self, *, tolerance: float = 0.0) -> None:
        if not tolerance >= 0:
            raise ConfigError(f"tolerance: expected a number >= 0, got {tolerance!r}")
        self.tolerance = tolerance

    def check(self, comparison: Comparison) -> GateResult:
        values = {"challenger": comparison.challenger, "champion": comparison.champion, "tolerance": self.tolerance}
        if math.isnan(comparison.challenger):
            return GateResult(self.kind, False, f"{comparison.metric} of the challenger is undefined on the held-out rows", values)
        if comparison.champion is None or math.isnan(comparison.champion):
            return GateResult(self.kind, True, "no champion to compare with", values)
        sign = 1.0 if comparison.higher_is_better else -1.0
        gain = sign * (comparison.challenger - comparison.champion)
        values["gain"] = gain
        passed = gain >= -self.tolerance
        verdict = "within" if passed else "beyond"
        reason = (
            f"{comparison.metric} {comparison.challenger:.4f} vs champion {comparison.champion:.4f} "
            f"(gain {gain:+.4f}, {verdict} tolerance {self.tolerance})"
        )
        return GateResult(self.kind, passed, reason, values)


class MinimumRowsGate(Gate):
    """Reject an evaluation made on fewer than ``rows`` held-out rows."""

    kind = "min_rows"

    def __init__(self, *, rows: int = 100) -> None:
        if rows <= 0:
            raise ConfigError(f"rows: expected an integer > 0, got {rows!r}")
        self.rows = rows

    def check(self, comparison: Comparison) -> GateResult:
        passed = comparison.rows >= self.rows
        reason = f"{comparison.rows} held-out rows ({'>=' if passed else '<'} {self.rows})"
        return GateResult(self.kind, passed, reason, {"rows": comparison.rows, "required": self.rows})


__all__ = ["Comparison", "Gate", "GateResult", "MinimumRowsGate", "NotWorseGate", "needs_data"]
