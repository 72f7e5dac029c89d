"""Canary router: a small share of traffic for a bake time, rolled back on a breached guardrail.

Examples
--------
>>> from datetime import datetime, timedelta, timezone
>>> start = datetime(2024, 1, 1, tzinfo=timezone.utc)
>>> router = CanaryRouter("1.0", "1.1", weight=0.5, bake=timedelta(minutes=5), min_requests=10, started=start)
>>> for _ in range(20):
...     router.observe("1.0", error=False, seconds=0.001)
...     router.observe("1.1", error=True, seconds=0.001)
>>> router.decide(start + timedelta(minutes=1)).action
'rollback'
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from typing import Any

from lifelong.deployment.router import Assignment, Decision, Router, unit_fraction
from lifelong.errors import ConfigError


class CanaryRouter(Router):
    """Send ``weight`` of traffic to ``challenger``; promote after ``bake`` unless a guardrail breaks.

    Parameters
    ----------
    champion, challenger
        Versions.
    weight
        Share of requests the challenger answers, in ``[0, 1]``.
    bake
        How long the challenger must serve without a breach before promotion.
    started
        When the canary began (the clock of the caller).
    min_requests
        Requests the challenger must have answered before any guardrail or promotion is judged.
    max_error_rate_increase, max_latency_ratio, max_p99_ms
        Error and latency guardrails against the champion (``max_p99_ms`` also absolute).
    max_metric_drop, min_feedback
        Reward guardrail, judged once both arms have ``min_feedback`` rewards (None: off).
    seed
        Seed of the draw for requests without a unit id.
    """

    kind = "canary"

    def __init__(
        self,
        champion: str,
        challenger: str,
        *,
        weight: float,
        bake: timedelta,
        started: datetime,
        min_requests: int = 100,
        max_error_rate_increase: float = 0.01,
        max_latency_ratio: float = 2.0,
        max_p99_ms: float | None = None,
        max_metric_drop: float | None = 0.05,
        min_feedback: int = 100,
        seed: int = 0,
    ) -> None:
        super().__init__(champion, [challenger])
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0.0 <= weight <= 1.0:
            raise ConfigError(f"weight: expected a share of traffic in [0, 1], got {weight!r}")
        self.challenger = challenger
        self.weight = float(weight)
        self.bake = bake
        self.started = started
        self.min_requests = min_requests
        self.max_error_rate_increase = max_error_rate_increase
        self.max_latency_ratio = max_latency_ratio
        self.max_p99_ms = max_p99_ms
        self.max_metric_drop = max_metric_drop
        self.min_feedback = min_feedback
        self._random = random.Random(seed)
        self._salt = f"canary:{challenger}"
        self._to_champion = Assignment(champion)
        self._to_challenger = Assignment(challenger, role="challenger")

    def route(self, unit: str | None = None) -> Assignment:
        draw = unit_fraction(unit, self._salt) if unit else self._random.random()
        return self._to_challenger if draw < self.weight else self._to_champion

    def breaches(self) -> list[str]:
        """Guardrails the challenger breaks now (empty before it has ``min_requests``)."""
        with self._lock:
            champion, challenger = self.arms[self.champion], self.arms[self.challenger]
            if challenger.requests < self.min_requests:
                return []
            found = []
            increase = challenger.error_rate - champion.error_rate
            if increase > self.max_error_rate_increase:
                found.append(
                    f"error rate {challenger.error_rate:.2%} vs champion {champion.error_rate:.2%} "
                    f"(+{increase:.2%} > {self.max_error_rate_increase:.2%})"
                )
            p99, reference = challenger.p99_ms(), champion.p99_ms()
            if self.max_p99_ms is not None and p99 > self.max_p99_ms:
                found.append(f"p99 latency {p99:.1f} ms > {self.max_p99_ms} ms")
            if champion.requests >= self.min_requests and not math.isnan(reference) and p99 > self.max_latency_ratio * reference:
                found.append(f"p99 latency {p99:.1f} ms > {self.max_latency_ratio}x the champion's {reference:.1f} ms")
            if (
                self.max_metric_drop is not None
                and challenger.rewards >= self.min_feedback
                and champion.rewards >= self.min_feedback
                and challenger.reward_mean < champion.reward_mean - self.max_metric_drop
            ):
                found.append(
                    f"reward {challenger.reward_mean:.4f} vs champion {champion.reward_mean:.4f} "
                    f"(drop > {self.max_metric_drop})"
                )
            return found

    def decide(self, now: datetime) -> Decision | None:
        breaches = self.breaches()
        if breaches:
            return Decision("rollback", self.challenger, "canary guardrail breached: " + "; ".join(breaches))
        with self._lock:
            served = self.arms[self.challenger].requests
        if now - self.started >= self.bake and served >= self.min_requests:
            return Decision(
                "promote", self.challenger, f"canary baked {now - self.started} on {served} requests without a breach"
            )
        return None

    def status(self) -> dict[str, Any]:
        status = super().status()
        status.update(
            weight=self.weight,
            bake_seconds=self.bake.total_seconds(),
            started=self.started.isoformat(),
            min_requests=self.min_requests,
            breaches=self.breaches(),
        )
        return status


__all__ = ["CanaryRouter"]
