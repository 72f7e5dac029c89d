"""Request limits: Host allow-list, body size (also for chunked bodies), gzip with a hard cap, JSON depth.

:class:`RequestGuard` is a pure ASGI middleware: it checks the Host header, reads the body with
a cap before the application sees it (413 past ``max_body_bytes``, whether or not
Content-Length was sent), and decompresses ``Content-Encoding: gzip`` incrementally with the same
cap on the decompressed size, so a gzip bomb stops after ``max_body_bytes`` of output. Other
encodings get 415. Errors are JSON ``{"error": ..., "field": null}``.

Examples
--------
>>> load_json(b'{"a": [1, 2]}', max_depth=2)
{'a': [1, 2]}
>>> load_json(b'[[[1]]]', max_depth=2)
Traceback (most recent call last):
...
lifelong.errors.ValidationError: request body: expected JSON nested at most 2 levels deep, got deeper
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

import orjson

from lifelong.errors import ConfigError, ValidationError
from lifelong.serving.validation import describe

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def json_too_deep(value: Any, max_depth: int) -> bool:
    """Whether ``value`` nests more than ``max_depth`` arrays/objects."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if kind is dict:
            children = item.values()
        elif kind is list:
            children = item
        else:
            continue
        if depth > max_depth:
            return True
        for child in children:
            child_kind = type(child)
            if child_kind is dict or child_kind is list:
                stack.append((child, depth + 1))
    return False


def load_json(body: bytes, *, max_depth: int) -> Any:
    """Parse a request body; malformed or too deeply nested JSON is a ValidationError."""
    if not body:
        raise ValidationError("request body: expected a JSON document, got an empty body")
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if "recursion" in str(exc):
            raise ValidationError(
                f"request body: expected JSON nested at most {max_depth} levels deep, got deeper"
            ) from exc
        raise ValidationError(f"request body: expected valid JSON, got {exc}") from exc
    if json_too_deep(value, max_depth):
        raise ValidationError(
            f"request body: expected JSON nested at most {max_depth} levels deep, got deeper"
        )
    return value


def host_allowed(host: str, allowed: Sequence[str]) -> bool:
    """Whether ``host`` (port stripped) matches an entry: exact, ``*``, or ``*.domain``."""
    for pattern in allowed:
        if pattern == "*" or pattern == host:
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
    return False


def _strip_port(value: str) -> str:
    if value.startswith("["):
        end = value.find("]")
        return value[1:end] if end > 0 else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class _TooLarge(Exception):
    pass


class RequestGuard:
    """ASGI middleware enforcing the Host allow-list, the body cap and the content encoding.

    Parameters
    ----------
    app
        The wrapped ASGI application.
    allowed_hosts
        Host names accepted in the Host header (``*`` accepts any, ``*.example.com`` a domain).
    max_body_bytes
        Largest body accepted, before and after gzip decompression.

    Examples
    --------
    >>> guard = RequestGuard(lambda scope, receive, send: None, allowed_hosts=["localhost"], max_body_bytes=10)
    >>> guard.max_body_bytes
    10
    """

    def __init__(self, app: ASGIApp, *, allowed_hosts: Sequence[str], max_body_bytes: int) -> None:
        if (
            isinstance(max_body_bytes, bool)
            or not isinstance(max_body_bytes, int)
            or max_body_bytes < 1
        ):
            raise ConfigError(f"max_body_bytes: expected an integer >= 1, got {max_body_bytes!r}")
        hosts = [allowed_hosts] if isinstance(allowed_hosts, str) else list(allowed_hosts)
        if not hosts or not all(isinstance(host, str) and host for host in hosts):
            raise ConfigError(
                f"allowed_hosts: expected a non-empty list of host names, got {allowed_hosts!r}"
            )
        self.app = app
        self.allowed_hosts = tuple(host.lower() for host in hosts)
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = length = encoding = None
        for key, value in scope["headers"]:
            if key == b"host":
                host = value.decode("latin-1")
            elif key == b"content-length":
                length = value.decode("latin-1")
            elif key == b"content-encoding":
                encoding = value.decode("latin-1").strip().lower()
        if host is None or not host_allowed(_strip_port(host.strip().lower()), self.allowed_hosts):
            await _reply(
                send, 400, f"Host: expected one of {list(self.allowed_hosts)}, got {describe(host)}"
            )
            return
        if encoding not in (None, "", "identity", "gzip"):
            await _reply(
                send,
                415,
                f"Content-Encoding: expected 'gzip' or 'identity', got {describe(encoding)}",
            )
            return
        if length is not None:
            if not length.isdigit():
                await _reply(
                    send,
                    400,
                    f"Content-Length: expected a non-negative integer, got {describe(length)}",
                )
                return
            if int(length) > self.max_body_bytes:
                await _reply(send, 413, self._too_large(f"Content-Length {int(length)}"))
                return
        try:
            body = await self._read(receive, gzip=encoding == "gzip")
        except _TooLarge as exc:
            await _reply(send, 413, self._too_large(str(exc)))
            return
        except zlib.error as exc:
            await _reply(send, 400, f"request body: expected valid gzip data, got an error ({exc})")
            return
        if body is None:  # the client went away
            return
        if encoding == "gzip":
            headers = [
                (k, v)
                for k, v in scope["headers"]
                if k not in (b"content-encoding", b"content-length")
            ]
            headers.append((b"content-length", str(len(body)).encode()))
            scope = dict(scope, headers=headers)
        await self.app(scope, _replay(body, receive), send)

    def _too_large(self, what: str) -> str:
        return f"request body: expected at most {self.max_body_bytes} bytes, got {what}"

    async def _read(self, receive: Receive, *, gzip: bool) -> bytes | None:
        cap = self.max_body_bytes
        chunks: list[bytes] = []
        received = 0
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzip else None
        produced = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            data = message.get("body", b"")
            received += len(data)
            if received > cap:
                raise _TooLarge(f"more than {cap} bytes")
            if inflater is not None and data:
                if inflater.eof:
                    raise zlib.error("unexpected data after the end of the gzip stream")
                pending = data
                while pending:
                    out = inflater.decompress(pending, cap - produced + 1)
                    produced += len(out)
                    if produced > cap:
                        raise _TooLarge(f"more than {cap} bytes once decompressed")
                    chunks.append(out)
                    pending = inflater.unconsumed_tail
                if inflater.unused_data:
                    raise zlib.error("unexpected data after the end of the gzip stream")
            elif data:
                chunks.append(data)
            if not message.get("more_body", False):
                break
        if inflater is not None and not inflater.eof:
            raise zlib.error("truncated gzip stream")
        return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _reply(send: Send, status: int, message: str) -> None:
    body = orjson.dumps({"error": message, "field": None})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 413:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


__all__ = ["RequestGuard", "host_allowed", "json_too_deep", "load_json"]
