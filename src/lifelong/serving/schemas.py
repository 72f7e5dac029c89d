"""Request bodies of the plain JSON and admin endpoints, and error messages that name the field.

Examples
--------
>>> import pydantic
>>> try:
...     PredictRequest.model_validate({"model": "churn", "rows": "abc"})
... except pydantic.ValidationError as exc:
...     message, field = validation_message(exc.errors())
>>> print(message, "|", field)
rows: Input should be a valid list, got 'abc' | rows
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lifelong.serving.validation import describe

_LOCATIONS = {"body", "path", "query", "header", "cookie"}


class PredictRequest(BaseModel):
    """``POST /predict``: a model name, rows as ``{column: value}`` objects, an optional request id.

    Examples
    --------
    >>> PredictRequest(model="churn", rows=[{"x1": 1.0}]).request_id is None
    True
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    model: str = Field(min_length=1, max_length=200)
    rows: list[dict[str, Any]] = Field(min_length=1)
    request_id: str | None = Field(default=None, min_length=1, max_length=200)


class PromoteRequest(BaseModel):
    """``POST /admin/models/{name}/promote``.

    Examples
    --------
    >>> PromoteRequest(version="1.2").reason
    ''
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    version: str = Field(min_length=1, max_length=100)
    reason: str = Field(default="", max_length=2000)


class RollbackRequest(BaseModel):
    """``POST /admin/models/{name}/rollback`` (the body may be omitted).

    Examples
    --------
    >>> RollbackRequest().reason
    ''
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    reason: str = Field(default="", max_length=2000)


def validation_message(errors: Sequence[Any]) -> tuple[str, str | None]:
    """One message naming the field, the expectation and the received value, and the field."""
    if not errors:
        return "request: invalid", None
    error = errors[0]
    loc = [str(part) for part in error.get("loc", ()) if str(part) not in _LOCATIONS]
    field = ".".join(loc) or None
    where = field or "request body"
    kind = error.get("type", "")
    if kind == "missing":
        return f"{where}: required field is missing", field
    if kind == "extra_forbidden":
        return f"{where}: unexpected field, got {describe(error.get('input'))}", field
    message = f"{where}: {error.get('msg', 'invalid value')}, got {describe(error.get('input'))}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more errors)"
    return message, field


__all__ = ["PredictRequest", "PromoteRequest", "RollbackRequest", "validation_message"]
