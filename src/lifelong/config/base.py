"""Shared pieces of the config models: strict sections, durations, scalars."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer

from lifelong.durations import format_duration, parse_duration

Duration = Annotated[
    timedelta,
    BeforeValidator(lambda v: parse_duration(v)),
    PlainSerializer(format_duration, return_type=str),
]
Scalar = str | int | float | bool | None


class Strict(BaseModel):
    """Base of every config section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


__all__ = ["Duration", "Scalar", "Strict"]
