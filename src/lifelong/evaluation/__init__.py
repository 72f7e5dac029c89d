"""Offline evaluation: metrics, gates and the challenger-versus-champion evaluator."""

from __future__ import annotations

from lifelong.evaluation.evaluator import EvaluationReport, Evaluator, Predictor
from lifelong.evaluation.gates import Comparison, Gate, GateResult, MinimumRowsGate, NotWorseGate
from lifelong.evaluation.metrics import Metric, get_metric

__all__ = [
    "Comparison",
    "EvaluationReport",
    "Evaluator",
    "Gate",
    "GateResult",
    "Metric",
    "MinimumRowsGate",
    "NotWorseGate",
    "Predictor",
    "get_metric",
]
