"""Public test helpers: the contract checks every plugin must pass, and in-memory fakes."""

from __future__ import annotations

from lifelong.testing.contracts import (
    Dataset,
    DatasetFactory,
    LearnerCheck,
    LearnerFactory,
    check_learner,
    drifting_binary,
    drifting_interactions,
    learner_checks,
    with_dataset,
)
from lifelong.testing.fakes import InMemoryModelLoader, ListPredictionSink, logistic_served_model

__all__ = [
    "Dataset",
    "DatasetFactory",
    "InMemoryModelLoader",
    "LearnerCheck",
    "LearnerFactory",
    "ListPredictionSink",
    "check_learner",
    "drifting_binary",
    "drifting_interactions",
    "learner_checks",
    "logistic_served_model",
    "with_dataset",
]
