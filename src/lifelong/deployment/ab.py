"""A/B router: sticky hashing of a unit id, and a sequential test that may stop at any time.

Examples
--------
>>> router = ABRouter("1.0", "1.1", weight=0.5, salt="exp-1")
>>> router.route("user-42") == router.route("user-42")
True
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from lifelong.deployment.router import Assignment, Decision, Router, unit_fraction
from lifelong.deployment.sequential import MixtureSPRT
from lifelong.errors import ConfigError


class ABRouter(Router):
    """Split units between champion and challenger; stop on an always-valid p-value below ``alpha``.

    Parameters
    ----------
    weight
        Share of units given to the challenger, in ``(0, 1)``.
    alpha, tau
        Level and mixture scale of the mSPRT on the difference of reward means.
    min_samples
        Rewards each arm needs before the test is updated.
    max_samples
        Rewards per arm after which the test stops without a winner (None: never).
    salt
        Hash salt; a new salt reshuffles units (default: the challenger version).
    """

    kind = "ab"

    def __init__(
        self,
        champion: str,
        challenger: str,
        *,
        weight: float = 0.5,
        alpha: float = 0.05,
        tau: float = 0.05,
        min_samples: int = 100,
        max_samples: int | None = None,
        salt: str = "",
        seed: int = 0,
    ) -> None:
        super().__init__(champion, [challenger])
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0.0 < weight < 1.0:
            raise ConfigError(f"weight: expected a share of units in (0, 1), got {weight!r}")
        self.challenger = challenger
        self.weight = float(weight)
        self.test = MixtureSPRT(tau=tau, alpha=alpha)
        self.min_samples = min_samples
        self.max_samples = max_samples
        self.salt = salt or f"ab:{challenger}"
        self._random = random.Random(seed)
        self._a = Assignment(champion)
        self._b = Assignment(challenger, role="challenger")

    def route(self, unit: str | None = None) -> Assignment:
        draw = unit_fraction(unit, self.salt) if unit else self._random.random()
        return self._b if draw < self.weight else self._a

    def reward(self, version: str, value: float) -> None:
        super().reward(version, value)
        with self._lock:
            a, b = self.arms[self.champion], self.arms[self.challenger]
            if a.rewards >= self.min_samples and b.rewards >= self.min_samples:
                self.test.update(
                    mean_a=a.reward_mean,
                    var_a=a.reward_variance,
                    n_a=a.rewards,
                    mean_b=b.reward_mean,
                    var_b=b.reward_variance,
                    n_b=b.rewards,
                )

    def decide(self, now: datetime) -> Decision | None:
        with self._lock:
            p, theta = self.test.p_value, self.test.theta
            fewest = min(self.arms[self.champion].rewards, self.arms[self.challenger].rewards)
        if self.test.significant:
            if theta > 0:
                return Decision("promote", self.challenger, f"A/B: challenger better by {theta:+.4f} (always-valid p {p:.4g})")
            return Decision("rollback", self.challenger, f"A/B: challenger worse by {theta:+.4f} (always-valid p {p:.4g})")
        if self.max_samples is not None and fewest >= self.max_samples:
            return Decision("rollback", self.challenger, f"A/B: no significant difference after {fewest} rewards per arm (p {p:.4g})")
        return None

    def status(self) -> dict[str, Any]:
        status = super().status()
        status.update(
            weight=self.weight,
            p_value=self.test.p_value,
            effect=self.test.theta,
            alpha=self.test.alpha,
            significant=self.test.significant,
        )
        return status


__all__ = ["ABRouter"]
