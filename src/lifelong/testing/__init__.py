"""Public test helpers: the contract checks every plugin must pass, and in-memory fakes."""

from __future__ import annotations

from lifelong.testing.contracts import (
    LearnerCheck,
    LearnerFactory,
    check_learner,
    drifting_binary,
    learner_checks,
)
from lifelong.testing.fakes import InMemoryModelLoader, ListPredictionSink, logistic_served_model

__all__ = [
    "InMemoryModelLoader",
    "LearnerCheck",
    "LearnerFactory",
    "ListPredictionSink",
    "check_learner",
    "drifting_binary",
    "learner_checks",
    "logistic_served_model",
]
