"""Persistence: alert only after ``k`` consecutive windows said "drift".

With independent windows each falsely alarming with probability ``a``, ``k`` consecutive false
alarms happen with probability ``a ** k``: persistence trades ``k - 1`` windows of delay for a
much lower false-alert rate.

Examples
--------
>>> persistence = Persistence(k=2)
>>> [persistence.update(flag) for flag in (True, False, True, True, True)]
[False, False, False, True, False]
"""

from __future__ import annotations

from lifelong.errors import ConfigError


class Persistence:
    """Count consecutive positive windows; fire once when the run reaches ``k``, then start over."""

    def __init__(self, *, k: int = 2) -> None:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ConfigError(f"k: expected an integer >= 1, got {k!r}")
        self.k = k
        self.run = 0

    def update(self, drifted: bool) -> bool:
        """Feed one window's verdict; True when it completes ``k`` consecutive drifted windows."""
        self.run = self.run + 1 if drifted else 0
        if self.run >= self.k:
            self.run = 0
            return True
        return False

    def reset(self) -> None:
        self.run = 0


__all__ = ["Persistence"]
