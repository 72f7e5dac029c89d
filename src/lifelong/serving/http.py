"""HTTP helpers of the prediction server: orjson responses, errors, bearer-token checks.

Two response forms share one error shape: Starlette :class:`Response` objects for the
FastAPI routes, and :class:`Reply` (status, encoded body, raw headers) for the raw ASGI
prediction endpoints, which send it with :func:`send_reply`.

Examples
--------
>>> json_response({"a": 1}).body
b'{"a":1}'
>>> error_response(404, "model: expected one of ['churn'], got 'x'", "model").status_code
404
>>> error_reply(401, "Authorization: missing", oip=True).body
b'{"error":"Authorization: missing"}'
>>> bearer_refusal(None, b"s3cret", what="inference")
(401, "Authorization: expected 'Bearer <token>' for inference, got no header")
"""

from __future__ import annotations

import hmac
from typing import Any, NamedTuple

import orjson
from fastapi import Request
from fastapi.responses import Response

from lifelong.errors import ConfigError
from lifelong.serving.limits import Send

_JSON = "application/json"
_OPTIONS = orjson.OPT_SERIALIZE_NUMPY
_JSON_HEADER = (b"content-type", b"application/json")
_BEARER_HEADER = (b"www-authenticate", b"Bearer")


class Reply(NamedTuple):
    """A response of a raw ASGI endpoint: status, JSON body, extra raw headers."""

    status: int
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...] = ()


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


def json_reply(
    content: Any, status: int = 200, headers: tuple[tuple[bytes, bytes], ...] = ()
) -> Reply:
    """A JSON :class:`Reply` serialised by orjson (numpy arrays included)."""
    return Reply(status, orjson.dumps(content, option=_OPTIONS), headers)


def _error_content(message: str, field: str | None, oip: bool) -> dict[str, Any]:
    return {"error": message} if oip else {"error": message, "field": field}


def error_response(
    status: int, message: str, field: str | None = None, *, oip: bool = False
) -> Response:
    """``{"error", "field"}``, or the Open Inference Protocol's ``{"error"}`` with ``oip=True``."""
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return json_response(_error_content(message, field, oip), status, headers)


def error_reply(status: int, message: str, field: str | None = None, *, oip: bool = False) -> Reply:
    """The :class:`Reply` form of :func:`error_response` (same body, same headers)."""
    headers = (_BEARER_HEADER,) if status == 401 else ()
    return json_reply(_error_content(message, field, oip), status, headers)


async def send_reply(send: Send, reply: Reply) -> None:
    """Send ``reply`` as a complete ASGI HTTP response."""
    headers = [_JSON_HEADER, (b"content-length", str(len(reply.body)).encode()), *reply.headers]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})


def bearer_refusal(header: str | None, token: bytes, *, what: str) -> tuple[int, str] | None:
    """None when ``header`` is ``Bearer <token>``; else the status (401/403) and the reason."""
    if not header:
        return 401, f"Authorization: expected 'Bearer <token>' for {what}, got no header"
    scheme, _, credentials = header.partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "bearer" or not credentials:
        return 401, f"Authorization: expected 'Bearer <token>' for {what}, got a {scheme!r} header"
    if not hmac.compare_digest(credentials.encode("latin-1"), token):
        return 403, f"Authorization: the token is not valid for {what}"
    return None


def check_bearer(
    request: Request, token: bytes, *, what: str, oip: bool = False
) -> Response | None:
    """None when the request carries ``Authorization: Bearer <token>``; else a 401/403 response."""
    refused = bearer_refusal(request.headers.get("authorization"), token, what=what)
    return None if refused is None else error_response(*refused, oip=oip)


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


__all__ = [
    "Reply",
    "bearer_refusal",
    "check_bearer",
    "error_reply",
    "error_response",
    "json_reply",
    "json_response",
    "send_reply",
    "token_bytes",
]
