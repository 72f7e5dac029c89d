"""Offline evaluation: metrics, gates and the challenger-versus-champion evaluator."""

from __future__ import annotations

from lifelong.evaluation.calibration import CalibrationGate, expected_calibration_error
from lifelong.evaluation.data import EvaluationData, Predictor, ScoredRows
from lifelong.evaluation.delong import DeLongResult, delong_test
from lifelong.evaluation.evaluator import EvaluationReport, Evaluator
from lifelong.evaluation.factory import build_gate
from lifelong.evaluation.forgetting import ForgettingGate
from lifelong.evaluation.gates import Comparison, Gate, GateResult, MinimumRowsGate, NotWorseGate
from lifelong.evaluation.infra import InfraGate
from lifelong.evaluation.invariance import InvarianceGate
from lifelong.evaluation.metrics import Metric, get_metric
from lifelong.evaluation.paired import Interval, McNemarResult, mcnemar, paired_bootstrap
from lifelong.evaluation.selection import best_passing
from lifelong.evaluation.significance import SignificanceGate
from lifelong.evaluation.slices import SliceGate

__all__ = [
    "CalibrationGate",
    "Comparison",
    "DeLongResult",
    "EvaluationData",
    "EvaluationReport",
    "Evaluator",
    "ForgettingGate",
    "Gate",
    "GateResult",
    "InfraGate",
    "Interval",
    "InvarianceGate",
    "McNemarResult",
    "Metric",
    "MinimumRowsGate",
    "NotWorseGate",
    "Predictor",
    "ScoredRows",
    "SignificanceGate",
    "SliceGate",
    "best_passing",
    "build_gate",
    "delong_test",
    "expected_calibration_error",
    "get_metric",
    "mcnemar",
    "paired_bootstrap",
]
