"""Shadow router: the champion answers every request; each challenger gets a copy, never returned.

Examples
--------
>>> router = ShadowRouter("1.0", ["1.1", "2.0"])
>>> router.route("u1")
Assignment(answer='1.0', shadows=('1.1', '2.0'), role='champion')
>>> router.compare("1.1", rows=4, agreeing=3, score_gap=0.4)
>>> router.status()["agreement"]["1.1"]["agreement"]
0.75
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat
from typing import Any

from lifelong.deployment.router import Assignment, Router


class ShadowRouter(Router):
    """Mirror traffic to challengers; measure how often they agree with the champion."""

    kind = "shadow"

    def __init__(self, champion: str, challengers: Sequence[str]) -> None:
        super().__init__(champion, challengers)
        self._assignment = Assignment(champion, self.challengers)
        self._agreement = {version: {"rows": 0, "agreeing": 0, "score_gap_sum": 0.0} for version in self.challengers}
        self.dropped = 0

    def route(self, unit: str | None = None) -> Assignment:
        return self._assignment

    def compare(self, version: str, *, rows: int, agreeing: int, score_gap: float) -> None:
        """Record a shadow answer: rows, rows with the champion's label, summed ``|score gap|``."""
        with self._lock:
            record = self._agreement.get(version)
            if record is not None:
                record["rows"] += rows
                record["agreeing"] += agreeing
                record["score_gap_sum"] += score_gap

    def observe_copies(self, version: str, copies: int, *, error: bool, seconds: float) -> None:
        """Count ``copies`` shadow answers of ``version`` at once (one lock for a whole batch)."""
        with self._lock:
            arm = self.arms.get(version)
            if arm is not None:
                arm.requests += copies
                if error:
                    arm.errors += copies
                else:
                    arm.latencies.extend(repeat(seconds, min(copies, arm.latencies.maxlen or copies)))

    def drop(self, copies: int = 1) -> None:
        """Count ``copies`` not made because the shadow queue was full."""
        with self._lock:
            self.dropped += copies

    def status(self) -> dict[str, Any]:
        status = super().status()
        with self._lock:
            status["agreement"] = {
                version: {
                    "rows": int(r["rows"]),
                    "agreement": r["agreeing"] / r["rows"] if r["rows"] else None,
                    "mean_abs_score_gap": r["score_gap_sum"] / r["rows"] if r["rows"] else None,
                }
                for version, r in self._agreement.items()
            }
            status["dropped"] = self.dropped
        return status


__all__ = ["ShadowRouter"]
