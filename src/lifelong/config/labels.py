"""Labels: columns or natural labels joined from feedback."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field

from lifelong.config.base import Duration, Strict


class ColumnLabelsConfig(Strict):
    """The label is a column of the event rows."""

    kind: Literal["column"]
    column: str


class NaturalLabelsConfig(Strict):
    """Natural labels: feedback events joined to logged predictions by key within a window."""

    kind: Literal["natural"]
    key: str
    window: Duration = timedelta(minutes=30)
    allowed_lateness: Duration = timedelta(0)
    predictions: str = "predictions"
    feedback: str = "feedback"


LabelsConfig = Annotated[ColumnLabelsConfig | NaturalLabelsConfig, Field(discriminator="kind")]


__all__ = ["ColumnLabelsConfig", "LabelsConfig", "NaturalLabelsConfig"]
