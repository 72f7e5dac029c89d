"""Errors of the transports: a broker or database that cannot be reached or refuses a request.

Examples
--------
>>> from lifelong.errors import LifelongError
>>> issubclass(SourceUnavailableError, LifelongError) and issubclass(SourceUnavailableError, ConnectionError)
True
"""

from __future__ import annotations

from lifelong.errors import LifelongError


class SourceUnavailableError(LifelongError, ConnectionError):
    """A source's broker or database cannot be reached, or failed a request (exit code 1)."""


__all__ = ["SourceUnavailableError"]
