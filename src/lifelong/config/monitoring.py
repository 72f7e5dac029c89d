"""Monitoring: the windows ``lifelong monitor`` shows, and where alerts go."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field

from lifelong.config.base import Duration, Strict

AlertEvent = Literal["drift", "performance", "update", "failure"]


class LogAlertConfig(Strict):
    """Alerts as records of the ``lifelong.alerts`` logger."""

    kind: Literal["log"]


class WebhookAlertConfig(Strict):
    """Alerts POSTed as JSON to ``url``, retried with exponential backoff on errors, 429 and 5xx."""

    kind: Literal["webhook"]
    url: str = Field(pattern=r"^https?://\S+$")
    attempts: int = Field(default=5, ge=1, le=20)
    backoff: float = Field(default=0.5, ge=0)
    timeout: float = Field(default=5.0, gt=0)
    headers: dict[str, str] = Field(default_factory=dict)


AlertSinkConfig = Annotated[LogAlertConfig | WebhookAlertConfig, Field(discriminator="kind")]


class MonitoringConfig(Strict):
    """Drift and performance over time (``lifelong monitor``) and the alerts of ``lifelong run``."""

    window: Duration = timedelta(days=1)
    windows: int = Field(default=14, ge=1, le=1000)
    alpha: float = Field(default=0.01, gt=0, lt=1)
    numeric_test: Literal["ks", "psi", "wasserstein"] = "ks"
    categorical_test: Literal["chi2", "psi"] = "chi2"
    min_importance: float = Field(default=0.2, ge=0, le=1)
    loss: Literal["error", "log_loss", "brier"] = "log_loss"
    min_rows: int = Field(default=50, ge=2)
    alerts: tuple[AlertSinkConfig, ...] = (LogAlertConfig(kind="log"),)
    alert_on: tuple[AlertEvent, ...] = ("drift", "performance", "failure")


__all__ = ["AlertEvent", "AlertSinkConfig", "LogAlertConfig", "MonitoringConfig", "WebhookAlertConfig"]
