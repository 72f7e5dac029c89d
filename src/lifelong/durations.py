"""Durations written as ``30m``, ``1h30m``, ``2d``, ``1w``, plain seconds, or ISO 8601.

Examples
--------
>>> parse_duration("1h30m")
datetime.timedelta(seconds=5400)
>>> parse_duration("2d").days
2
>>> format_duration(parse_duration("90m"))
'1h30m'
"""

from __future__ import annotations

import re
from datetime import timedelta

from lifelong.errors import ConfigError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


def parse_duration(value: str | int | float | timedelta, *, field: str = "duration") -> timedelta:
    """Parse ``value`` into a :class:`~datetime.timedelta`; raise ConfigError naming ``field``."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ConfigError(f"{field}: expected a duration such as '30m' or '1d', got {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise ConfigError(f"{field}: expected a duration >= 0, got {value!r}")
        return timedelta(seconds=float(value))
    text = str(value).strip().lower().replace(" ", "")
    parts = list(_PATTERN.finditer(text))
    if not text or "".join(m.group(0) for m in parts) != text:
        raise ConfigError(f"{field}: expected a duration such as '30m', '1h30m' or '1d', got {value!r}")
    return timedelta(seconds=sum(float(m.group(1)) * _UNITS[m.group(2)] for m in parts))


def format_duration(delta: timedelta) -> str:
    """Render ``delta`` in the shorthand accepted by :func:`parse_duration`."""
    seconds = int(delta.total_seconds())
    if seconds == 0:
        return "0s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out)


__all__ = ["format_duration", "parse_duration"]
