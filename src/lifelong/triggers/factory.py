"""Build triggers from the ``triggers`` section of ``lifelong.yaml``."""

from __future__ import annotations

from lifelong.config import CronTriggerConfig, IntervalTriggerConfig, TriggersConfig, VolumeTriggerConfig
from lifelong.triggers.base import Trigger
from lifelong.triggers.combine import CombinedTrigger
from lifelong.triggers.time import CronTrigger, IntervalTrigger
from lifelong.triggers.volume import VolumeTrigger


def build_trigger(config: TriggersConfig) -> CombinedTrigger:
    """The combined trigger the config describes.

    Examples
    --------
    >>> build_trigger(TriggersConfig()).triggers[0].kind
    'interval'
    """
    leaves: list[Trigger] = []
    for leaf in config.triggers:
        if isinstance(leaf, IntervalTriggerConfig):
            leaves.append(IntervalTrigger(every=leaf.every))
        elif isinstance(leaf, CronTriggerConfig):
            leaves.append(CronTrigger(expression=leaf.expression))
        elif isinstance(leaf, VolumeTriggerConfig):
            leaves.append(VolumeTrigger(growth=leaf.growth, min_rows=leaf.min_rows))
    return CombinedTrigger(leaves, combine=config.combine, cooldown=config.cooldown)


__all__ = ["build_trigger"]
