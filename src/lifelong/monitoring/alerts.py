"""Alerts: a drift that matters, a drop in performance, a failed loop — sent to logs and webhooks.

A :class:`WebhookSink` POSTs the alert as JSON with httpx and retries with exponential backoff
(tenacity) on connection errors, timeouts, 429 and 5xx answers; other 4xx answers are not
retried. :class:`AlertDispatcher` sends each alert to every sink and never lets a failing sink
stop the loop: the failure is logged and returned.

Examples
--------
>>> from datetime import datetime, timezone
>>> alert = Alert(model="churn", kind="drift", message="x drifted", at=datetime(2024, 1, 1, tzinfo=timezone.utc))
>>> dispatcher = AlertDispatcher([LogSink()])
>>> [delivery.ok for delivery in dispatcher.send(alert)]
[True]
>>> alert.to_dict()["severity"]
'warning'
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import httpx
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from lifelong.errors import ConfigError

Severity = Literal["info", "warning", "critical"]
log = logging.getLogger("lifelong.alerts")


@dataclass(frozen=True)
class Alert:
    """Something a person should know about a model."""

    model: str
    kind: str
    message: str
    at: datetime
    severity: Severity = "warning"
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "kind": self.kind,
            "severity": self.severity,
            "message": self.message,
            "at": self.at.isoformat(),
            "details": self.details,
        }


@dataclass(frozen=True)
class Delivery:
    """Whether one sink took one alert, after how many attempts, and the error if not."""

    sink: str
    ok: bool
    attempts: int
    error: str | None = None


class AlertSink(ABC):
    """Somewhere alerts go."""

    name: str

    @abstractmethod
    def send(self, alert: Alert) -> Delivery:
        """Deliver ``alert``; return how it went (raise only for programming errors)."""


class LogSink(AlertSink):
    """Alerts as log records of the ``lifelong.alerts`` logger (warning level or above)."""

    name = "log"

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._logger = logger or log

    def send(self, alert: Alert) -> Delivery:
        level = {"info": logging.INFO, "warning": logging.WARNING, "critical": logging.CRITICAL}[alert.severity]
        self._logger.log(level, "%s %s: %s", alert.model, alert.kind, alert.message, extra={"alert": alert.to_dict()})
        return Delivery(self.name, True, 1)


class _Retryable(Exception):
    """An answer worth another attempt (429 or 5xx)."""


def _retryable(error: BaseException) -> bool:
    return isinstance(error, httpx.TransportError | _Retryable)


class WebhookSink(AlertSink):
    """POST alerts as JSON to ``url``, retrying transient failures.

    Parameters
    ----------
    url
        ``http://`` or ``https://`` endpoint.
    attempts
        Attempts in all (1 = no retry).
    backoff
        First wait in seconds; doubles after each failure, capped at ``max_backoff``.
    timeout
        Seconds per attempt.
    headers
        Extra headers (an authorization token, for example).
    """

    name = "webhook"

    def __init__(
        self,
        url: str,
        *,
        attempts: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        timeout: float = 5.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(f"url: expected an http:// or https:// URL, got {url!r}")
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
            raise ConfigError(f"attempts: expected an integer >= 1, got {attempts!r}")
        for label, value in (("backoff", backoff), ("max_backoff", max_backoff), ("timeout", timeout)):
            if not value >= 0 or (label == "timeout" and value == 0):
                raise ConfigError(f"{label}: expected a number of seconds > 0, got {value!r}")
        self.url = url
        self.attempts = attempts
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.timeout = float(timeout)
        self.headers = dict(headers or {})

    def _post(self, client: httpx.Client, payload: dict[str, Any]) -> None:
        response = client.post(self.url, json=payload)
        if response.status_code == 429 or response.status_code >= 500:
            raise _Retryable(f"HTTP {response.status_code}")
        response.raise_for_status()

    def send(self, alert: Alert) -> Delivery:
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.backoff, max=self.max_backoff),
            retry=retry_if_exception(_retryable),
            reraise=False,
        )
        payload = alert.to_dict()
        try:
            with httpx.Client(timeout=self.timeout, headers=self.headers) as client:
                retrying(self._post, client, payload)
        except RetryError as exc:
            cause = exc.last_attempt.exception()
            return Delivery(self.name, False, exc.last_attempt.attempt_number, f"{type(cause).__name__}: {cause}")
        except httpx.HTTPStatusError as exc:
            return Delivery(self.name, False, retrying.statistics.get("attempt_number", 1), f"HTTP {exc.response.status_code}")
        return Delivery(self.name, True, int(retrying.statistics.get("attempt_number", 1)))


class AlertDispatcher:
    """Send each alert to every sink; a failing sink is logged, never raised."""

    def __init__(self, sinks: Sequence[AlertSink]) -> None:
        self.sinks = tuple(sinks)

    def send(self, alert: Alert) -> list[Delivery]:
        deliveries = []
        for sink in self.sinks:
            delivery = sink.send(alert)
            if not delivery.ok:
                log.error("alert to %s failed after %d attempt(s): %s", sink.name, delivery.attempts, delivery.error)
            deliveries.append(delivery)
        return deliveries


__all__ = ["Alert", "AlertDispatcher", "AlertSink", "Delivery", "LogSink", "Severity", "WebhookSink"]
