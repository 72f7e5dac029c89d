"""Raw payloads of events as JSON text, for dead letters and size limits.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"x": [1.5, None], "t": pd.to_datetime(["2024-01-01", None], utc=True)})
>>> rows_to_json(frame)
['{"x":1.5,"t":"2024-01-01T00:00:00+00:00"}', '{"x":null,"t":null}']
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from typing import Any

import numpy as np
import orjson
import pandas as pd

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    """Turn what orjson cannot serialise into JSON values (missing values become null)."""
    if value is pd.NaT or value is pd.NA or value is None:
        return None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else str(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def show(value: Any) -> str:
    """``value`` as it appears in an error message: the repr of the plain Python value."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str) and len(value) > 80:
        return repr(value[:77] + "...")
    return repr(value)


def to_json(value: Any) -> str:
    """``value`` as compact JSON text; values JSON cannot hold are written as strings."""
    try:
        return orjson.dumps(value, default=_default, option=_OPTIONS).decode("utf-8")
    except orjson.JSONEncodeError:  # integers beyond 64 bits: the standard encoder holds them
        return json.dumps(value, default=_default, separators=(",", ":"), ensure_ascii=False)


def rows_to_json(frame: pd.DataFrame) -> list[str]:
    """Each row of ``frame`` as a JSON object, in the frame's column order."""
    columns = [str(column) for column in frame.columns]
    return [
        to_json(dict(zip(columns, row, strict=True)))
        for row in frame.itertuples(index=False, name=None)
    ]


_FIXED_WIDTH = {"b": 5, "i": 20, "u": 20, "f": 24, "M": 48}  # false, -2**63, -1.7976931348623157e+308, a time


def fits_json_bytes(frame: pd.DataFrame, limit: int) -> bool:
    """Whether every row of :func:`rows_to_json` surely fits in ``limit`` UTF-8 bytes.

    A bound from the column types (and the longest text of each text column), no row is
    written: False means "perhaps not", and the caller measures the rows themselves.

    Examples
    --------
    >>> frame = pd.DataFrame({"x": [1.5, None], "name": ["a", "bc"]})
    >>> fits_json_bytes(frame, 100), fits_json_bytes(frame, 20)
    (True, False)
    """
    total = 2 + max(0, frame.shape[1] - 1)  # braces and commas
    for column in frame.columns:
        series = frame[column]
        total += len(to_json(str(column)).encode("utf-8")) + 1 + 4  # the key, its colon; null
        width = _FIXED_WIDTH.get(series.dtype.kind)
        if width is None:
            texts = isinstance(series.dtype, pd.StringDtype) or (
                series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty")
            )
            if not texts:
                return False
            longest = series.str.len().max()
            # the quotes, and six bytes a character at worst (a \u escape)
            width = 2 + 6 * int(0 if pd.isna(longest) else longest)
        total += width
        if total > limit:
            return False
    return True


__all__ = ["fits_json_bytes", "rows_to_json", "show", "to_json"]
