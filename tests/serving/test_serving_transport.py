"""uvicorn over the write-coalescing transport: one write per response, answers unchanged."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from serving_support import build_loader

from lifelong.serving import ModelCatalog, PredictionService, create_app
from lifelong.serving.transport import CoalescingHttpToolsProtocol, CoalescingTransport

BODY = b'{"inputs": [' + b", ".join(
    b'{"name": "%s", "shape": [1], "datatype": "FP64", "data": [%s]}' % (name, value)
    for name, value in ((b"x1", b"0.5"), (b"x2", b"1.5"), (b"x3", b"-2.0"))
) + b"]}"


class FakeSocket:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_write_buffer_size(self) -> int:
        return 7


def test_writes_of_one_step_become_one_and_close_flushes_first() -> None:
    async def main() -> FakeSocket:
        raw = FakeSocket()
        transport = CoalescingTransport(raw, asyncio.get_running_loop())
        transport.write(b"a")
        transport.write(bytearray(b"b"))
        transport.writelines([b"c", memoryview(b"d")])
        assert raw.writes == []
        await asyncio.sleep(0)
        assert raw.writes == [b"abcd"]
        assert transport.get_write_buffer_size() == 7  # everything else goes to the transport
        transport.write(b"last")
        transport.close()
        assert raw.writes == [b"abcd", b"last"] and raw.closed
        transport.write(b"dropped")
        transport.abort()
        await asyncio.sleep(0)
        assert raw.aborted and raw.writes == [b"abcd", b"last"]
        return raw

    # in a thread of its own: a test before this one may have left an event loop running here
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, main()).result()


@contextmanager
def served() -> Iterator[int]:
    app = create_app(PredictionService(ModelCatalog(build_loader()), None))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", http=CoalescingHttpToolsProtocol, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield int(server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(15)


def _read_responses(sock: socket.socket, count: int) -> list[bytes]:
    data = b""
    responses: list[bytes] = []
    sock.settimeout(10)
    while len(responses) < count:
        data += sock.recv(65536)
        while b"\r\n\r\n" in data:
            head, _, rest = data.partition(b"\r\n\r\n")
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
            if len(rest) < length:
                break
            responses.append(head + b"\r\n\r\n" + rest[:length])
            data = rest[length:]
    return responses


def test_the_server_answers_keep_alive_pipelined_and_closing_requests() -> None:
    with served() as port:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            answers: list[Any] = [client.post("/v2/models/churn/infer", content=BODY).json() for _ in range(5)]
            assert all(answer["outputs"] == answers[0]["outputs"] for answer in answers)
            assert answers[0]["model_name"] == "churn"
            assert client.post("/v2/models/nope/infer", content=BODY).status_code == 404
        request = (
            f"POST /v2/models/churn/infer HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(BODY)}\r\n\r\n"
        ).encode() + BODY
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(request * 3)  # pipelined
            responses = _read_responses(sock, 3)
        assert [r.split(b" ", 2)[1] for r in responses] == [b"200"] * 3
        closing = request.replace(b"Content-Type", b"Connection: close\r\nContent-Type")
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(closing)
            sock.settimeout(10)
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"}")
