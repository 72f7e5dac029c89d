"""Training mode and data windows."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field

from lifelong.config.base import Duration, Strict


class TrainingConfig(Strict):
    """How versions are trained: from scratch or from the champion, on which window."""

    mode: Literal["stateless", "stateful"] = "stateful"
    window: Duration = timedelta(days=7)
    holdout: Duration = timedelta(hours=12)
    min_rows: int = Field(default=200, gt=0)
    replay_fraction: float = Field(default=0.0, ge=0, le=1)


__all__ = ["TrainingConfig"]
