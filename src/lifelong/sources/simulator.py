"""A seeded click-through simulator: impressions, delayed clicks, gradual drift, one sudden shift.

Each impression has numeric features (``relevance``, ``affinity``, ``price``, ``position``) and a
categorical ``device``. The probability of a click follows a logistic model whose weights drift
slowly every day; on ``shift_day`` the effect of price and device changes abruptly (a
competitor's launch, say). Clicks arrive after a log-normal delay (median about 4 minutes), so
the natural label of an impression is known only after its label window closes.

Examples
--------
>>> from datetime import datetime, timezone
>>> sim = ClickSimulator(start=datetime(2024, 1, 1, tzinfo=timezone.utc), impressions_per_day=240, seed=1)
>>> hour = sim.hour(0)
>>> sorted(hour.impressions.columns)[:4]
['affinity', 'device', 'event_id', 'event_time']
>>> bool((hour.clicks["event_time"] >= hour.clicks["impression_time"]).all())
True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from lifelong.clock import utc
from lifelong.errors import ConfigError

DEVICES = ("desktop", "mobile", "tablet")
NUMERIC = ("relevance", "affinity", "price", "position")
KEY = "impression_id"


@dataclass(frozen=True)
class SimulatedHour:
    """One hour of traffic: impressions to score, and the clicks they will receive."""

    start: datetime
    impressions: pd.DataFrame
    clicks: pd.DataFrame
    click_probability: np.ndarray


class ClickSimulator:
    """Deterministic stream of impressions and clicks for a given seed."""

    def __init__(
        self,
        *,
        start: datetime,
        impressions_per_day: int = 1200,
        shift_day: int = 18,
        seed: int = 7,
    ) -> None:
        if impressions_per_day < 24:
            raise ConfigError(
                f"impressions_per_day: expected at least 24, got {impressions_per_day}"
            )
        self.start = utc(start)
        self.impressions_per_day = impressions_per_day
        self.shift_day = shift_day
        self.seed = seed

    def weights(self, day: float) -> tuple[np.ndarray, dict[str, float], float]:
        """Feature weights, device effects and intercept on ``day`` (fractional days allowed)."""
        drift = day / 30.0
        w = np.array([1.6 - 0.6 * drift, 1.0 + 0.8 * drift, -0.8 + 0.4 * drift, -0.6])
        device = {"desktop": 0.3, "mobile": -0.2, "tablet": 0.0}
        if day >= self.shift_day:
            w = np.array(
                [w[0] * 0.6, w[1], 1.4, -0.6]
            )  # price now attracts clicks instead of repelling
            device = {"desktop": -0.6, "mobile": 0.7, "tablet": 0.1}
        return w, device, -0.4

    def hour(self, index: int) -> SimulatedHour:
        """Traffic of hour ``index`` since ``start`` (same index, same rows)."""
        rng = np.random.default_rng([self.seed, index])
        begin = self.start + timedelta(hours=index)
        base = self.impressions_per_day / 24.0
        n = int(rng.poisson(base * (0.6 + 0.8 * np.sin(np.pi * ((index % 24) / 24.0)) ** 2)))
        offsets = np.sort(rng.uniform(0, 3600, size=n))
        times = pd.to_datetime([begin + timedelta(seconds=float(s)) for s in offsets], utc=True)
        numeric = rng.normal(size=(n, len(NUMERIC)))
        devices = rng.choice(DEVICES, size=n, p=[0.45, 0.45, 0.10])
        day = index / 24.0
        w, device_effect, intercept = self.weights(day)
        logit = intercept + numeric @ w + np.array([device_effect[d] for d in devices])
        probability = 1.0 / (1.0 + np.exp(-logit))
        clicked = rng.uniform(size=n) < probability
        ids = [f"imp-{index:05d}-{i:04d}" for i in range(n)]
        impressions = pd.DataFrame({"event_id": ids, "event_time": times, KEY: ids})
        for column, name in enumerate(NUMERIC):
            impressions[name] = numeric[:, column]
        impressions["device"] = devices
        delays = rng.lognormal(mean=np.log(240.0), sigma=1.0, size=n)
        click_rows = np.flatnonzero(clicked)
        click_times = [times[i] + pd.Timedelta(seconds=float(delays[i])) for i in click_rows]
        clicks = pd.DataFrame(
            {
                "event_id": [f"click-{ids[i]}" for i in click_rows],
                "event_time": pd.to_datetime(click_times, utc=True)
                if len(click_rows)
                else pd.to_datetime([], utc=True),
                KEY: [ids[i] for i in click_rows],
                "impression_time": times[click_rows]
                if len(click_rows)
                else pd.to_datetime([], utc=True),
            }
        )
        return SimulatedHour(begin, impressions, clicks, probability)


__all__ = ["DEVICES", "KEY", "NUMERIC", "ClickSimulator", "SimulatedHour"]
