"""Paired comparisons of two models scored on the same rows: bootstrap interval and McNemar.

Examples
--------
>>> import numpy as np
>>> from lifelong.evaluation.metrics import get_metric
>>> rng = np.random.default_rng(0)
>>> y = rng.integers(0, 2, 500)
>>> good = np.column_stack([1 - (0.8 * y + 0.1), 0.8 * y + 0.1])
>>> coin = np.full((500, 2), 0.5)
>>> interval = paired_bootstrap(y, coin, good, np.array([0, 1]), get_metric("accuracy"), seed=1)
>>> interval.low > 0.3
True
>>> mcnemar(y, np.zeros(500, dtype=int), y).p_value < 1e-6
True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.stats import binomtest

from lifelong.errors import ConfigError, DataError
from lifelong.evaluation.metrics import Metric


@dataclass(frozen=True)
class Interval:
    """A bootstrap interval of the gain of model ``b`` over model ``a`` (positive: ``b`` better)."""

    estimate: float
    low: float
    high: float
    confidence: float
    resamples: int
    seed: int
    undefined: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class McNemarResult:
    """Exact McNemar test on the rows where the two models disagree about correctness.

    ``only_a`` rows are right only for ``a``, ``only_b`` only for ``b``; ``p_value`` is
    two-sided, :attr:`p_b_better` one-sided for ``b`` being right more often.
    """

    only_a: int
    only_b: int
    p_value: float
    p_b_better: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def paired_bootstrap(
    y: NDArray[Any],
    proba_a: NDArray[np.float64],
    proba_b: NDArray[np.float64],
    classes: NDArray[Any],
    metric: Metric,
    *,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile interval of ``metric(b) - metric(a)`` (direction-aware) over paired resamples.

    Each resample draws rows with replacement once and scores both models on the same rows, so
    the interval reflects the difference, not two independent noises.
    """
    if not isinstance(resamples, int) or isinstance(resamples, bool) or resamples < 10:
        raise ConfigError(f"resamples: expected an integer >= 10, got {resamples!r}")
    if not 0.5 <= confidence < 1.0:
        raise ConfigError(f"confidence: expected a number in [0.5, 1), got {confidence!r}")
    truth = np.asarray(y)
    a = np.asarray(proba_a, dtype=np.float64)
    b = np.asarray(proba_b, dtype=np.float64)
    if not (len(truth) == len(a) == len(b)) or len(truth) == 0:
        raise DataError(
            f"proba: expected rows as many as y ({len(truth)}), got {len(a)} and {len(b)}"
        )
    estimate = metric.better(metric.compute(truth, b, classes), metric.compute(truth, a, classes))
    rng = np.random.default_rng(seed)
    gains: list[float] = []
    undefined = 0
    n = len(truth)
    for _ in range(resamples):
        rows = rng.integers(0, n, n)
        gain = metric.better(
            metric.compute(truth[rows], b[rows], classes),
            metric.compute(truth[rows], a[rows], classes),
        )
        if np.isnan(gain):
            undefined += 1
        else:
            gains.append(gain)
    if not gains:
        nan = float("nan")
        return Interval(estimate, nan, nan, confidence, resamples, seed, undefined)
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(np.asarray(gains), [tail, 100.0 - tail])
    return Interval(float(estimate), float(low), float(high), confidence, resamples, seed, undefined)


def mcnemar(y: NDArray[Any], predicted_a: NDArray[Any], predicted_b: NDArray[Any]) -> McNemarResult:
    """Exact (binomial) McNemar test of two classifiers' predicted labels against ``y``."""
    truth = np.asarray(y)
    right_a = np.asarray(predicted_a) == truth
    right_b = np.asarray(predicted_b) == truth
    only_a = int((right_a & ~right_b).sum())
    only_b = int((right_b & ~right_a).sum())
    discordant = only_a + only_b
    if discordant == 0:
        return McNemarResult(only_a, only_b, 1.0, 1.0)
    two_sided = binomtest(only_b, discordant, 0.5, alternative="two-sided").pvalue
    greater = binomtest(only_b, discordant, 0.5, alternative="greater").pvalue
    return McNemarResult(only_a, only_b, float(two_sided), float(greater))


__all__ = ["Interval", "McNemarResult", "mcnemar", "paired_bootstrap"]
