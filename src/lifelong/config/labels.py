"""Labels: columns, natural labels joined from feedback, labeling functions, human labels.

Every kind may add ``human:``, a stream of answers from annotators that override the
labels of the same key (see :mod:`lifelong.labels.human`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, field_validator

from lifelong.config.base import Duration, Strict

LabelValue = str | int | bool
_DOTTED = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*[.:][A-Za-z_][A-Za-z0-9_]*$"


def _distinct(values: tuple[LabelValue, ...], field: str) -> tuple[LabelValue, ...]:
    texts = [str(value) for value in values]
    if len(set(texts)) != len(texts):
        raise ValueError(f"expected distinct {field} (as text), got {list(values)}")
    return values


class HumanLabelsConfig(Strict):
    """Answers imported from annotators (``lifelong labels import``); they win over other labels."""

    stream: str = "human_labels"
    classes: tuple[LabelValue, ...] = Field(default=(0, 1), min_length=2)

    @field_validator("classes")
    @classmethod
    def _classes(cls, value: tuple[LabelValue, ...]) -> tuple[LabelValue, ...]:
        return _distinct(value, "classes")


class ColumnLabelsConfig(Strict):
    """The label is a column of the event rows."""

    kind: Literal["column"]
    column: str
    delay: Duration = timedelta(0)
    human: HumanLabelsConfig | None = None

    @property
    def rows_stream(self) -> str:
        """The stream whose rows get labels."""
        return "events"

    @property
    def row_key(self) -> str:
        """The column that identifies a labeled row (what human answers refer to)."""
        return "event_id"


class NaturalLabelsConfig(Strict):
    """Natural labels: feedback events joined to logged predictions by key within a window."""

    kind: Literal["natural"]
    key: str
    window: Duration = timedelta(minutes=30)
    allowed_lateness: Duration = timedelta(0)
    predictions: str = "predictions"
    feedback: str = "feedback"
    human: HumanLabelsConfig | None = None

    @property
    def rows_stream(self) -> str:
        """The stream whose rows get labels."""
        return self.predictions

    @property
    def row_key(self) -> str:
        """The column that identifies a labeled row (what human answers refer to)."""
        return self.key


class FunctionLabelsConfig(Strict):
    """Labeling functions ``(row) -> label | ABSTAIN`` named by dotted path, combined per row.

    ``combine: majority`` takes the most frequent answer (a tie abstains); ``label_model``
    fits Snorkel's LabelModel on the window (needs the optional package ``snorkel``).
    """

    kind: Literal["functions"]
    functions: tuple[Annotated[str, Field(pattern=_DOTTED)], ...] = Field(min_length=1)
    combine: Literal["majority", "label_model"] = "majority"
    stream: str = "events"
    classes: tuple[LabelValue, ...] = Field(default=(0, 1), min_length=2)
    epochs: int = Field(default=500, gt=0, le=100_000)
    seed: int = 0
    human: HumanLabelsConfig | None = None

    @field_validator("classes")
    @classmethod
    def _classes(cls, value: tuple[LabelValue, ...]) -> tuple[LabelValue, ...]:
        if any(value_ == -1 and not isinstance(value_, bool) for value_ in value):
            raise ValueError(f"expected classes other than -1 (ABSTAIN), got {list(value)}")
        return _distinct(value, "classes")

    @property
    def rows_stream(self) -> str:
        """The stream whose rows get labels."""
        return self.stream

    @property
    def row_key(self) -> str:
        """The column that identifies a labeled row (what human answers refer to)."""
        return "event_id"


LabelsConfig = Annotated[
    ColumnLabelsConfig | NaturalLabelsConfig | FunctionLabelsConfig, Field(discriminator="kind")
]


__all__ = [
    "ColumnLabelsConfig",
    "FunctionLabelsConfig",
    "HumanLabelsConfig",
    "LabelValue",
    "LabelsConfig",
    "NaturalLabelsConfig",
]
