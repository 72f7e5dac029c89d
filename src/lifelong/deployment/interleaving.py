"""Team-draft interleaving of two rankings, with the preference measured from clicks.

Team draft (Radlinski, Kurup and Joachims, 2008): in each round a coin decides which ranker
picks first; each ranker adds its highest-ranked item not already shown, and the item is
credited to its team. A click on an item counts for its team; the impression is won by the
team with more clicks (a tie otherwise). Whether the challenger is preferred is judged on
the won impressions with an always-valid p-value (the mixture SPRT of
:mod:`lifelong.deployment.sequential` on the challenger's share of wins against 1/2), so the
test may be looked at after every impression; the fixed-horizon sign test is reported beside it.

Examples
--------
>>> import random
>>> merged, teams = team_draft(["a", "b", "c"], ["b", "d", "a"], random.Random(1))
>>> sorted(merged) == ["a", "b", "c", "d"], len(teams) == len(merged)
(True, True)
>>> credit(["A", "B", "A"], [1])
'B'
"""

from __future__ import annotations

import random
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from datetime import datetime
from typing import Any, Literal

import numpy as np
from scipy.stats import binomtest

from lifelong.deployment.router import Assignment, Decision, Router
from lifelong.deployment.sequential import log_mixture_ratio

Team = Literal["A", "B"]
_PENDING = 100_000


def team_draft(
    ranking_a: Sequence[Hashable], ranking_b: Sequence[Hashable], rng: random.Random, *, length: int | None = None
) -> tuple[list[Hashable], list[Team]]:
    """Interleave two rankings of the same items; return the list shown and each item's team."""
    limit = len(set(ranking_a) | set(ranking_b)) if length is None else length
    merged: list[Hashable] = []
    teams: list[Team] = []
    shown: set[Hashable] = set()
    count = {"A": 0, "B": 0}
    sources: dict[Team, Sequence[Hashable]] = {"A": ranking_a, "B": ranking_b}
    position: dict[Team, int] = {"A": 0, "B": 0}

    def next_item(team: Team) -> Hashable | None:
        ranking = sources[team]
        while position[team] < len(ranking) and ranking[position[team]] in shown:
            position[team] += 1
        return ranking[position[team]] if position[team] < len(ranking) else None

    while len(merged) < limit:
        a_left, b_left = next_item("A"), next_item("B")
        if a_left is None and b_left is None:
            break
        if count["A"] < count["B"] or (count["A"] == count["B"] and rng.random() < 0.5):
            team: Team = "A" if a_left is not None else "B"
        else:
            team = "B" if b_left is not None else "A"
        item = next_item(team)
        if item is None:
            break
        merged.append(item)
        teams.append(team)
        shown.add(item)
        count[team] += 1
    return merged, teams


def credit(teams: Sequence[Team], clicked_positions: Sequence[int]) -> Team | None:
    """The team with more clicks on its items, or None for a tie (no clicks included)."""
    a = sum(1 for p in set(clicked_positions) if 0 <= p < len(teams) and teams[p] == "A")
    b = sum(1 for p in set(clicked_positions) if 0 <= p < len(teams) and teams[p] == "B")
    return None if a == b else ("A" if a > b else "B")


class InterleavingRouter(Router):
    """Interleave champion (team A) and challenger (team B) rankings; decide on a sign test of clicks."""

    kind = "interleaving"

    def __init__(
        self,
        champion: str,
        challenger: str,
        *,
        alpha: float = 0.05,
        min_impressions: int = 100,
        tau: float = 0.1,
        seed: int = 0,
    ) -> None:
        super().__init__(champion, [challenger])
        self.challenger = challenger
        self.alpha = alpha
        self.min_impressions = min_impressions
        self._rng = random.Random(seed)
        self._pending: OrderedDict[str, list[Team]] = OrderedDict()
        self._pending_lock = threading.Lock()
        self.wins = {"A": 0, "B": 0}
        self.ties = 0
        self.tau = tau
        self._p_value = 1.0
        self._assignment = Assignment(champion)

    def route(self, unit: str | None = None) -> Assignment:
        return self._assignment

    def interleave(
        self, request_id: str, ranking_a: Sequence[Hashable], ranking_b: Sequence[Hashable], length: int | None = None
    ) -> tuple[list[Hashable], list[Team]]:
        """The list to show for ``request_id``; its teams are kept until :meth:`clicks` arrives."""
        with self._pending_lock:
            merged, teams = team_draft(ranking_a, ranking_b, self._rng, length=length)
            self._pending[request_id] = teams
            while len(self._pending) > _PENDING:
                self._pending.popitem(last=False)
        return merged, teams

    def clicks(self, request_id: str, positions: Sequence[int]) -> Team | None:
        """Credit the clicks on the list shown for ``request_id``; KeyError when it is unknown."""
        with self._pending_lock:
            teams = self._pending.pop(request_id)
            winner = credit(teams, positions)
            if winner is None:
                self.ties += 1
            else:
                self.wins[winner] += 1
                decided = self.wins["A"] + self.wins["B"]
                if decided >= self.min_impressions:
                    share = self.wins["B"] / decided
                    ratio = float(log_mixture_ratio(share - 0.5, 0.25 / decided, self.tau))
                    self._p_value = min(self._p_value, 1.0, float(np.exp(-ratio)))
        return winner

    def p_value(self) -> float:
        """Always-valid p-value of "no preference" (running minimum over every look)."""
        with self._pending_lock:
            return self._p_value

    def sign_test_p(self) -> float:
        """Fixed-horizon two-sided sign test on the won impressions (valid for one look only)."""
        decided = self.wins["A"] + self.wins["B"]
        if decided == 0:
            return 1.0
        return float(binomtest(self.wins["B"], decided, 0.5).pvalue)

    def decide(self, now: datetime) -> Decision | None:
        with self._pending_lock:
            decided = self.wins["A"] + self.wins["B"]
            b_wins = self.wins["B"]
        if decided < self.min_impressions:
            return None
        p = self.p_value()
        if p >= self.alpha:
            return None
        share = b_wins / decided
        if share > 0.5:
            return Decision("promote", self.challenger, f"interleaving: challenger preferred in {share:.1%} of {decided} impressions (p {p:.4g})")
        return Decision("rollback", self.challenger, f"interleaving: champion preferred in {1 - share:.1%} of {decided} impressions (p {p:.4g})")

    def status(self) -> dict[str, Any]:
        status = super().status()
        with self._pending_lock:
            decided = self.wins["A"] + self.wins["B"]
            status.update(
                champion_wins=self.wins["A"],
                challenger_wins=self.wins["B"],
                ties=self.ties,
                preference=(self.wins["B"] - self.wins["A"]) / (decided + self.ties) if decided + self.ties else 0.0,
                pending=len(self._pending),
            )
        status["p_value"] = self.p_value()
        status["sign_test_p"] = self.sign_test_p()
        return status


__all__ = ["InterleavingRouter", "Team", "credit", "team_draft"]
