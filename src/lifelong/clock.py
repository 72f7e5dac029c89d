"""Injectable clocks: real time, a manual clock for tests, and accelerated replay.

Examples
--------
>>> from datetime import datetime, timedelta, timezone
>>> clock = ManualClock(datetime(2024, 1, 1, tzinfo=timezone.utc))
>>> clock.advance(timedelta(hours=2))
>>> clock.now().isoformat()
'2024-01-01T02:00:00+00:00'
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from datetime import datetime, timedelta, timezone

from lifelong.errors import ConfigError


def utc(value: datetime) -> datetime:
    """Return ``value`` as an aware UTC datetime (naive values are taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


class Clock(ABC):
    """Source of the current time for everything time-based in lifelong."""

    @abstractmethod
    def now(self) -> datetime:
        """Return the current time, timezone-aware UTC."""

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        time.sleep(seconds)


class SystemClock(Clock):
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class ManualClock(Clock):
    """A clock that moves only when told to; ``sleep`` advances it instantly."""

    def __init__(self, start: datetime) -> None:
        self._now = utc(start)

    def now(self) -> datetime:
        return self._now

    def set(self, value: datetime) -> None:
        """Jump to ``value``; time never goes backwards."""
        value = utc(value)
        if value < self._now:
            raise ConfigError(
                f"clock: expected a time at or after {self._now.isoformat()}, got {value.isoformat()}"
            )
        self._now = value

    def advance(self, delta: timedelta) -> None:
        """Move forward by ``delta``."""
        self.set(self._now + delta)

    def sleep(self, seconds: float) -> None:
        self.advance(timedelta(seconds=seconds))


class ReplayClock(Clock):
    """Simulated time that runs ``speed`` times faster than the wall clock from ``start``.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> clock = ReplayClock(datetime(2024, 1, 1, tzinfo=timezone.utc), speed=3600.0)
    >>> clock.now() >= datetime(2024, 1, 1, tzinfo=timezone.utc)
    True
    """

    def __init__(self, start: datetime, *, speed: float = 1.0) -> None:
        if not speed > 0:
            raise ConfigError(f"speed: expected a number > 0, got {speed!r}")
        self._start = utc(start)
        self._speed = float(speed)
        self._wall_start = time.monotonic()

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._wall_start) * self._speed
        return self._start + timedelta(seconds=elapsed)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds / self._speed)


__all__ = ["Clock", "ManualClock", "ReplayClock", "SystemClock", "utc"]
