"""HTTP helpers of the prediction server: orjson responses, errors, bearer-token checks.

Examples
--------
>>> json_response({"a": 1}).body
b'{"a":1}'
>>> error_response(404, "model: expected one of ['churn'], got 'x'", "model").status_code
404
"""

from __future__ import annotations

import hmac
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response

from lifelong.errors import ConfigError

_JSON = "application/json"
_OPTIONS = orjson.OPT_SERIALIZE_NUMPY


def json_response(
    content: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response serialised by orjson (numpy arrays included)."""
    return Response(
        orjson.dumps(content, option=_OPTIONS),
        status_code=status,
        media_type=_JSON,
        headers=headers,
    )


def error_response(
    status: int, message: str, field: str | None = None, *, oip: bool = False
) -> Response:
    """``{"error", "field"}``, or the Open Inference Protocol's ``{"error"}`` with ``oip=True``."""
    content: dict[str, Any] = {"error": message} if oip else {"error": message, "field": field}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return json_response(content, status, headers)


def check_bearer(
    request: Request, token: bytes, *, what: str, oip: bool = False
) -> Response | None:
    """None when the request carries ``Authorization: Bearer <token>``; else a 401/403 response."""
    header = request.headers.get("authorization")
    if not header:
        return error_response(
            401, f"Authorization: expected 'Bearer <token>' for {what}, got no header", oip=oip
        )
    scheme, _, credentials = header.partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "bearer" or not credentials:
        return error_response(
            401,
            f"Authorization: expected 'Bearer <token>' for {what}, got a {scheme!r} header",
            oip=oip,
        )
    if not hmac.compare_digest(credentials.encode("latin-1"), token):
        return error_response(403, f"Authorization: the token is not valid for {what}", oip=oip)
    return None


def token_bytes(name: str, value: str | None) -> bytes | None:
    """A configured token as bytes for constant-time comparison, None when not configured."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise ConfigError(
            f"{name}: expected a non-empty token without surrounding spaces, got {value!r}"
        )
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise ConfigError(f"{name}: expected a token of latin-1 characters, got {value!r}") from exc


__all__ = ["check_bearer", "error_response", "json_response", "token_bytes"]
