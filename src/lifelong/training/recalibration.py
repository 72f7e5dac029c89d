"""Recalibration: when a stateful update should train from scratch instead.

Stateful updates accumulate bias (old trees, stale leaves, momentum in the wrong place).
:class:`RecalibrationPolicy` asks for a fit from scratch after ``every`` stateful updates in a
row, or when the new rows drifted far from the parent's snapshot: drift is measured simply,
as the largest population stability index (PSI) of a feature between the parent's training
snapshot and the rows the update would train on. Richer detectors live in ``monitoring/``.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> same = population_stability(rng.normal(size=2000), rng.normal(size=2000), bins=10)
>>> moved = population_stability(rng.normal(size=2000), rng.normal(1.0, 1.0, size=2000), bins=10)
>>> bool(same < 0.05), bool(moved > 0.5)
(True, True)
>>> RecalibrationPolicy(every=3).decide(streak=3, psi={}).reason
'3 stateful updates in a row (every: 3)'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from lifelong.errors import ConfigError
from lifelong.registry.types import ModelVersion, TrainingMode
from lifelong.training.snapshot import read_snapshot

if TYPE_CHECKING:
    from lifelong.config import RecalibrationConfig
    from lifelong.runtime import Pipeline

FLOOR = 1e-4  # share given to an empty bin, so the log stays finite


def _psi(reference: NDArray[np.float64], current: NDArray[np.float64]) -> float:
    r = np.clip(reference / max(reference.sum(), 1.0), FLOOR, None)
    c = np.clip(current / max(current.sum(), 1.0), FLOOR, None)
    return float(np.sum((c - r) * np.log(c / r)))


def population_stability(
    reference: NDArray[Any], current: NDArray[Any], *, bins: int = 10
) -> float:
    """PSI of ``current`` against ``reference`` on the reference's quantile bins (NaN when either is empty)."""
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    if not len(ref) or not len(cur):
        return float("nan")
    edges = np.unique(np.quantile(ref, np.linspace(0.0, 1.0, bins + 1))[1:-1])
    ref_counts = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1)
    cur_counts = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1)
    return _psi(ref_counts.astype(np.float64), cur_counts.astype(np.float64))


def categorical_stability(reference: Sequence[Any], current: Sequence[Any]) -> float:
    """PSI of the category shares of ``current`` against ``reference``."""
    ref, cur = pd.Series(list(reference), dtype=object), pd.Series(list(current), dtype=object)
    if not len(ref) or not len(cur):
        return float("nan")
    levels = sorted(set(ref.dropna().astype(str)) | set(cur.dropna().astype(str)))
    ref_counts = (
        ref.dropna().astype(str).value_counts().reindex(levels, fill_value=0).to_numpy(np.float64)
    )
    cur_counts = (
        cur.dropna().astype(str).value_counts().reindex(levels, fill_value=0).to_numpy(np.float64)
    )
    return _psi(ref_counts, cur_counts)


def feature_stability(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    numeric: Sequence[str],
    categorical: Sequence[str],
    bins: int = 10,
) -> dict[str, float]:
    """PSI per feature column present in both frames (NaN results are left out)."""
    out: dict[str, float] = {}
    for name in numeric:
        if name in reference.columns and name in current.columns:
            value = population_stability(
                pd.to_numeric(reference[name], errors="coerce").to_numpy(np.float64),
                pd.to_numeric(current[name], errors="coerce").to_numpy(np.float64),
                bins=bins,
            )
            if np.isfinite(value):
                out[name] = value
    for name in categorical:
        if name in reference.columns and name in current.columns:
            value = categorical_stability(reference[name].tolist(), current[name].tolist())
            if np.isfinite(value):
                out[name] = value
    return out


def stateful_streak(chain: Sequence[ModelVersion]) -> int:
    """Stateful versions in a row at the head of ``chain`` (a version, its parent, ...)."""
    streak = 0
    for version in chain:
        if TrainingMode(version.lineage.mode) is not TrainingMode.STATEFUL:
            break
        streak += 1
    return streak


@dataclass(frozen=True)
class RecalibrationDecision:
    """Whether to train from scratch, why, and what was measured."""

    from_scratch: bool
    reason: str
    streak: int
    psi: dict[str, float] = field(default_factory=dict)

    @property
    def max_psi(self) -> float | None:
        return max(self.psi.values()) if self.psi else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "from_scratch": self.from_scratch,
            "reason": self.reason,
            "stateful_streak": self.streak,
            "max_psi": self.max_psi,
            "psi": dict(self.psi),
        }


class RecalibrationPolicy:
    """Train from scratch every ``every`` stateful updates, or when the largest PSI reaches ``psi_threshold``."""

    def __init__(
        self, *, every: int | None = None, psi_threshold: float | None = None, bins: int = 10
    ) -> None:
        if every is not None and (
            isinstance(every, bool) or not isinstance(every, int) or every < 1
        ):
            raise ConfigError(
                f"recalibration.every: expected an integer >= 1 or None, got {every!r}"
            )
        if psi_threshold is not None and not psi_threshold > 0:
            raise ConfigError(
                f"recalibration.psi_threshold: expected a number > 0 or None, got {psi_threshold!r}"
            )
        if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
            raise ConfigError(f"recalibration.bins: expected an integer >= 2, got {bins!r}")
        self.every, self.psi_threshold, self.bins = every, psi_threshold, bins

    @classmethod
    def from_config(cls, config: RecalibrationConfig) -> RecalibrationPolicy:
        return cls(every=config.every, psi_threshold=config.psi_threshold, bins=config.bins)

    @property
    def enabled(self) -> bool:
        return self.every is not None or self.psi_threshold is not None

    def decide(self, *, streak: int, psi: Mapping[str, float]) -> RecalibrationDecision:
        """The decision for a champion ``streak`` stateful updates deep, with the measured ``psi``."""
        psi = dict(psi)
        if self.every is not None and streak >= self.every:
            return RecalibrationDecision(
                True, f"{streak} stateful updates in a row (every: {self.every})", streak, psi
            )
        if self.psi_threshold is not None and psi:
            name, value = max(psi.items(), key=lambda item: item[1])
            if value >= self.psi_threshold:
                return RecalibrationDecision(
                    True,
                    f"drift: PSI of {name} is {value:.3f} (threshold {self.psi_threshold})",
                    streak,
                    psi,
                )
        return RecalibrationDecision(False, "stateful update: no recalibration due", streak, psi)


def decide_recalibration(
    pipeline: Pipeline, champion: ModelVersion, fresh: pd.DataFrame
) -> RecalibrationDecision | None:
    """The policy's decision for updating ``champion`` on ``fresh`` rows; ``None`` when no policy is configured."""
    policy = RecalibrationPolicy.from_config(pipeline.config.training.recalibration)
    if not policy.enabled:
        return None
    registry = pipeline.registry
    streak = stateful_streak(registry.lineage(pipeline.name, champion.version))
    psi: dict[str, float] = {}
    snapshot = champion.lineage.snapshot
    if policy.psi_threshold is not None and snapshot is not None and len(fresh):
        reference = read_snapshot(registry.artifacts, snapshot)
        features = pipeline.features
        psi = feature_stability(
            reference,
            fresh,
            numeric=features.numeric,
            categorical=tuple(features.categorical),
            bins=policy.bins,
        )
    return policy.decide(streak=streak, psi=psi)


__all__ = [
    "RecalibrationDecision",
    "RecalibrationPolicy",
    "categorical_stability",
    "decide_recalibration",
    "feature_stability",
    "population_stability",
    "stateful_streak",
]
