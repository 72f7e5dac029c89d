"""Labels: natural labels joined from feedback, label columns, and the labeler protocol.

Examples
--------
>>> from lifelong.labels import ColumnLabeler, Labeler
>>> isinstance(ColumnLabeler("label"), Labeler)
True
"""

from __future__ import annotations

from lifelong.labels.base import (
    LABEL,
    LABEL_SOURCE,
    LABEL_TIME,
    LabeledWindow,
    Labeler,
    LabelSource,
    delay_stats,
)
from lifelong.labels.column import ColumnLabeler
from lifelong.labels.natural import NaturalLabelJoin

__all__ = [
    "LABEL",
    "LABEL_SOURCE",
    "LABEL_TIME",
    "ColumnLabeler",
    "LabelSource",
    "LabeledWindow",
    "Labeler",
    "NaturalLabelJoin",
    "delay_stats",
]
