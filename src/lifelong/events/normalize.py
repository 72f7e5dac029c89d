"""Checks and coercions shared by every event store: stream names, ids and event times.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"event_id": ["a"], "event_time": pd.to_datetime(["2024-01-01 12:00"])})
>>> str(normalize_events(frame)["event_time"].dtype)
'datetime64[us, UTC]'
>>> check_stream_name("../etc")
Traceback (most recent call last):
...
lifelong.errors.ConfigError: stream: expected letters, digits, '_' or '-' (starting with a letter or digit, at most 128 characters), got '../etc'
"""

from __future__ import annotations

import re
from datetime import datetime

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lifelong.errors import ConfigError, ValidationError
from lifelong.events.batch import EVENT_ID, EVENT_TIME
from lifelong.events.payload import show

_STREAM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
TIME_DTYPE = "datetime64[us, UTC]"
ARROW_TIME = pa.timestamp("us", tz="UTC")


def check_stream_name(stream: object) -> str:
    """Return ``stream`` if it is a safe stream name (also a safe directory name)."""
    if not isinstance(stream, str) or _STREAM_NAME.fullmatch(stream) is None:
        raise ConfigError(
            "stream: expected letters, digits, '_' or '-' (starting with a letter or digit, "
            f"at most 128 characters), got {stream!r}"
        )
    return stream


def to_utc_micros(series: pd.Series, *, column: str) -> pd.Series:
    """Datetimes of ``series`` as UTC microsecond timestamps (naive values are taken as UTC).

    Anything that is not a timestamp, and missing values, raise :class:`ValidationError`.
    """
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        times = series.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(series.dtype):
        times = series.dt.tz_localize("UTC")
    elif series.dtype == object:
        bad = ~series.map(lambda value: isinstance(value, datetime) or value is pd.NaT)
        if bad.any():
            position = int(bad.to_numpy().argmax())
            raise ValidationError(
                f"{column}: expected timestamps, got {show(series.iloc[position])} at row {position}",
                field=column,
            )
        times = pd.to_datetime(series, utc=True)
    else:
        raise ValidationError(
            f"{column}: expected timestamps, got a column of {series.dtype}", field=column
        )
    missing = times.isna()
    if missing.any():
        position = int(missing.to_numpy().argmax())
        raise ValidationError(
            f"{column}: expected a timestamp in every row, got a missing value at row {position}",
            field=column,
        )
    return times.dt.floor("us").astype(TIME_DTYPE)


def _check_ids(series: pd.Series, *, column: str) -> pd.Series:
    missing = series.isna()
    if missing.any():
        position = int(missing.to_numpy().argmax())
        raise ValidationError(
            f"{column}: expected a non-empty string in every row, got a missing value at row {position}",
            field=column,
        )
    if not isinstance(series.dtype, pd.StringDtype):
        not_str = ~series.map(lambda value: isinstance(value, str))
        if not_str.any():
            position = int(not_str.to_numpy().argmax())
            raise ValidationError(
                f"{column}: expected strings, got {show(series.iloc[position])} at row {position}",
                field=column,
            )
    empty = series.str.len() == 0
    if empty.any():
        position = int(empty.to_numpy().argmax())
        raise ValidationError(
            f"{column}: expected a non-empty string in every row, got '' at row {position}",
            field=column,
        )
    return series.astype("str")


def normalize_events(
    frame: pd.DataFrame, *, id_column: str = EVENT_ID, time_column: str = EVENT_TIME
) -> pd.DataFrame:
    """A copy of ``frame`` with string ids and UTC microsecond times, ready to be stored.

    Raises
    ------
    ValidationError
        When a required column is missing, an id is not a non-empty string, a time is not a
        timestamp, or a payload column mixes types that Parquet cannot store; the message
        names the column.
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValidationError(f"frame: expected a pandas DataFrame, got {type(frame).__name__}")
    names = list(frame.columns)
    for name in names:
        if not isinstance(name, str):
            raise ValidationError(f"columns: expected string column names, got {name!r}")
    if len(set(names)) != len(names):
        repeated = sorted({name for name in names if names.count(name) > 1})
        raise ValidationError(f"columns: expected unique column names, got {repeated} repeated")
    for required in (id_column, time_column):
        if required not in frame.columns:
            raise ValidationError(
                f"{required}: required column is missing; got columns {names}", field=required
            )
    out = frame.reset_index(drop=True)
    out[id_column] = _check_ids(out[id_column], column=id_column)
    out[time_column] = to_utc_micros(out[time_column], column=time_column)
    return out


def _first_row(mask: pa.Array | pa.ChunkedArray) -> int:
    return int(pc.index(mask, True).as_py())


def normalize_table(
    table: pa.Table, *, id_column: str = EVENT_ID, time_column: str = EVENT_TIME
) -> pa.Table:
    """:func:`normalize_events` for an Arrow table: string ids, UTC microsecond times.

    Raises
    ------
    ValidationError
        When a required column is missing, an id is not a non-empty string or a time is not
        a timestamp; the message names the column and the first bad row.
    """
    names = table.column_names
    if len(set(names)) != len(names):
        repeated = sorted({name for name in names if names.count(name) > 1})
        raise ValidationError(f"columns: expected unique column names, got {repeated} repeated")
    for required in (id_column, time_column):
        if required not in names:
            raise ValidationError(
                f"{required}: required column is missing; got columns {names}", field=required
            )
    ids = table.column(id_column)
    if not (pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type)):
        raise ValidationError(f"{id_column}: expected strings, got a column of {ids.type}", field=id_column)
    if ids.null_count:
        raise ValidationError(
            f"{id_column}: expected a non-empty string in every row, got a missing value at row "
            f"{_first_row(ids.is_null())}",
            field=id_column,
        )
    empty = pc.equal(pc.utf8_length(ids), 0)
    if pc.any(empty).as_py():
        raise ValidationError(
            f"{id_column}: expected a non-empty string in every row, got '' at row {_first_row(empty)}",
            field=id_column,
        )
    times = table.column(time_column)
    if not pa.types.is_timestamp(times.type):
        raise ValidationError(
            f"{time_column}: expected timestamps, got a column of {times.type}", field=time_column
        )
    if times.null_count:
        raise ValidationError(
            f"{time_column}: expected a timestamp in every row, got a missing value at row "
            f"{_first_row(times.is_null())}",
            field=time_column,
        )
    if times.type != ARROW_TIME:
        times = pc.cast(times.cast(pa.timestamp(times.type.unit)), pa.timestamp("us"), safe=False).cast(ARROW_TIME)
    table = table.set_column(names.index(time_column), time_column, times)
    if pa.types.is_string(ids.type):
        table = table.set_column(names.index(id_column), id_column, ids.cast(pa.large_string()))
    return table


def to_arrow(frame: pd.DataFrame) -> pa.Table:
    """``frame`` as an Arrow table; a column Arrow cannot hold raises naming the column."""
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        for name in frame.columns:
            try:
                pa.array(frame[name], from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as inner:
                raise ValidationError(
                    f"{name}: expected values of one storable type, got {inner}", field=str(name)
                ) from exc
        raise ValidationError(f"frame: cannot be stored as Parquet: {exc}") from exc


__all__ = ["ARROW_TIME", "TIME_DTYPE", "check_stream_name", "normalize_events", "normalize_table", "to_arrow", "to_utc_micros"]
