"""Label poisoning: a source whose labels suddenly disagree with the champion gets flagged and throttled.

For each source in an update's training rows, the check counts how often its labels disagree
with the champion's *confident* predictions (top probability at least ``confidence``). A
source is convicted when its disagreement is significantly higher, by Fisher's exact test
(one-sided, ``alpha``) and by at least ``min_increase``, than both its own history (the same
count on the rows before the training window) and its peers (the other sources in the same
window). Requiring both keeps real drift, which moves every source at once, from convicting
anyone. A conviction fails the ``label_quality`` gate — the challenger trained on those labels
is rejected and the champion stays — and flags the source
(:class:`lifelong.sources.quarantine.SourceQuarantine`) with the gate's ``throttle``: from then
on only that fraction of its events is admitted to training and evaluation; the rest are held
back in the store until someone releases it. Its admitted rows are still judged at every update
(the evidence for a review); a flagged source convicted again does not fail the gate, since its
share is already capped, while a newly convicted one does.

Examples
--------
>>> import numpy as np
>>> check = LabelQualityCheck(alpha=0.01, min_rows=20)
>>> rng = np.random.default_rng(0)
>>> sources = np.array(["a", "b"] * 200)
>>> disagree = np.where(sources == "b", rng.random(400) < 0.4, rng.random(400) < 0.05)
>>> history = {"a": (200, 10), "b": (200, 11)}
>>> [(v.source, v.flagged) for v in check.judge(sources, disagree, history)]
[('a', False), ('b', True)]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.stats import fisher_exact

from lifelong.errors import ConfigError
from lifelong.evaluation.gates import Comparison, Gate, GateResult
from lifelong.sources.quarantine import SourceQuarantine, check_throttle

if TYPE_CHECKING:
    from lifelong.evaluation.evaluator import EvaluationReport

KIND = "label_quality"


@dataclass(frozen=True)
class SourceVerdict:
    """The evidence about one source's labels in one window."""

    source: str
    rows: int
    disagreement: float
    history_rows: int
    history_disagreement: float | None
    peer_rows: int
    peer_disagreement: float | None
    p_history: float | None
    p_peers: float | None
    flagged: bool
    already_flagged: bool = False
    throttle: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _greater(hits: int, n: int, base_hits: int, base_n: int) -> float:
    """One-sided Fisher's exact p-value that the first rate exceeds the second."""
    table = [[hits, n - hits], [base_hits, base_n - base_hits]]
    return float(fisher_exact(table, alternative="greater").pvalue)


class LabelQualityCheck:
    """Per-source test of label disagreement against history and peers.

    Parameters
    ----------
    alpha
        Significance level of each one-sided Fisher test.
    min_rows
        Confidently predicted rows a source needs in the window (and a baseline needs) to be judged.
    min_increase
        Smallest rise of the disagreement rate, over history and over peers, that convicts.
    """

    def __init__(
        self, *, alpha: float = 1e-3, min_rows: int = 30, min_increase: float = 0.1
    ) -> None:
        if not 0 < alpha < 1:
            raise ConfigError(f"alpha: expected a number in (0, 1), got {alpha!r}")
        if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 1:
            raise ConfigError(f"min_rows: expected an integer >= 1, got {min_rows!r}")
        if not 0 <= min_increase < 1:
            raise ConfigError(f"min_increase: expected a number in [0, 1), got {min_increase!r}")
        self.alpha = alpha
        self.min_rows = min_rows
        self.min_increase = min_increase

    def judge(
        self,
        sources: NDArray[Any],
        disagree: NDArray[np.bool_],
        history: Mapping[str, tuple[int, int]],
    ) -> list[SourceVerdict]:
        """Verdicts per source, sorted by name.

        Parameters
        ----------
        sources, disagree
            Per confidently predicted row of the window: its source, and whether its label
            disagrees with the champion.
        history
            Per source: (rows, disagreements) before the window.
        """
        names = np.asarray(sources).astype(str)
        flags = np.asarray(disagree, dtype=bool)
        verdicts = []
        for source in sorted(set(names.tolist())):
            mine = names == source
            n, hits = int(mine.sum()), int(flags[mine].sum())
            peer_n, peer_hits = int((~mine).sum()), int(flags[~mine].sum())
            base_n, base_hits = history.get(source, (0, 0))
            rate = hits / n if n else 0.0
            p_history = p_peers = None
            convicted = n >= self.min_rows
            if base_n >= self.min_rows:
                p_history = _greater(hits, n, base_hits, base_n)
                convicted &= (
                    p_history < self.alpha and rate - base_hits / base_n >= self.min_increase
                )
            if peer_n >= self.min_rows:
                p_peers = _greater(hits, n, peer_hits, peer_n)
                convicted &= p_peers < self.alpha and rate - peer_hits / peer_n >= self.min_increase
            convicted &= p_history is not None or p_peers is not None
            verdicts.append(
                SourceVerdict(
                    source=source,
                    rows=n,
                    disagreement=rate,
                    history_rows=base_n,
                    history_disagreement=base_hits / base_n if base_n else None,
                    peer_rows=peer_n,
                    peer_disagreement=peer_hits / peer_n if peer_n else None,
                    p_history=p_history,
                    p_peers=p_peers,
                    flagged=bool(convicted),
                )
            )
        return verdicts


class LabelQualityGate(Gate):
    """The ``label_quality`` gate: its verdict comes from the training rows, see :class:`SourceScreen`.

    On a comparison alone (no training rows were screened) it passes and says so. ``throttle``
    is the fraction of a convicted source's later events admitted to training (0 holds back all);
    the other parameters are those of :class:`LabelQualityCheck`, and ``confidence`` the top
    probability that makes a champion's prediction count.

    Examples
    --------
    >>> gate = LabelQualityGate(source_column="source")
    >>> gate.check(Comparison("roc_auc", True, 0.7, 0.7, 100)).reason
    'training labels not screened here: the orchestrator screens them per source'
    """

    kind = KIND

    def __init__(
        self,
        *,
        source_column: str,
        confidence: float = 0.8,
        alpha: float = 1e-3,
        min_rows: int = 30,
        min_increase: float = 0.1,
        throttle: float = 0.1,
    ) -> None:
        if not 0.5 <= confidence < 1:
            raise ConfigError(f"confidence: expected a probability in [0.5, 1), got {confidence!r}")
        if not isinstance(source_column, str) or not source_column:
            raise ConfigError(f"source_column: expected a column name, got {source_column!r}")
        self.source_column = source_column
        self.confidence = confidence
        self.throttle = check_throttle(throttle)
        self.check_ = LabelQualityCheck(alpha=alpha, min_rows=min_rows, min_increase=min_increase)

    def check(self, comparison: Comparison) -> GateResult:
        return GateResult(
            self.kind,
            True,
            "training labels not screened here: the orchestrator screens them per source",
        )


class SourceScreen:
    """The pipeline's hook: throttles flagged sources, and judges an update's training labels.

    Parameters
    ----------
    gate
        The configured ``label_quality`` gate.
    quarantine
        Where flags are kept.
    """

    def __init__(self, gate: LabelQualityGate, quarantine: SourceQuarantine) -> None:
        self.gate = gate
        self.quarantine = quarantine

    def exclude(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` without the held-back rows of flagged sources."""
        return self.quarantine.exclude(frame)

    def _disagreement(
        self, champion: Any, frame: pd.DataFrame, label: str
    ) -> tuple[NDArray[Any], NDArray[np.bool_]]:
        column = self.gate.source_column
        if not len(frame) or column not in frame.columns:
            return np.array([], dtype=object), np.array([], dtype=bool)
        proba = np.asarray(champion.predict_proba_frame(frame), dtype=np.float64)
        classes = np.asarray(champion.classes_)
        confident = proba.max(axis=1) >= self.gate.confidence
        predicted = classes[proba.argmax(axis=1)]
        labels = frame[label].to_numpy()
        return frame[column].astype(str).to_numpy()[confident], (predicted != labels)[confident]

    def judge(
        self,
        report: EvaluationReport,
        *,
        champion: Any | None,
        train: pd.DataFrame,
        before: pd.DataFrame,
        label: str,
        now: datetime,
    ) -> EvaluationReport:
        """Add the ``label_quality`` verdict to ``report``; flag and throttle convicted sources.

        ``champion`` is the serving bundle (None before the first version: nothing to judge
        against), ``train`` the challenger's training rows and ``before`` labeled rows older
        than them (each source's history).
        """
        if champion is None:
            result = GateResult(KIND, True, "no champion to judge labels against")
        else:
            past_sources, past_disagree = self._disagreement(champion, before, label)
            history = {
                str(s): (
                    int((past_sources == s).sum()),
                    int(past_disagree[past_sources == s].sum()),
                )
                for s in set(past_sources.tolist())
            }
            sources, disagree = self._disagreement(champion, train, label)
            throttles = self.quarantine.throttles(before=now)  # flagged before this update
            flagged_now = self.quarantine.throttles()
            verdicts = [
                replace(v, already_flagged=v.source in throttles, throttle=throttles.get(v.source))
                for v in self.gate.check_.judge(sources, disagree, history)
            ]
            convicted = [v for v in verdicts if v.flagged and not v.already_flagged]
            for verdict in (v for v in convicted if v.source not in flagged_now):
                self.quarantine.flag(
                    verdict.source,
                    at=now,
                    reason=f"labels disagree with the champion on {verdict.disagreement:.0%} of confident rows",
                    evidence=verdict.to_dict(),
                    throttle=self.gate.throttle,
                )
            throttled = _throttled(train, self.gate.source_column, throttles)
            if convicted:
                names = ", ".join(repr(v.source) for v in convicted)
                reason = (
                    f"label quality: source {names} disagrees with the champion's confident predictions on "
                    + ", ".join(
                        f"{v.disagreement:.0%} (history {v.history_disagreement or 0:.0%}, peers "
                        f"{v.peer_disagreement or 0:.0%})"
                        for v in convicted
                    )
                    + f"; flagged and throttled to {self.gate.throttle:.0%} of its events"
                )
            else:
                reason = f"label quality: {len(verdicts)} sources consistent with their history and peers"
            if throttled:
                reason += "; flagged before: " + ", ".join(
                    f"{source!r} throttled to {t['throttle']:.0%}, {t['admitted_rows']} rows admitted "
                    f"({t['admitted_share']:.1%} of training)"
                    for source, t in throttled.items()
                )
            result = GateResult(
                KIND,
                not convicted,
                reason,
                {"sources": [v.to_dict() for v in verdicts], "throttled": throttled},
            )
        gates = tuple(g for g in report.gates if g.gate != KIND) + (result,)
        if result.passed:
            return replace(report, gates=gates)
        failed = "; ".join(g.reason for g in gates if not g.passed)
        return replace(report, gates=gates, passed=False, reason=failed)


def _throttled(
    train: pd.DataFrame, column: str, throttles: Mapping[str, float]
) -> dict[str, dict[str, Any]]:
    """Per source flagged before this update: its throttle, and its rows and share of ``train``."""
    if not throttles:
        return {}
    names = (
        train[column].astype(str).to_numpy() if column in train.columns else np.array([], dtype=str)
    )
    out = {}
    for source in sorted(throttles):
        rows = int((names == source).sum())
        out[source] = {
            "throttle": throttles[source],
            "admitted_rows": rows,
            "admitted_share": rows / len(train) if len(train) else 0.0,
        }
    return out


def screen_for(gates: tuple[Gate, ...], store: Any) -> SourceScreen | None:
    """The screen of a pipeline whose evaluator has a ``label_quality`` gate, else None."""
    for gate in gates:
        if isinstance(gate, LabelQualityGate):
            return SourceScreen(gate, SourceQuarantine(store, column=gate.source_column))
    return None


__all__ = [
    "KIND",
    "LabelQualityCheck",
    "LabelQualityGate",
    "SourceScreen",
    "SourceVerdict",
    "screen_for",
]
