"""Triggers: when a model should update, and why."""

from __future__ import annotations

from lifelong.triggers.base import Decision, Trigger, TriggerState
from lifelong.triggers.combine import CombinedTrigger
from lifelong.triggers.cost import CostAwareTrigger
from lifelong.triggers.detector import DetectorTrigger
from lifelong.triggers.drift import DriftTrigger
from lifelong.triggers.factory import build_leaf, build_trigger
from lifelong.triggers.firing import (
    FiringJournal,
    firing_id,
    versions_for,
    with_firing_id,
)
from lifelong.triggers.performance import PerformanceTrigger
from lifelong.triggers.time import CronTrigger, IntervalTrigger
from lifelong.triggers.volume import VolumeTrigger

__all__ = [
    "CombinedTrigger",
    "CostAwareTrigger",
    "CronTrigger",
    "Decision",
    "DetectorTrigger",
    "DriftTrigger",
    "FiringJournal",
    "IntervalTrigger",
    "PerformanceTrigger",
    "Trigger",
    "TriggerState",
    "VolumeTrigger",
    "build_leaf",
    "build_trigger",
    "firing_id",
    "versions_for",
    "with_firing_id",
]
