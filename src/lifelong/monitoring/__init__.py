"""Monitoring: drift detectors, windowed drift tests, performance with and without labels, alerts.

Names are imported on first use (PEP 562), so that importing one light module (alerts, the
streaming detectors) does not load the training stack that the pipeline-facing ones need.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Alert": "alerts",
    "AlertDispatcher": "alerts",
    "AlertSink": "alerts",
    "Delivery": "alerts",
    "LogSink": "alerts",
    "WebhookSink": "alerts",
    "DriftReport": "batch",
    "FeatureDrift": "batch",
    "FeatureDriftTest": "batch",
    "CBPE": "cbpe",
    "Estimate": "cbpe",
    "MonitorContext": "context",
    "CostHistory": "costs",
    "UpdateRecord": "costs",
    "cost_history": "costs",
    "PerformanceAssessment": "degradation",
    "assess_performance": "degradation",
    "DriftDetector": "detectors",
    "DriftAssessment": "drift",
    "DriftPolicy": "drift",
    "assess_drift": "drift",
    "MonitorHistory": "history",
    "MonitorWindow": "history",
    "monitor_history": "history",
    "drifted_importance": "importance",
    "feature_weights": "importance",
    "PerformanceMonitor": "performance",
    "WindowPerformance": "performance",
    "Persistence": "persistence",
    "ADWINDetector": "streaming",
    "DDMDetector": "streaming",
    "EDDMDetector": "streaming",
    "HDDMADetector": "streaming",
    "HDDMWDetector": "streaming",
    "KSWINDetector": "streaming",
    "PageHinkleyDetector": "streaming",
    "build_detector": "streaming",
    "Detection": "watch",
    "DetectorAssessment": "watch",
    "DetectorWatch": "watch",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lifelong.monitoring' has no attribute {name!r}")
    return getattr(importlib.import_module(f"lifelong.monitoring.{module}"), name)


def __dir__() -> list[str]:
    return sorted(_EXPORTS)


__all__ = [
    "CBPE",
    "ADWINDetector",
    "Alert",
    "AlertDispatcher",
    "AlertSink",
    "CostHistory",
    "DDMDetector",
    "Delivery",
    "Detection",
    "DetectorAssessment",
    "DetectorWatch",
    "DriftAssessment",
    "DriftDetector",
    "DriftPolicy",
    "DriftReport",
    "EDDMDetector",
    "Estimate",
    "FeatureDrift",
    "FeatureDriftTest",
    "HDDMADetector",
    "HDDMWDetector",
    "KSWINDetector",
    "LogSink",
    "MonitorContext",
    "MonitorHistory",
    "MonitorWindow",
    "PageHinkleyDetector",
    "PerformanceAssessment",
    "PerformanceMonitor",
    "Persistence",
    "UpdateRecord",
    "WebhookSink",
    "WindowPerformance",
    "assess_drift",
    "assess_performance",
    "build_detector",
    "cost_history",
    "drifted_importance",
    "feature_weights",
    "monitor_history",
]
