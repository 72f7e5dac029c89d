"""Always-valid p-values for the difference of two means: the mixture SPRT of Johari et al.

With arm means ``m_a, m_b`` over ``n_a, n_b`` observations, variances ``s_a, s_b`` and
``V = s_a / n_a + s_b / n_b``, the mixture likelihood ratio against ``theta = m_b - m_a = 0``,
mixing over ``theta ~ N(0, tau^2)``, is

    Lambda = sqrt(V / (V + tau^2)) * exp(tau^2 * theta^2 / (2 V (V + tau^2)))

and the always-valid p-value is the running minimum of ``min(1, 1 / Lambda)``. Stopping the
first time it falls below ``alpha`` keeps the type I error at most ``alpha`` however often
the test is looked at (Johari, Koomen, Pekelis and Walsh, "Always valid inference", 2017/2022).

Examples
--------
>>> test = MixtureSPRT(tau=0.05, alpha=0.05)
>>> test.update(mean_a=0.10, var_a=0.09, n_a=200, mean_b=0.10, var_b=0.09, n_b=200)
1.0
>>> test.update(mean_a=0.10, var_a=0.09, n_a=20000, mean_b=0.14, var_b=0.12, n_b=20000) < 0.05
True
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from lifelong.errors import ConfigError

_VARIANCE_FLOOR = 1e-12


def log_mixture_ratio(theta: NDArray[np.float64] | float, variance: NDArray[np.float64] | float, tau: float) -> NDArray[np.float64]:
    """``log Lambda`` for estimates ``theta`` of variance ``variance`` (arrays broadcast)."""
    v = np.maximum(np.asarray(variance, dtype=np.float64), _VARIANCE_FLOOR)
    t2 = tau * tau
    th = np.asarray(theta, dtype=np.float64)
    return np.asarray(0.5 * np.log(v / (v + t2)) + t2 * th * th / (2.0 * v * (v + t2)), dtype=np.float64)


def always_valid_p_values(
    theta: NDArray[np.float64], variance: NDArray[np.float64], tau: float
) -> NDArray[np.float64]:
    """The always-valid p-value after each step of a sequence of estimates (running minimum)."""
    raw = np.minimum(1.0, np.exp(-log_mixture_ratio(theta, variance, tau)))
    return np.asarray(np.minimum.accumulate(raw, axis=-1), dtype=np.float64)


class MixtureSPRT:
    """The running always-valid p-value of one A/B test.

    Parameters
    ----------
    tau
        Standard deviation of the normal mixture over the effect: the size of effect the test is
        most sensitive to.
    alpha
        Significance level at which :attr:`significant` turns true.
    """

    def __init__(self, *, tau: float = 0.05, alpha: float = 0.05) -> None:
        if not tau > 0:
            raise ConfigError(f"tau: expected a number > 0, got {tau!r}")
        if not 0 < alpha < 0.5:
            raise ConfigError(f"alpha: expected a number in (0, 0.5), got {alpha!r}")
        self.tau = float(tau)
        self.alpha = float(alpha)
        self.p_value = 1.0
        self.theta = 0.0

    def update(self, *, mean_a: float, var_a: float, n_a: int, mean_b: float, var_b: float, n_b: int) -> float:
        """Fold in the current arm summaries; return the always-valid p-value."""
        if n_a < 2 or n_b < 2 or math.isnan(var_a) or math.isnan(var_b):
            return self.p_value
        self.theta = mean_b - mean_a
        variance = var_a / n_a + var_b / n_b
        ratio = float(np.exp(-log_mixture_ratio(self.theta, variance, self.tau)))
        self.p_value = min(self.p_value, 1.0, ratio)
        return self.p_value

    @property
    def significant(self) -> bool:
        return self.p_value <= self.alpha


__all__ = ["MixtureSPRT", "always_valid_p_values", "log_mixture_ratio"]
