"""One socket write per response: uvicorn's httptools protocol over a write-coalescing transport.

uvicorn writes a response's status line and headers when the app sends
``http.response.start``, and the body with ``http.response.body``: two ``send()`` calls, and on
the loopback two packets, for every small JSON answer. :class:`CoalescingTransport` keeps what
is written during one step of the event loop and hands it to the socket in one write at the
end of that step (``loop.call_soon``); closing or aborting flushes or drops it first.
:class:`CoalescingHttpToolsProtocol` is uvicorn's protocol over that transport.

Examples
--------
>>> import asyncio, threading  # a thread of its own: the caller may already run an event loop
>>> class Socket:
...     def __init__(self): self.writes = []
...     def write(self, data): self.writes.append(data)
...     def is_closing(self): return False
>>> async def main():
...     socket = Socket()
...     transport = CoalescingTransport(socket, asyncio.get_running_loop())
...     transport.write(b"HTTP/1.1 200 OK\\r\\n\\r\\n")
...     transport.write(b"{}")
...     await asyncio.sleep(0)
...     return socket.writes
>>> found = []
>>> worker = threading.Thread(target=lambda: found.append(asyncio.run(main())))
>>> worker.start(); worker.join()
>>> found[0]
[b'HTTP/1.1 200 OK\\r\\n\\r\\n{}']
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CoalescingTransport:
    """Wraps an asyncio transport: writes made in one loop step reach it as one write."""

    def __init__(self, transport: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(bytes(data))

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def _flush(self) -> None:
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending = []
        if not self._transport.is_closing():
            self._transport.write(data)

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending = []
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools HTTP/1.1 protocol, writing through a :class:`CoalescingTransport`."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]


__all__ = ["CoalescingHttpToolsProtocol", "CoalescingTransport"]
