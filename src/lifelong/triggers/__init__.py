"""Triggers: when a model should update, and why."""

from __future__ import annotations

from lifelong.triggers.base import Decision, Trigger, TriggerState
from lifelong.triggers.combine import CombinedTrigger
from lifelong.triggers.factory import build_trigger
from lifelong.triggers.time import CronTrigger, IntervalTrigger
from lifelong.triggers.volume import VolumeTrigger

__all__ = [
    "CombinedTrigger",
    "CronTrigger",
    "Decision",
    "IntervalTrigger",
    "Trigger",
    "TriggerState",
    "VolumeTrigger",
    "build_trigger",
]
