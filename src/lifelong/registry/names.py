"""Validation of the names the registry stores: models, aliases, versions, actors.

Examples
--------
>>> parse_version("1.12")
(1, 12)
>>> check_model("churn-v2")
'churn-v2'
"""

from __future__ import annotations

import re

from lifelong.errors import ConfigError

_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}")
_ALIAS = re.compile(r"[A-Za-z][A-Za-z0-9_\-]{0,99}")
_VERSION = re.compile(r"(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})")
_STATUS = re.compile(r"[a-z][a-z0-9_\-]{0,31}")


def check_model(name: object) -> str:
    """Return ``name`` if it is a valid model name (letters, digits, ``_ . -``; 1-200)."""
    if not isinstance(name, str) or _MODEL.fullmatch(name) is None:
        raise ConfigError(
            "model: expected 1-200 letters, digits, '_', '.' or '-' starting with a letter "
            f"or digit, got {name!r:.80}"
        )
    return name


def check_alias(name: object) -> str:
    """Return ``name`` if it is a valid alias (a letter, then letters, digits, ``_ -``)."""
    if not isinstance(name, str) or _ALIAS.fullmatch(name) is None:
        raise ConfigError(
            "alias: expected 1-100 letters, digits, '_' or '-' starting with a letter, "
            f"got {name!r:.80}"
        )
    return name


def parse_version(version: object, *, field: str = "version") -> tuple[int, int]:
    """Split ``'MAJOR.MINOR'`` into integers."""
    if not isinstance(version, str) or (match := _VERSION.fullmatch(version)) is None:
        raise ConfigError(f"{field}: expected 'MAJOR.MINOR' such as '1.2', got {version!r:.80}")
    return int(match.group(1)), int(match.group(2))


def format_version(major: int, minor: int) -> str:
    """``'MAJOR.MINOR'``."""
    return f"{major}.{minor}"


def check_status(status: object) -> str:
    """Return ``status`` if it is a short lowercase word such as ``'passed'``."""
    if not isinstance(status, str) or _STATUS.fullmatch(status) is None:
        raise ConfigError(
            "status: expected 1-32 lowercase letters, digits, '_' or '-' starting with a "
            f"letter, got {status!r:.80}"
        )
    return status


def check_text(value: object, *, field: str, max_length: int, allow_empty: bool = False) -> str:
    """Return ``value`` if it is a string of at most ``max_length`` characters."""
    if not isinstance(value, str) or len(value) > max_length or (not value and not allow_empty):
        raise ConfigError(
            f"{field}: expected a {'' if allow_empty else 'non-empty '}string of at most "
            f"{max_length} characters, got {value!r:.80}"
        )
    return value


__all__ = [
    "check_alias",
    "check_model",
    "check_status",
    "check_text",
    "format_version",
    "parse_version",
]
