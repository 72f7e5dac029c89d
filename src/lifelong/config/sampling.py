"""``training.sampling``: how labeled rows are sampled and weighted before training.

A leaf module (it imports only :mod:`lifelong.config.base`), so ``config/training.py`` can
import it without an import cycle; :mod:`lifelong.training.sampling` applies it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from lifelong.config.base import Duration, Strict

Balance = Literal["none", "downsample", "upsample"]


class SamplingConfig(Strict):
    """Rebalancing by class or key, time-decay weights, and a replay reservoir.

    ``balance`` equalizes the groups of column ``by`` (``label`` for classes, or a key such as
    ``user_id``) to ``per_group`` rows each (default: the smallest group when downsampling,
    the largest when upsampling). ``half_life`` adds a ``sample_weight`` column that halves
    every half-life of age. ``reservoir_size`` > 0 keeps a uniform sample of every row trained
    on (Algorithm R) and replays it into each update. ``seed`` makes all of it repeatable.

    Examples
    --------
    >>> SamplingConfig(balance="downsample", by="label", half_life="3d").half_life.days
    3
    """

    balance: Balance = "none"
    by: str = Field(default="label", min_length=1)
    per_group: int | None = Field(default=None, gt=0)
    half_life: Duration | None = None
    reservoir_size: int = Field(default=0, ge=0, le=10_000_000)
    seed: int = 0


__all__ = ["Balance", "SamplingConfig"]
