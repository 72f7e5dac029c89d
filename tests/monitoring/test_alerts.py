"""Alerts against a real local HTTP server: retries on 5xx and 429, none on 400, give up when nobody listens."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from lifelong.errors import ConfigError
from lifelong.monitoring.alerts import Alert, AlertDispatcher, LogSink, WebhookSink

ALERT = Alert(model="churn", kind="drift", message="x1 drifted", at=datetime(2024, 1, 3, tzinfo=timezone.utc), details={"share": 0.6})


class _Receiver(ThreadingHTTPServer):
    def __init__(self, answers: list[int]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answers = answers
        self.bodies: list[dict[str, Any]] = []
        self.headers_seen: list[dict[str, str]] = []


class _Handler(BaseHTTPRequestHandler):
    server: _Receiver

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.server.bodies.append(json.loads(self.rfile.read(length)))
        self.server.headers_seen.append(dict(self.headers))
        status = self.server.answers.pop(0) if self.server.answers else 200
        self.send_response(status)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        return


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[_Receiver]:
    server = _Receiver(list(getattr(request, "param", [])))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _url(server: _Receiver) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/hooks/lifelong"


@pytest.mark.parametrize("receiver", [[503, 429, 200]], indirect=True)
def test_webhook_retries_transient_failures_then_delivers(receiver: _Receiver) -> None:
    sink = WebhookSink(_url(receiver), attempts=4, backoff=0.01, headers={"Authorization": "Bearer t0k"})
    delivery = sink.send(ALERT)
    assert delivery.ok and delivery.attempts == 3
    assert len(receiver.bodies) == 3 and receiver.bodies[-1] == ALERT.to_dict()
    assert receiver.headers_seen[-1]["Authorization"] == "Bearer t0k"


@pytest.mark.parametrize("receiver", [[400]], indirect=True)
def test_client_errors_are_not_retried(receiver: _Receiver) -> None:
    delivery = WebhookSink(_url(receiver), attempts=4, backoff=0.01).send(ALERT)
    assert not delivery.ok and delivery.error == "HTTP 400" and len(receiver.bodies) == 1


@pytest.mark.parametrize("receiver", [[500, 500, 500]], indirect=True)
def test_gives_up_after_the_attempts(receiver: _Receiver) -> None:
    delivery = WebhookSink(_url(receiver), attempts=3, backoff=0.01).send(ALERT)
    assert not delivery.ok and delivery.attempts == 3 and "HTTP 500" in (delivery.error or "")


def test_unreachable_webhook_fails_without_stopping_the_dispatcher(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dispatcher = AlertDispatcher([WebhookSink(f"http://127.0.0.1:{port}/", attempts=2, backoff=0.01, timeout=1.0), LogSink()])
    with caplog.at_level(logging.WARNING, logger="lifelong.alerts"):
        deliveries = dispatcher.send(ALERT)
    assert [d.ok for d in deliveries] == [False, True] and deliveries[0].attempts == 2
    assert "ConnectError" in (deliveries[0].error or "")
    messages = [record.getMessage() for record in caplog.records]
    assert "churn drift: x1 drifted" in messages and any("alert to webhook failed after 2 attempt(s)" in m for m in messages)


def test_bad_webhook_settings_name_the_field() -> None:
    with pytest.raises(ConfigError, match="url: expected an http:// or https:// URL, got 'ftp://x'"):
        WebhookSink("ftp://x")
    with pytest.raises(ConfigError, match="attempts: expected an integer >= 1, got 0"):
        WebhookSink("http://127.0.0.1/", attempts=0)
