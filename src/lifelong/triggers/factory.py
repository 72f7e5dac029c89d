"""Build triggers from the ``triggers`` section of ``lifelong.yaml``."""

from __future__ import annotations

from typing import Any

from lifelong.config import (
    CostTriggerConfig,
    CronTriggerConfig,
    DetectorTriggerConfig,
    DriftTriggerConfig,
    IntervalTriggerConfig,
    LeafTriggerConfig,
    PerformanceTriggerConfig,
    TriggersConfig,
    VolumeTriggerConfig,
)
from lifelong.triggers.base import Trigger
from lifelong.triggers.combine import CombinedTrigger
from lifelong.triggers.cost import CostAwareTrigger
from lifelong.triggers.detector import DetectorTrigger
from lifelong.triggers.drift import DriftTrigger
from lifelong.triggers.performance import PerformanceTrigger
from lifelong.triggers.time import CronTrigger, IntervalTrigger
from lifelong.triggers.volume import VolumeTrigger


def _arguments(leaf: LeafTriggerConfig) -> dict[str, Any]:
    """The config's fields as Python values (durations stay timedeltas), without ``kind``."""
    return {name: getattr(leaf, name) for name in type(leaf).model_fields if name != "kind"}


def build_leaf(leaf: LeafTriggerConfig) -> Trigger:
    """The trigger one entry of ``triggers.triggers`` describes."""
    if isinstance(leaf, IntervalTriggerConfig):
        return IntervalTrigger(every=leaf.every)
    if isinstance(leaf, CronTriggerConfig):
        return CronTrigger(expression=leaf.expression)
    if isinstance(leaf, VolumeTriggerConfig):
        return VolumeTrigger(growth=leaf.growth, min_rows=leaf.min_rows)
    if isinstance(leaf, DriftTriggerConfig):
        return DriftTrigger(**_arguments(leaf))
    if isinstance(leaf, PerformanceTriggerConfig):
        return PerformanceTrigger(**_arguments(leaf))
    if isinstance(leaf, CostTriggerConfig):
        return CostAwareTrigger(**_arguments(leaf))
    if isinstance(leaf, DetectorTriggerConfig):
        from lifelong.monitoring.streaming import build_detector

        params = {name: value for name, value in leaf.detector.model_dump().items() if name != "kind"}
        arguments = {**_arguments(leaf), "detector": build_detector(leaf.detector.kind, **params)}
        return DetectorTrigger(**arguments)
    raise TypeError(f"trigger config of type {type(leaf).__name__} has no builder")  # unreachable: the union is closed


def build_trigger(config: TriggersConfig) -> CombinedTrigger:
    """The combined trigger the config describes.

    Examples
    --------
    >>> build_trigger(TriggersConfig()).triggers[0].kind
    'interval'
    >>> from lifelong.config import DriftTriggerConfig
    >>> build_trigger(TriggersConfig(triggers=(DriftTriggerConfig(kind="drift", persistence=3),))).triggers[0].policy.persistence
    3
    >>> leaf = TriggersConfig.model_validate({"triggers": [{"kind": "detector", "detector": {"kind": "kswin", "alpha": 0.001}}]})
    >>> build_trigger(leaf).triggers[0].detector
    KSWINDetector(alpha=0.001, window_size=100, stat_size=30, seed=0)
    """
    leaves = [build_leaf(leaf) for leaf in config.triggers]
    return CombinedTrigger(leaves, combine=config.combine, cooldown=config.cooldown)


__all__ = ["build_leaf", "build_trigger"]
