"""Thompson sampling over model versions with a Beta-Bernoulli reward model.

Examples
--------
>>> router = ThompsonRouter("1.0", ["1.1"], seed=0)
>>> for _ in range(300):
...     router.reward("1.0", 0.0); router.reward("1.1", 1.0)
>>> sum(router.route().answer == "1.1" for _ in range(100)) > 95
True
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np

from lifelong.deployment.router import Assignment, Decision, Router
from lifelong.errors import ConfigError

_DRAWS = 4000


class ThompsonRouter(Router):
    """Route each request to the version whose sampled reward rate is highest.

    Rewards in ``[0, 1]`` update a Beta posterior per version (``alpha += r``, ``beta += 1 - r``).
    Once ``min_samples`` rewards are in, the version whose probability of being best reaches
    ``promote_probability`` ends the test: a challenger is promoted; the champion's win rolls
    the challengers back.
    """

    kind = "bandit"

    def __init__(
        self,
        champion: str,
        challengers: Sequence[str],
        *,
        prior_alpha: float = 1.0,
        prior_beta: float = 1.0,
        promote_probability: float = 0.95,
        min_samples: int = 500,
        seed: int = 0,
    ) -> None:
        super().__init__(champion, challengers)
        if not prior_alpha > 0 or not prior_beta > 0:
            raise ConfigError(f"prior_alpha, prior_beta: expected numbers > 0, got {prior_alpha!r}, {prior_beta!r}")
        self.alpha = np.full(len(self.versions), float(prior_alpha))
        self.beta = np.full(len(self.versions), float(prior_beta))
        self.promote_probability = promote_probability
        self.min_samples = min_samples
        self._rng = np.random.default_rng(seed)
        self._index = {version: i for i, version in enumerate(self.versions)}
        self._assignments = [
            Assignment(version, role="champion" if i == 0 else "challenger") for i, version in enumerate(self.versions)
        ]

    def route(self, unit: str | None = None) -> Assignment:
        with self._lock:
            draw = self._rng.beta(self.alpha, self.beta)
        return self._assignments[int(np.argmax(draw))]

    def reward(self, version: str, value: float) -> None:
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"reward: expected a number in [0, 1] for the bandit, got {value!r}")
        super().reward(version, value)
        index = self._index.get(version)
        if index is None:
            return
        with self._lock:
            self.alpha[index] += value
            self.beta[index] += 1.0 - value

    def best_probabilities(self) -> dict[str, float]:
        """Monte Carlo probability that each version has the highest reward rate."""
        with self._lock:
            draws = self._rng.beta(self.alpha, self.beta, size=(_DRAWS, len(self.versions)))
        wins = np.bincount(draws.argmax(axis=1), minlength=len(self.versions)) / _DRAWS
        return {version: float(wins[i]) for i, version in enumerate(self.versions)}

    def decide(self, now: datetime) -> Decision | None:
        with self._lock:
            total = sum(arm.rewards for arm in self.arms.values())
        if total < self.min_samples:
            return None
        best = self.best_probabilities()
        version, probability = max(best.items(), key=lambda item: item[1])
        if probability < self.promote_probability:
            return None
        if version == self.champion:
            return Decision(
                "rollback", self.challengers[0] if len(self.challengers) == 1 else ",".join(self.challengers),
                f"bandit: the champion is best with probability {probability:.3f}",
            )
        return Decision("promote", version, f"bandit: {version} is best with probability {probability:.3f} after {total} rewards")

    def status(self) -> dict[str, Any]:
        status = super().status()
        with self._lock:
            posterior = {v: {"alpha": float(self.alpha[i]), "beta": float(self.beta[i])} for v, i in self._index.items()}
        status.update(posterior=posterior, probability_best=self.best_probabilities())
        return status


__all__ = ["ThompsonRouter"]
