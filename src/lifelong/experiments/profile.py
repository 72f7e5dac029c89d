"""Profile a CSV stream for ``lifelong simulate``: validate it and infer its features.

Examples
--------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
>>> _ = path.write_text("ts,x,colour,y\\n2024-01-01,1.5,red,0\\n2024-01-02,0.5,blue,1\\n")
>>> profile = profile_stream(path, timestamp="ts", target="y", initial_fraction=1.0)
>>> profile.numeric, profile.categorical, profile.classes
(('x',), {'colour': ('blue', 'red')}, (0, 1))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from lifelong.errors import ConfigError, DataError


@dataclass(frozen=True)
class StreamProfile:
    """What a simulation needs to know about a stream."""

    path: Path
    timestamp: str
    target: str
    rows: int
    numeric: tuple[str, ...]
    categorical: dict[str, tuple[str, ...]]
    classes: tuple[object, ...]
    spacing: timedelta
    dropped: dict[str, str] = field(default_factory=dict)


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise ConfigError(f"--data: expected an existing CSV file, got {str(path)!r}")
    try:
        return pd.read_csv(path, low_memory=False)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"--data: expected a readable CSV file, got {path.name}: {exc}") from exc


def profile_stream(
    path: Path,
    *,
    timestamp: str,
    target: str,
    drop: Sequence[str] = (),
    max_categories: int = 50,
    initial_fraction: float = 0.1,
) -> StreamProfile:
    """Validate ``path`` as a time-ordered labeled stream and infer numeric and categorical features.

    Feature inference: every column other than the timestamp, the target and ``drop`` is a
    feature. A column of numbers (integers or floats, missing values allowed) is numeric; any
    other column (text, booleans, mixed) is categorical, with the distinct values of the first
    ``initial_fraction`` of rows as its categories, so nothing from the future leaks in (a value
    first seen later is encoded as all zeros: ``unseen: ignore``). A categorical column with
    more than ``max_categories`` values in those rows (an id, free text) is dropped and reported
    in ``dropped``.
    """
    frame = _read(path)
    columns = list(frame.columns)
    unknown = [name for name in drop if name not in frame.columns]
    if unknown:
        raise DataError(f"--drop: columns {unknown} not found; the file has columns {columns}")
    if timestamp not in frame.columns:
        raise DataError(f"--timestamp: column {timestamp!r} not found; the file has columns {columns}")
    if target not in frame.columns:
        raise DataError(f"--target: column {target!r} not found; the file has columns {columns}")
    if len(frame) < 2:
        raise DataError(f"--data: expected at least 2 rows, got {len(frame)}")
    times = pd.to_datetime(frame[timestamp], utc=True, errors="coerce", format="mixed")
    bad = np.flatnonzero(times.isna().to_numpy())
    if len(bad):
        row = int(bad[0])
        raise DataError(f"{timestamp}: expected a time in every row, got {frame[timestamp].iloc[row]!r} in row {row + 1}")
    backwards = np.flatnonzero((times.diff() < pd.Timedelta(0)).to_numpy())
    if len(backwards):
        row = int(backwards[0])
        raise DataError(
            f"{timestamp}: expected times in increasing order, but row {row + 1} ({times.iloc[row].isoformat()}) "
            f"comes before row {row} ({times.iloc[row - 1].isoformat()}); sort the file by time"
        )
    empty = [str(c) for c in frame.columns if c not in drop and frame[c].isna().all()]
    if empty:
        raise DataError(f"columns {empty}: every value is missing; drop or fill them")
    labels = frame[target].dropna()
    classes = sorted(pd.unique(labels).tolist(), key=str)
    if len(classes) < 2:
        raise DataError(f"{target}: expected at least two classes to predict, got only {classes}")
    initial = frame.head(max(1, int(len(frame) * initial_fraction)))
    numeric: list[str] = []
    categorical: dict[str, tuple[str, ...]] = {}
    dropped: dict[str, str] = {}
    for column in frame.columns:
        if column in (timestamp, target) or column in drop:
            continue
        series = frame[column]
        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            values = sorted({str(v) for v in initial[column].dropna().unique()})
            if 0 < len(values) <= max_categories:
                categorical[str(column)] = tuple(values)
            else:
                dropped[str(column)] = f"{len(values)} distinct values in the first rows (more than {max_categories})"
        else:
            numeric.append(str(column))
    if not numeric and not categorical:
        raise DataError(f"--data: expected at least one feature column besides {timestamp!r} and {target!r}, got none")
    spacing = (times.iloc[-1] - times.iloc[0]) / max(1, len(frame) - 1)
    return StreamProfile(
        path=path.resolve(),
        timestamp=timestamp,
        target=target,
        rows=len(frame),
        numeric=tuple(numeric),
        categorical=categorical,
        classes=tuple(classes),
        spacing=spacing.to_pytimedelta() if spacing > pd.Timedelta(0) else timedelta(seconds=1),
        dropped=dropped,
    )


__all__ = ["StreamProfile", "profile_stream"]
