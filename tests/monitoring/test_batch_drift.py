"""Windowed drift tests: KS equal to scipy's, chi-squared, PSI, Wasserstein, BH control of false alerts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lifelong.errors import ConfigError, DataError
from lifelong.monitoring.batch import FeatureDriftTest
from lifelong.monitoring.importance import drifted_importance, feature_weights
from lifelong.monitoring.persistence import Persistence
from lifelong.monitoring.statistics import (
    chi2_counts,
    ks_2samp_sorted,
    normed_wasserstein,
    psi,
)


@pytest.mark.parametrize(("n1", "n2", "ties"), [(40, 30, False), (9_000, 11_000, True), (20_000, 50_000, False), (60_000, 60_000, True)])
def test_ks_equals_scipy_exactly(n1: int, n2: int, ties: bool) -> None:
    rng = np.random.default_rng(n1 + n2)
    a, b = rng.normal(size=n1), rng.normal(0.02, 1.0, size=n2)
    if ties:
        a, b = np.round(a, 1), np.round(b, 1)
    ours = ks_2samp_sorted(np.sort(a), b)
    theirs = stats.ks_2samp(a, b)
    assert ours == (float(theirs.statistic), float(theirs.pvalue))


def test_distances_and_chi2_behave() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=5000)
    assert psi(a, rng.normal(size=5000)) < 0.02 < 0.2 < psi(a, rng.normal(1.0, 1.0, size=5000))
    assert normed_wasserstein(a, a + 0.5) == pytest.approx(0.5 / np.std(a))
    assert chi2_counts([500, 500], [500, 500])[1] == pytest.approx(1.0)
    assert chi2_counts([500, 500], [300, 700])[1] < 1e-10
    assert chi2_counts([10, 0], [5, 0]) == (0.0, 1.0)  # one category: nothing to test


def _frames(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.DataFrame:
    data = {f"x{i}": rng.normal(shift if i == 0 else 0.0, 1.0, size=n) for i in range(20)}
    data["c"] = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    return pd.DataFrame(data)


def test_each_test_finds_the_shifted_feature_only() -> None:
    rng = np.random.default_rng(1)
    reference = _frames(rng, 4000)
    current = _frames(rng, 3000, shift=0.6).assign(c=rng.choice(["a", "b", "c"], size=3000, p=[0.2, 0.3, 0.5]))
    numeric = [f"x{i}" for i in range(20)]
    for numeric_test, categorical_test in [("ks", "chi2"), ("psi", "psi"), ("wasserstein", "chi2")]:
        tester = FeatureDriftTest(numeric_test=numeric_test, categorical_test=categorical_test)  # type: ignore[arg-type]
        report = tester.fit(reference, numeric=numeric, categorical=["c"]).test(current)
        assert set(report.drifted) == {"x0", "c"}, (numeric_test, report.drifted)
        assert report.get("x0").test == numeric_test and report.to_dict()["share"] == pytest.approx(2 / 21)


def test_benjamini_hochberg_bounds_false_alerts_across_features() -> None:
    """On stationary data, BH keeps windows with any false discovery near alpha; per-test levels do not."""
    rng = np.random.default_rng(2)
    reference = _frames(rng, 2000)
    numeric = [f"x{i}" for i in range(20)]
    corrected = FeatureDriftTest(alpha=0.05).fit(reference, numeric=numeric)
    raw = FeatureDriftTest(alpha=0.05, correction="none").fit(reference, numeric=numeric)
    windows = [_frames(rng, 400) for _ in range(50)]
    with_bh = sum(bool(corrected.test(w).drifted) for w in windows) / len(windows)
    without = sum(bool(raw.test(w).drifted) for w in windows) / len(windows)
    assert with_bh <= 0.1 and without >= 0.4, (with_bh, without)


def test_importance_weighting_and_persistence() -> None:
    from lifelong.features import FeaturePipeline

    features = FeaturePipeline(numeric=("x0", "x1"), categorical={"c": ("a", "b", "c")})
    weights = feature_weights(features, np.array([1.0, 7.0, 1.0, 0.5, 0.5]))
    assert weights == pytest.approx({"x0": 0.1, "x1": 0.7, "c": 0.2})
    assert drifted_importance(weights, ["x0"]) == pytest.approx(0.1)
    persistence = Persistence(k=3)
    assert [persistence.update(flag) for flag in [True, True, False, True, True, True]] == [False] * 5 + [True]
    with pytest.raises(ConfigError, match="k: expected an integer >= 1, got 0"):
        Persistence(k=0)


def test_bad_use_names_the_problem() -> None:
    with pytest.raises(ConfigError, match="alpha: expected a level in \\(0, 1\\)"):
        FeatureDriftTest(alpha=5)
    with pytest.raises(ConfigError, match="expected fit\\(\\) before test\\(\\)"):
        FeatureDriftTest().test(pd.DataFrame({"x": [1.0]}))
    tester = FeatureDriftTest().fit(pd.DataFrame({"x": [1.0, 2.0]}), numeric=["x"])
    with pytest.raises(DataError, match="current: expected columns \\['x'\\]"):
        tester.test(pd.DataFrame({"y": [1.0]}))


def test_a_long_stationary_stream_raises_no_persistent_alert() -> None:
    """200,000 stationary events in 200 windows x 20 features: BH at 0.01 with persistence 2 never alerts."""
    rng = np.random.default_rng(3)
    numeric = [f"x{i}" for i in range(20)]
    reference = pd.DataFrame(rng.normal(size=(12_000, 20)), columns=numeric)
    tester = FeatureDriftTest(alpha=0.01).fit(reference, numeric=numeric)
    persistence = Persistence(k=2)
    flagged = alerts = 0
    for _ in range(200):
        drifted = bool(tester.test(pd.DataFrame(rng.normal(size=(1000, 20)), columns=numeric)).drifted)
        flagged += drifted
        alerts += persistence.update(drifted)
    assert alerts == 0 and flagged <= 8, (alerts, flagged)  # about alpha x 200 = 2 single windows expected
