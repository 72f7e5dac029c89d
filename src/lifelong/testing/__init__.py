"""Public test helpers: the contract checks every plugin must pass, and shared test data."""

from __future__ import annotations

from lifelong.testing.contracts import (
    LearnerCheck,
    LearnerFactory,
    check_learner,
    drifting_binary,
    learner_checks,
)

__all__ = ["LearnerCheck", "LearnerFactory", "check_learner", "drifting_binary", "learner_checks"]
