"""Labels: natural labels joined from feedback, label columns, labeling functions, human labels.

Examples
--------
>>> from lifelong.labels import ColumnLabeler, HumanOverride, Labeler
>>> isinstance(ColumnLabeler("label"), Labeler)
True
>>> isinstance(HumanOverride(ColumnLabeler("y"), rows_stream="events"), Labeler)
True
"""

from __future__ import annotations

from lifelong.labels.analysis import flat_stats, lf_summary, unflatten, window_stats
from lifelong.labels.answers import ImportReport, import_answers, read_answers, validate_answers
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
from lifelong.labels.factory import function_labeler, labeler_from_config, with_human_labels
from lifelong.labels.functions import ABSTAIN, FunctionLabeler, Row, load_function
from lifelong.labels.human import (
    HUMAN_STREAM,
    LABEL_ANNOTATOR,
    HumanOverride,
    decided_labels,
    labeled_keys,
)
from lifelong.labels.natural import NaturalLabelJoin
from lifelong.labels.queue import (
    build_queue,
    candidate_rows,
    drift_scores,
    uncertainty_scores,
    write_queue,
)
from lifelong.labels.vote import combine_votes, label_model_vote, majority_vote

__all__ = [
    "ABSTAIN",
    "HUMAN_STREAM",
    "LABEL",
    "LABEL_ANNOTATOR",
    "LABEL_SOURCE",
    "LABEL_TIME",
    "ColumnLabeler",
    "FunctionLabeler",
    "HumanOverride",
    "ImportReport",
    "LabelSource",
    "LabeledWindow",
    "Labeler",
    "NaturalLabelJoin",
    "Row",
    "build_queue",
    "candidate_rows",
    "combine_votes",
    "decided_labels",
    "delay_stats",
    "drift_scores",
    "flat_stats",
    "function_labeler",
    "import_answers",
    "label_model_vote",
    "labeled_keys",
    "labeler_from_config",
    "lf_summary",
    "load_function",
    "majority_vote",
    "read_answers",
    "uncertainty_scores",
    "unflatten",
    "validate_answers",
    "window_stats",
    "with_human_labels",
    "write_queue",
]
