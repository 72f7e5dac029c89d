"""Windowed drift tests per feature, with false discoveries controlled across features.

:class:`FeatureDriftTest` is fitted once on a reference window (the champion's training
rows) and then compares any number of current windows with it: KS (numeric) and chi-squared
(categorical) tests give p-values, adjusted across features with Benjamini-Hochberg
(:func:`scipy.stats.false_discovery_control`) so that testing twenty features does not
multiply false alarms by twenty; PSI and normalized Wasserstein give distances compared with a
threshold.

Examples
--------
>>> import numpy as np
>>> import pandas as pd
>>> rng = np.random.default_rng(0)
>>> reference = pd.DataFrame({"x": rng.normal(size=2000), "y": rng.normal(size=2000),
...                           "c": rng.choice(["a", "b"], size=2000)})
>>> current = reference.assign(x=rng.normal(0.3, 1, size=2000))
>>> test = FeatureDriftTest(alpha=0.01).fit(reference, numeric=["x", "y"], categorical=["c"])
>>> report = test.test(current)
>>> report.drifted
('x',)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Self

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from lifelong.errors import ConfigError, DataError
from lifelong.monitoring.statistics import (
    binned_shares,
    chi2_counts,
    ks_2samp_sorted,
    normed_wasserstein,
    psi_from_shares,
    quantile_edges,
)

NumericTest = Literal["ks", "psi", "wasserstein"]
CategoricalTest = Literal["chi2", "psi"]
Correction = Literal["bh", "none"]
MISSING = "<missing>"


@dataclass(frozen=True)
class FeatureDrift:
    """The test of one feature in one window."""

    feature: str
    test: str
    statistic: float
    p_value: float | None
    adjusted_p_value: float | None
    threshold: float
    drifted: bool
    reference_rows: int
    current_rows: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "test": self.test,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "adjusted_p_value": self.adjusted_p_value,
            "threshold": self.threshold,
            "drifted": self.drifted,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
        }


@dataclass(frozen=True)
class DriftReport:
    """Every feature's test in one window, after the correction across features."""

    features: tuple[FeatureDrift, ...]
    alpha: float
    correction: str

    @property
    def drifted(self) -> tuple[str, ...]:
        return tuple(f.feature for f in self.features if f.drifted)

    @property
    def share(self) -> float:
        """Fraction of features that drifted."""
        return len(self.drifted) / len(self.features) if self.features else 0.0

    def get(self, feature: str) -> FeatureDrift:
        for found in self.features:
            if found.feature == feature:
                return found
        raise ConfigError(f"feature: expected one of {[f.feature for f in self.features]}, got {feature!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "correction": self.correction,
            "drifted": list(self.drifted),
            "share": self.share,
            "features": [f.to_dict() for f in self.features],
        }


def _category_labels(column: pd.Series) -> NDArray[Any]:
    return np.asarray(column.astype("object").where(column.notna(), MISSING).astype(str).to_numpy(), dtype=object)


class FeatureDriftTest:
    """Compare windows with a fitted reference, feature by feature.

    Parameters
    ----------
    numeric_test
        ``ks`` (p-value), ``psi`` or ``wasserstein`` (normalized by the reference's standard
        deviation; distances against ``psi_threshold`` / ``wasserstein_threshold``).
    categorical_test
        ``chi2`` (p-value) or ``psi``.
    alpha
        Level of the p-value tests: with ``correction="bh"`` the false discovery rate across
        the features of a window, else the level of each test.
    correction
        ``bh`` (Benjamini-Hochberg) or ``none``.
    bins
        Quantile bins of numeric PSI.
    """

    def __init__(
        self,
        *,
        numeric_test: NumericTest = "ks",
        categorical_test: CategoricalTest = "chi2",
        alpha: float = 0.01,
        correction: Correction = "bh",
        psi_threshold: float = 0.2,
        wasserstein_threshold: float = 0.1,
        bins: int = 10,
    ) -> None:
        if numeric_test not in ("ks", "psi", "wasserstein"):
            raise ConfigError(f"numeric_test: expected 'ks', 'psi' or 'wasserstein', got {numeric_test!r}")
        if categorical_test not in ("chi2", "psi"):
            raise ConfigError(f"categorical_test: expected 'chi2' or 'psi', got {categorical_test!r}")
        if correction not in ("bh", "none"):
            raise ConfigError(f"correction: expected 'bh' or 'none', got {correction!r}")
        if not 0 < alpha < 1:
            raise ConfigError(f"alpha: expected a level in (0, 1) such as 0.01, got {alpha!r}")
        for name, value in (("psi_threshold", psi_threshold), ("wasserstein_threshold", wasserstein_threshold)):
            if not value > 0:
                raise ConfigError(f"{name}: expected a number > 0, got {value!r}")
        if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
            raise ConfigError(f"bins: expected an integer >= 2, got {bins!r}")
        self.numeric_test: NumericTest = numeric_test
        self.categorical_test: CategoricalTest = categorical_test
        self.alpha = float(alpha)
        self.correction: Correction = correction
        self.psi_threshold = float(psi_threshold)
        self.wasserstein_threshold = float(wasserstein_threshold)
        self.bins = bins
        self._numeric: dict[str, NDArray[np.float64]] = {}
        self._edges: dict[str, NDArray[np.float64]] = {}
        self._categories: dict[str, tuple[list[str], NDArray[np.int64]]] = {}
        self._reference_rows = 0

    @property
    def features(self) -> tuple[str, ...]:
        return (*self._numeric, *self._categories)

    def fit(self, reference: pd.DataFrame, *, numeric: Sequence[str], categorical: Sequence[str] = ()) -> Self:
        """Remember the reference's distributions (sorted values, bins, category counts)."""
        absent = [name for name in (*numeric, *categorical) if name not in reference.columns]
        if absent:
            raise DataError(f"reference: expected columns {absent}, got columns {list(reference.columns)}")
        if not (*numeric, *categorical):
            raise ConfigError("numeric/categorical: expected at least one feature to test, got none")
        self._numeric, self._edges, self._categories = {}, {}, {}
        for name in numeric:
            values = pd.to_numeric(reference[name], errors="coerce").to_numpy(dtype=np.float64)
            values = np.sort(values[np.isfinite(values)])
            self._numeric[name] = values
            if self.numeric_test == "psi":
                self._edges[name] = quantile_edges(values, self.bins)
        for name in categorical:
            labels, counts = np.unique(_category_labels(reference[name]), return_counts=True)
            self._categories[name] = ([str(label) for label in labels], counts.astype(np.int64))
        self._reference_rows = len(reference)
        return self

    def test(self, current: pd.DataFrame) -> DriftReport:
        """Test every fitted feature of ``current`` against the reference."""
        if not self.features:
            raise ConfigError("FeatureDriftTest: expected fit() before test(), got an unfitted test")
        absent = [name for name in self.features if name not in current.columns]
        if absent:
            raise DataError(f"current: expected columns {absent}, got columns {list(current.columns)}")
        raw: list[tuple[str, str, float, float | None, float, int, int]] = []
        for name, reference in self._numeric.items():
            values = pd.to_numeric(current[name], errors="coerce").to_numpy(dtype=np.float64)
            values = values[np.isfinite(values)]
            raw.append((name, *self._numeric_test(name, reference, values), len(reference), len(values)))
        for name, (labels, counts) in self._categories.items():
            values = _category_labels(current[name])
            raw.append((name, *self._categorical_test(labels, counts, values), int(counts.sum()), len(values)))
        return self._report(raw)

    def _numeric_test(self, name: str, reference: NDArray[np.float64], values: NDArray[np.float64]) -> tuple[str, float, float | None, float]:
        if len(reference) == 0 or len(values) == 0:
            return self.numeric_test, 0.0, None if self.numeric_test != "ks" else 1.0, self._threshold(self.numeric_test)
        if self.numeric_test == "ks":
            statistic, p_value = ks_2samp_sorted(reference, values)
            return "ks", statistic, p_value, self.alpha
        if self.numeric_test == "psi":
            edges = self._edges[name]
            return "psi", psi_from_shares(binned_shares(reference, edges), binned_shares(values, edges)), None, self.psi_threshold
        return "wasserstein", normed_wasserstein(reference, values), None, self.wasserstein_threshold

    def _categorical_test(self, labels: list[str], counts: NDArray[np.int64], values: NDArray[Any]) -> tuple[str, float, float | None, float]:
        seen, seen_counts = np.unique(values, return_counts=True)
        universe = sorted(set(labels) | {str(v) for v in seen})
        ref = dict(zip(labels, counts.tolist(), strict=True))
        cur = dict(zip((str(v) for v in seen), seen_counts.tolist(), strict=True))
        ref_counts = [ref.get(label, 0) for label in universe]
        cur_counts = [cur.get(label, 0) for label in universe]
        if self.categorical_test == "chi2":
            statistic, p_value = chi2_counts(ref_counts, cur_counts)
            return "chi2", statistic, p_value, self.alpha
        ref_share = np.asarray(ref_counts, dtype=np.float64) / max(sum(ref_counts), 1)
        cur_share = np.asarray(cur_counts, dtype=np.float64) / max(sum(cur_counts), 1)
        return "psi", psi_from_shares(ref_share, cur_share), None, self.psi_threshold

    def _threshold(self, test: str) -> float:
        return {"ks": self.alpha, "chi2": self.alpha, "psi": self.psi_threshold}.get(test, self.wasserstein_threshold)

    def _report(self, raw: list[tuple[str, str, float, float | None, float, int, int]]) -> DriftReport:
        tested = [index for index, row in enumerate(raw) if row[3] is not None]
        adjusted: dict[int, float] = {}
        if tested:
            p_values = np.array([raw[index][3] for index in tested], dtype=np.float64)
            if self.correction == "bh":
                p_values = np.asarray(stats.false_discovery_control(p_values, method="bh"), dtype=np.float64)
            adjusted = {index: float(value) for index, value in zip(tested, p_values, strict=True)}
        features = []
        for index, (name, test, statistic, p_value, threshold, ref_rows, cur_rows) in enumerate(raw):
            corrected = adjusted.get(index)
            drifted = corrected < self.alpha if corrected is not None else statistic > threshold
            features.append(FeatureDrift(name, test, float(statistic), p_value, corrected, threshold, bool(drifted), ref_rows, cur_rows))
        return DriftReport(tuple(features), self.alpha, self.correction)


__all__ = ["MISSING", "CategoricalTest", "Correction", "DriftReport", "FeatureDrift", "FeatureDriftTest", "NumericTest"]
