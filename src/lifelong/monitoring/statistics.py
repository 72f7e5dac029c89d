"""Two-sample statistics of one feature: KS, chi-squared, PSI and normalized Wasserstein.

The KS test gives the same statistic and p-value as :func:`scipy.stats.ks_2samp` (method
``auto``) but takes the reference already sorted, so a reference fitted once is not sorted
again for every window, and evaluates the two empirical CDFs with four sorted look-ups.

Examples
--------
>>> import numpy as np
>>> from scipy import stats
>>> rng = np.random.default_rng(0)
>>> a, b = rng.normal(size=300), rng.normal(0.5, size=200)
>>> mine = ks_2samp_sorted(np.sort(a), b)
>>> theirs = stats.ks_2samp(a, b)
>>> bool(mine[0] == theirs.statistic and mine[1] == theirs.pvalue)
True
>>> round(psi(np.arange(1000.0), np.arange(1000.0)), 6)
0.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from lifelong.errors import DataError

FloatArray = NDArray[np.float64]
_SCIPY_EXACT_MAX_N = 10_000  # scipy's MAX_AUTO_N: above it ``auto`` uses the asymptotic law
_PSI_FLOOR = 1e-4


def ks_statistic_sorted(reference: FloatArray, current: FloatArray) -> float:
    """The two-sided KS statistic of two sorted samples (scipy's arithmetic, exactly)."""
    n1, n2 = len(reference), len(current)
    at_ref = np.searchsorted(reference, reference, side="right") / n1 - np.searchsorted(current, reference, side="right") / n2
    at_cur = np.searchsorted(reference, current, side="right") / n1 - np.searchsorted(current, current, side="right") / n2
    largest = max(float(at_ref.max()), float(at_cur.max()))
    smallest = min(float(at_ref.min()), float(at_cur.min()))
    return max(largest, float(np.clip(-smallest, 0, 1)))


def ks_2samp_sorted(reference_sorted: FloatArray, current: FloatArray) -> tuple[float, float]:
    """KS statistic and p-value of ``current`` against an already sorted reference.

    Equal to ``scipy.stats.ks_2samp(reference, current)`` (two-sided, method ``auto``): exact
    p-values up to 10,000 rows per side (scipy computes them), Smirnov's asymptotic law above.
    """
    n1, n2 = len(reference_sorted), len(current)
    if n1 == 0 or n2 == 0:
        raise DataError(f"ks: expected non-empty samples, got {n1} reference and {n2} current values")
    if max(n1, n2) <= _SCIPY_EXACT_MAX_N:
        result = stats.ks_2samp(reference_sorted, current)
        return float(result.statistic), float(result.pvalue)
    d = ks_statistic_sorted(reference_sorted, np.sort(current))
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    p_value = float(np.clip(stats.kstwo.sf(d, np.round(en)), 0, 1))
    return d, p_value


def chi2_counts(reference: Sequence[int], current: Sequence[int]) -> tuple[float, float]:
    """Chi-squared test of homogeneity of two count vectors over the same categories."""
    table = np.array([reference, current], dtype=np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0
    result = stats.chi2_contingency(table, correction=False)
    return float(result.statistic), float(result.pvalue)


def quantile_edges(reference: FloatArray, bins: int) -> FloatArray:
    """Inner bin edges at the reference's quantiles (duplicates removed)."""
    if len(reference) == 0:
        return np.array([], dtype=np.float64)
    inner = np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1])
    return np.unique(inner)


def psi_from_shares(reference: FloatArray, current: FloatArray) -> float:
    """Population stability index of two share vectors (shares floored at 1e-4)."""
    ref = np.clip(reference, _PSI_FLOOR, None)
    cur = np.clip(current, _PSI_FLOOR, None)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def binned_shares(values: FloatArray, edges: FloatArray) -> FloatArray:
    """Share of ``values`` in each bin delimited by the inner ``edges``."""
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    total = counts.sum()
    return counts / total if total else counts.astype(np.float64)


def psi(reference: FloatArray, current: FloatArray, *, bins: int = 10) -> float:
    """Population stability index of a numeric feature over reference-quantile bins."""
    edges = quantile_edges(np.asarray(reference, dtype=np.float64), bins)
    return psi_from_shares(binned_shares(np.asarray(reference, dtype=np.float64), edges), binned_shares(np.asarray(current, dtype=np.float64), edges))


def normed_wasserstein(reference: FloatArray, current: FloatArray) -> float:
    """Wasserstein distance divided by the reference's standard deviation (scale-free)."""
    distance = float(stats.wasserstein_distance(reference, current))
    scale = float(np.std(reference))
    if scale == 0.0:
        return 0.0 if distance == 0.0 else float("inf")
    return distance / scale


__all__ = [
    "binned_shares",
    "chi2_counts",
    "ks_2samp_sorted",
    "ks_statistic_sorted",
    "normed_wasserstein",
    "psi",
    "psi_from_shares",
    "quantile_edges",
]
