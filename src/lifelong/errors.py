"""Exceptions raised by lifelong.

Every error derives from :class:`LifelongError`; several also inherit a built-in so that
callers may catch them the usual way::

    LifelongError
    ├── ConfigError (ValueError)            bad lifelong.yaml or bad arguments
    ├── ValidationError (ValueError)        a row, event or request that breaks its schema
    ├── NotFoundError (LookupError)         unknown model, version, alias or artifact
    ├── RegistryError                       registry consistency (conflicts, bad lineage)
    │   └── IncompatibleParentError         stateful update on a parent of another shape
    ├── ArtifactError                       artifact store failures
    │   ├── IntegrityError                  sha256 or signature mismatch: never loaded
    │   └── UnsafeArtifactError             a path or format that must not be read
    ├── DataError (ValueError)              data that cannot be trained or evaluated on
    ├── TrainingError                       a learner failed to fit or update
    └── AuthError (PermissionError)         a missing or wrong admin token

Messages name the parameter, what was expected and what was received.

Examples
--------
>>> try:
...     raise ConfigError("training.mode: expected 'stateless' or 'stateful', got 'warm'")
... except ValueError as exc:
...     print(exc)
training.mode: expected 'stateless' or 'stateful', got 'warm'
"""

from __future__ import annotations


class LifelongError(Exception):
    """Root of every error lifelong raises."""


class ConfigError(LifelongError, ValueError):
    """A configuration file or argument is invalid."""


class ValidationError(LifelongError, ValueError):
    """A row, event or request does not match its schema."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFoundError(LifelongError, LookupError):
    """A model, version, alias or artifact does not exist."""


class RegistryError(LifelongError):
    """The registry refused an operation that would break its consistency."""


class IncompatibleParentError(RegistryError):
    """A stateful update was asked to continue from a parent of another shape."""


class ArtifactError(LifelongError):
    """The artifact store failed to write or read an artifact."""


class IntegrityError(ArtifactError):
    """An artifact's content or signature does not match what the registry recorded."""


class UnsafeArtifactError(ArtifactError):
    """An artifact reference or format that must never be read (path escape, pickle)."""


class DataError(LifelongError, ValueError):
    """Data that cannot be used for training or evaluation."""


class TrainingError(LifelongError):
    """A learner failed to fit or update."""


class AuthError(LifelongError, PermissionError):
    """An admin action without a valid token."""


__all__ = [
    "ArtifactError",
    "AuthError",
    "ConfigError",
    "DataError",
    "IncompatibleParentError",
    "IntegrityError",
    "LifelongError",
    "NotFoundError",
    "RegistryError",
    "TrainingError",
    "UnsafeArtifactError",
    "ValidationError",
]
