"""Deployment: promotion, rollback, and the champion the server answers with."""

from __future__ import annotations

from lifelong.deployment.promotion import CHAMPION, promote, rollback

__all__ = ["CHAMPION", "promote", "rollback"]
