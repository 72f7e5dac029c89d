"""Coverage, overlap and conflict of labeling functions, as Snorkel's ``LFAnalysis`` defines them.

A label matrix ``L`` has one row per data point and one column per function; entries are
class indices, ``-1`` where the function abstained.

- coverage of a function: the fraction of rows it labels;
- overlap: the fraction of rows it labels that at least one other function also labels;
- conflict: the fraction of rows it labels where some other function gives another label;
- ``label_coverage`` / ``label_overlap`` / ``label_conflict``: the fractions of rows with at
  least one label, at least two labels, and two different labels.

All fractions are over every row of the window (Snorkel's normalization), None for no rows.

Examples
--------
>>> import numpy as np
>>> L = np.array([[0, 0, -1], [1, 0, -1], [-1, -1, -1], [1, -1, 1]])
>>> summary = lf_summary(L, ["a", "b", "c"])
>>> summary.loc["a"].to_dict()
{'polarity': [0, 1], 'coverage': 0.75, 'overlap': 0.75, 'conflict': 0.25}
>>> window_stats(L)
{'label_coverage': 0.75, 'label_overlap': 0.75, 'label_conflict': 0.25}
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from lifelong.errors import ConfigError

ABSTAIN_INDEX = -1
Stat = int | float | None


def _check(L: NDArray[np.integer], names: Sequence[str] | None = None) -> NDArray[np.int64]:
    matrix = np.asarray(L, dtype=np.int64)
    if matrix.ndim != 2:
        raise ConfigError(
            f"L: expected a 2-d label matrix (rows x functions), got shape {matrix.shape}"
        )
    if names is not None and len(names) != matrix.shape[1]:
        raise ConfigError(
            f"names: expected one name per function ({matrix.shape[1]}), got {len(names)}"
        )
    return matrix


def _conflicted(L: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Rows where two functions give different (non-abstain) labels."""
    labeled = L != ABSTAIN_INDEX
    high = np.where(labeled, L, np.iinfo(np.int64).min).max(axis=1, initial=np.iinfo(np.int64).min)
    low = np.where(labeled, L, np.iinfo(np.int64).max).min(axis=1, initial=np.iinfo(np.int64).max)
    conflicted: NDArray[np.bool_] = labeled.any(axis=1) & (high != low)
    return conflicted


def _fraction(mask: NDArray[np.bool_], rows: int) -> float | None:
    return float(mask.sum()) / rows if rows else None


def lf_summary(L: NDArray[np.integer], names: Sequence[str]) -> pd.DataFrame:
    """One row per function: polarity (labels it emits), coverage, overlap, conflict."""
    matrix = _check(L, names)
    rows = matrix.shape[0]
    labeled = matrix != ABSTAIN_INDEX
    several = labeled.sum(axis=1) > 1
    conflicted = _conflicted(matrix)
    records = []
    for j in range(matrix.shape[1]):
        mine = labeled[:, j]
        records.append(
            {
                "polarity": sorted(int(v) for v in np.unique(matrix[mine, j])),
                "coverage": _fraction(mine, rows),
                "overlap": _fraction(mine & several, rows),
                "conflict": _fraction(mine & conflicted, rows),
            }
        )
    return pd.DataFrame.from_records(records, index=pd.Index(list(names), name="function"))


def window_stats(L: NDArray[np.integer]) -> dict[str, Stat]:
    """Fractions of rows with at least one label, two labels, and conflicting labels."""
    matrix = _check(L)
    rows = matrix.shape[0]
    counts = (matrix != ABSTAIN_INDEX).sum(axis=1)
    return {
        "label_coverage": _fraction(counts >= 1, rows),
        "label_overlap": _fraction(counts >= 2, rows),
        "label_conflict": _fraction(_conflicted(matrix), rows),
    }


def flat_stats(summary: pd.DataFrame) -> dict[str, Stat]:
    """Per-function numbers as flat keys ``lf.<name>.coverage|overlap|conflict``."""
    stats: dict[str, Stat] = {}
    for name, row in summary.iterrows():
        for metric in ("coverage", "overlap", "conflict"):
            value = row[metric]
            stats[f"lf.{name}.{metric}"] = None if value is None or pd.isna(value) else float(value)
    return stats


def unflatten(stats: dict[str, Stat]) -> dict[str, dict[str, Stat]]:
    """The per-function numbers of :func:`flat_stats` back as ``{name: {metric: value}}``."""
    table: dict[str, dict[str, Stat]] = {}
    for key, value in stats.items():
        if key.startswith("lf.") and key.count(".") == 2:
            _, name, metric = key.split(".")
            table.setdefault(name, {})[metric] = value
    return table


__all__ = ["ABSTAIN_INDEX", "flat_stats", "lf_summary", "unflatten", "window_stats"]
