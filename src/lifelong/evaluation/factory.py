"""Gates built from their config sections.

Examples
--------
>>> from lifelong.config import SlicesGateConfig
>>> build_gate(SlicesGateConfig(kind="slices", columns=("device",))).kind
'slices'
"""

from __future__ import annotations

from lifelong.config import (
    CalibrationGateConfig,
    ForgettingGateConfig,
    GateConfig,
    InfraGateConfig,
    InvarianceGateConfig,
    LabelQualityGateConfig,
    MinimumRowsGateConfig,
    NotWorseGateConfig,
    SignificanceGateConfig,
    SlicesGateConfig,
)
from lifelong.errors import ConfigError
from lifelong.evaluation.calibration import CalibrationGate
from lifelong.evaluation.forgetting import ForgettingGate
from lifelong.evaluation.gates import Gate, MinimumRowsGate, NotWorseGate
from lifelong.evaluation.infra import InfraGate
from lifelong.evaluation.invariance import InvarianceGate
from lifelong.evaluation.poisoning import LabelQualityGate
from lifelong.evaluation.significance import SignificanceGate
from lifelong.evaluation.slices import SliceGate


def build_gate(config: GateConfig) -> Gate:
    """The gate a config section describes."""
    if isinstance(config, NotWorseGateConfig):
        return NotWorseGate(tolerance=config.tolerance)
    if isinstance(config, MinimumRowsGateConfig):
        return MinimumRowsGate(rows=config.rows)
    if isinstance(config, SignificanceGateConfig):
        return SignificanceGate(
            test=config.test,
            min_gain=config.min_gain,
            alpha=config.alpha,
            resamples=config.resamples,
            seed=config.seed,
        )
    if isinstance(config, SlicesGateConfig):
        return SliceGate(
            columns=config.columns,
            tolerance=config.tolerance,
            min_rows=config.min_rows,
            max_slices=config.max_slices,
        )
    if isinstance(config, ForgettingGateConfig):
        return ForgettingGate(tolerance=config.tolerance, min_rows=config.min_rows)
    if isinstance(config, CalibrationGateConfig):
        return CalibrationGate(bins=config.bins, max_ece=config.max_ece, max_increase=config.max_increase)
    if isinstance(config, InfraGateConfig):
        return InfraGate(
            requests=config.requests,
            max_p99_ms=config.max_p99_ms,
            max_artifact_mb=config.max_artifact_mb,
            timeout_seconds=config.timeout.total_seconds(),
        )
    if isinstance(config, InvarianceGateConfig):
        return InvarianceGate(checks=config.checks, rows=config.rows, seed=config.seed)
    if isinstance(config, LabelQualityGateConfig):
        return LabelQualityGate(
            source_column=config.source_column,
            confidence=config.confidence,
            alpha=config.alpha,
            min_rows=config.min_rows,
            min_increase=config.min_increase,
            throttle=config.throttle,
        )
    raise ConfigError(f"evaluation.gates.kind: expected a known gate, got {config!r}")


__all__ = ["build_gate"]
