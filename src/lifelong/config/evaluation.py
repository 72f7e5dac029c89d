"""Offline evaluation: metric and gates."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from lifelong.config.base import Strict


class NotWorseGateConfig(Strict):
    """Reject a challenger worse than the champion by more than ``tolerance``."""

    kind: Literal["not_worse"]
    tolerance: float = Field(default=0.0, ge=0)


class MinimumRowsGateConfig(Strict):
    """Reject an evaluation made on too few held-out rows."""

    kind: Literal["min_rows"]
    rows: int = Field(default=100, gt=0)


GateConfig = Annotated[NotWorseGateConfig | MinimumRowsGateConfig, Field(discriminator="kind")]


class EvaluationConfig(Strict):
    """Metric and gates of the offline comparison against the champion."""

    metric: Literal["roc_auc", "accuracy", "log_loss", "f1"] = "roc_auc"
    gates: tuple[GateConfig, ...] = (NotWorseGateConfig(kind="not_worse", tolerance=0.0),)


__all__ = ["EvaluationConfig", "GateConfig", "MinimumRowsGateConfig", "NotWorseGateConfig"]
