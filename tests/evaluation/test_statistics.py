"""Paired statistics of the gates: DeLong against a hand-derived reference, McNemar, bootstrap, ECE."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

from lifelong.errors import DataError
from lifelong.evaluation import delong_test, expected_calibration_error, get_metric, mcnemar, paired_bootstrap


def delong_by_definition(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """DeLong et al. (1988) straight from the definition: O(m n) placement values."""
    pos, neg = y == 1, y == 0

    def components(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        psi = (s[pos][:, None] > s[neg][None, :]) + 0.5 * (s[pos][:, None] == s[neg][None, :])
        return psi.mean(axis=1), psi.mean(axis=0)

    v10a, v01a = components(a)
    v10b, v01b = components(b)
    m, n = pos.sum(), neg.sum()
    s10, s01 = np.cov(np.vstack([v10a, v10b])), np.cov(np.vstack([v01a, v01b]))
    var = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / m + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / n
    return float(v10a.mean()), float(v10b.mean()), float(var)


def test_delong_matches_the_hand_derived_reference() -> None:
    # Placements worked by hand: a has V10 = [1, 1, 1/2], V01 = [2/3, 1] (AUC 5/6);
    # b has V10 = [1, 1/2, 1/2], V01 = [1/3, 1] (AUC 2/3). Then S10 = [[1/12, 1/24], [1/24, 1/12]],
    # S01 = [[1/18, 1/9], [1/9, 2/9]], Var(b - a) = (1/12) / 3 + (1/18) / 2 = 1/18, z = -1/sqrt(2).
    y = np.array([1, 1, 1, 0, 0])
    a = np.array([0.9, 0.8, 0.35, 0.4, 0.1])
    b = np.array([0.7, 0.5, 0.3, 0.6, 0.2])
    result = delong_test(y, a, b)
    assert result.auc_a == pytest.approx(5 / 6) and result.auc_b == pytest.approx(2 / 3)
    assert result.std_error == pytest.approx(math.sqrt(1 / 18))
    assert result.z == pytest.approx(-1 / math.sqrt(2))
    assert result.p_value == pytest.approx(2 * norm.sf(1 / math.sqrt(2)))
    assert result.p_value == pytest.approx(0.4795, abs=1e-4)


def test_delong_agrees_with_the_definition_and_sklearn_with_ties() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    a = np.round(y * 0.5 + rng.normal(size=300), 1)  # rounded: many ties
    b = np.round(y * 0.8 + rng.normal(size=300), 1)
    result = delong_test(y, a, b)
    auc_a, auc_b, var = delong_by_definition(y, a, b)
    assert result.auc_a == pytest.approx(auc_a) == pytest.approx(roc_auc_score(y, a))
    assert result.auc_b == pytest.approx(auc_b) == pytest.approx(roc_auc_score(y, b))
    assert result.std_error**2 == pytest.approx(var)


def test_delong_is_calibrated_under_the_null_and_powerful_under_an_effect() -> None:
    rng = np.random.default_rng(11)
    rejections, detections = 0, 0
    for _ in range(300):
        y = rng.integers(0, 2, 200)
        signal = y + rng.normal(size=200)
        same_a = signal + rng.normal(scale=1.0, size=200)
        same_b = signal + rng.normal(scale=1.0, size=200)
        rejections += delong_test(y, same_a, same_b).p_value < 0.05
        detections += delong_test(y, same_a, signal).p_value < 0.05
    assert 0.02 <= rejections / 300 <= 0.09
    assert detections / 300 > 0.5


def test_delong_refuses_a_single_class() -> None:
    with pytest.raises(DataError, match="at least 2 positive and 2 negative"):
        delong_test(np.ones(10), np.zeros(10), np.zeros(10))


def test_mcnemar_is_the_exact_binomial_on_discordant_rows() -> None:
    y = np.ones(40, dtype=int)
    a = np.ones(40, dtype=int)
    b = np.ones(40, dtype=int)
    a[:10] = 0  # only b is right on 10 rows
    b[10:12] = 0  # only a is right on 2 rows
    result = mcnemar(y, a, b)
    assert (result.only_a, result.only_b) == (2, 10)
    assert result.p_value == pytest.approx(2 * (1 + 12 + 66) / 4096)
    assert result.p_b_better == pytest.approx((1 + 12 + 66) / 4096)
    assert mcnemar(y, a, a).p_value == 1.0


def test_paired_bootstrap_is_seeded_and_separates_real_gains() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    noisy = np.clip(0.5 + 0.3 * (y - 0.5) + rng.normal(scale=0.2, size=400), 0.01, 0.99)
    sharp = np.clip(0.5 + 0.8 * (y - 0.5) + rng.normal(scale=0.1, size=400), 0.01, 0.99)
    as_proba = lambda p: np.column_stack([1 - p, p])  # noqa: E731
    metric, classes = get_metric("roc_auc"), np.array([0, 1])
    gain = paired_bootstrap(y, as_proba(noisy), as_proba(sharp), classes, metric, resamples=200, seed=5)
    again = paired_bootstrap(y, as_proba(noisy), as_proba(sharp), classes, metric, resamples=200, seed=5)
    assert gain == again and gain.low > 0 and gain.low <= gain.estimate <= gain.high
    same = paired_bootstrap(y, as_proba(noisy), as_proba(noisy), classes, metric, resamples=50, seed=5)
    assert same.low == same.high == same.estimate == 0.0


def test_ece_is_small_when_calibrated_and_large_when_not() -> None:
    rng = np.random.default_rng(2)
    p = rng.uniform(size=20_000)
    y = (rng.uniform(size=20_000) < p).astype(int)
    calibrated = np.column_stack([1 - p, p])
    assert expected_calibration_error(y, calibrated, np.array([0, 1])) < 0.02
    squashed = np.column_stack([1 - p**3, p**3])
    assert expected_calibration_error(y, squashed, np.array([0, 1])) > 0.1
