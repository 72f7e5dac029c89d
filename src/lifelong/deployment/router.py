"""Routers split live traffic between the champion and challengers, and judge what they see.

A router knows versions only. :meth:`Router.route` says which version answers a request and
which only shadow it; :meth:`Router.observe` and :meth:`Router.reward` feed it outcomes (errors,
latency, and rewards from feedback); :meth:`Router.decide` says when the test is over: promote
the challenger, or roll it back. Routers are thread-safe.

Examples
--------
>>> stats = ArmStats()
>>> for seconds in (0.001, 0.002, 0.003):
...     stats.observe(error=False, seconds=seconds)
>>> stats.requests, round(stats.p99_ms(), 2)
(3, 2.98)
"""

from __future__ import annotations

import hashlib
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np

from lifelong.errors import ConfigError

Action = Literal["promote", "rollback"]
_LATENCY_WINDOW = 10_000


@dataclass(frozen=True)
class Assignment:
    """Which version answers a request, which versions get a copy, and the arm's role."""

    answer: str
    shadows: tuple[str, ...] = ()
    role: Literal["champion", "challenger"] = "champion"


@dataclass(frozen=True)
class Decision:
    """The end of a test: promote ``version``, or roll it back (the champion keeps serving)."""

    action: Action
    version: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"action": self.action, "version": self.version, "reason": self.reason}


class ArmStats:
    """Live numbers of one version: requests, errors, recent latencies, rewards."""

    def __init__(self) -> None:
        self.requests = 0
        self.errors = 0
        self.latencies: deque[float] = deque(maxlen=_LATENCY_WINDOW)
        self.rewards = 0
        self.reward_sum = 0.0
        self.reward_squares = 0.0

    def observe(self, *, error: bool, seconds: float) -> None:
        self.requests += 1
        self.errors += int(error)
        if not error:
            self.latencies.append(seconds)

    def reward(self, value: float) -> None:
        self.rewards += 1
        self.reward_sum += value
        self.reward_squares += value * value

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    @property
    def reward_mean(self) -> float:
        return self.reward_sum / self.rewards if self.rewards else float("nan")

    @property
    def reward_variance(self) -> float:
        if self.rewards < 2:
            return float("nan")
        mean = self.reward_mean
        return max(self.reward_squares / self.rewards - mean * mean, 0.0) * self.rewards / (self.rewards - 1)

    def p99_ms(self) -> float:
        if not self.latencies:
            return float("nan")
        return float(np.percentile(np.fromiter(self.latencies, dtype=np.float64), 99) * 1000.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": self.error_rate,
            "p99_ms": self.p99_ms(),
            "rewards": self.rewards,
            "reward_mean": self.reward_mean,
        }


def unit_fraction(unit: str, salt: str) -> float:
    """A stable number in ``[0, 1)`` for ``unit`` (sticky assignment across requests and servers)."""
    digest = hashlib.blake2b(f"{salt}\x00{unit}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


class Router(ABC):
    """Routes requests between ``champion`` and ``challengers`` (versions of one model)."""

    kind: str

    def __init__(self, champion: str, challengers: Sequence[str]) -> None:
        if not challengers:
            raise ConfigError(f"challengers: expected at least one challenger version, got {list(challengers)!r}")
        if champion in challengers:
            raise ConfigError(f"challengers: expected versions other than the champion {champion!r}, got {list(challengers)!r}")
        self.champion = champion
        self.challengers = tuple(challengers)
        self._lock = threading.Lock()
        self.arms: dict[str, ArmStats] = {version: ArmStats() for version in (champion, *challengers)}

    @property
    def versions(self) -> tuple[str, ...]:
        return (self.champion, *self.challengers)

    @abstractmethod
    def route(self, unit: str | None = None) -> Assignment:
        """Which version answers (``unit`` keys sticky assignment where the router has it)."""

    def observe(self, version: str, *, error: bool, seconds: float) -> None:
        """Count one answered (or failed) request of ``version``."""
        with self._lock:
            arm = self.arms.get(version)
            if arm is not None:
                arm.observe(error=error, seconds=seconds)

    def reward(self, version: str, value: float) -> None:
        """Credit ``version`` with a reward from feedback (1 for a conversion, 0 for none)."""
        with self._lock:
            arm = self.arms.get(version)
            if arm is not None:
                arm.reward(float(value))

    def decide(self, now: datetime) -> Decision | None:
        """Promote or roll back when the test is conclusive; None while it runs."""
        return None

    def status(self) -> dict[str, Any]:
        """Live numbers, JSON-ready."""
        with self._lock:
            arms = {version: stats.to_dict() for version, stats in self.arms.items()}
        return {"kind": self.kind, "champion": self.champion, "challengers": list(self.challengers), "arms": arms}


__all__ = ["Action", "ArmStats", "Assignment", "Decision", "Router", "unit_fraction"]
