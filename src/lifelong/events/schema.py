"""Event schemas: typed fields, checked and coerced a batch at a time, bad rows dead-lettered.

Examples
--------
>>> import pandas as pd
>>> schema = EventSchema({
...     "x1": FieldSpec("float", min=0.0),
...     "device": FieldSpec("category", categories=("desktop", "mobile")),
... })
>>> frame = pd.DataFrame({"event_id": ["a", "b"], "x1": ["1.5", "abc"], "device": ["mobile", "tv"]})
>>> valid, letters = schema.validate(frame, stream="clicks")
>>> valid["x1"].tolist()
[1.5]
>>> letters[0].reason
"x1: expected a number, got 'abc'; device: expected one of ['desktop', 'mobile'], got 'tv'"
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Literal, get_args

import pandas as pd

from lifelong.clock import utc
from lifelong.errors import ConfigError
from lifelong.events.batch import EVENT_ID, EVENT_TIME, DeadLetter
from lifelong.events.coerce import to_bool, to_category, to_float, to_int, to_str, to_timestamp
from lifelong.events.payload import fits_json_bytes, rows_to_json

FieldType = Literal["float", "int", "str", "bool", "category", "timestamp"]
FIELD_TYPES: tuple[str, ...] = get_args(FieldType)
MISSING = "required field is missing"
_EMPTY_DTYPES = {
    "float": "float64",
    "int": "Int64",
    "str": "str",
    "bool": "boolean",
    "category": "str",
    "timestamp": "datetime64[us, UTC]",
}


@dataclass(frozen=True)
class FieldSpec:
    """Type and constraints of one event field.

    Parameters
    ----------
    type
        ``float``, ``int``, ``str``, ``bool``, ``category`` or ``timestamp``.
    required
        Whether a missing value (or column) sends the row to the dead letters.
    min, max
        Inclusive bounds of a ``float`` or ``int`` field.
    categories
        The allowed values of a ``category`` field.

    Examples
    --------
    >>> FieldSpec("int", min=0, max=10).max
    10
    >>> FieldSpec("category")
    Traceback (most recent call last):
    ...
    lifelong.errors.ConfigError: categories: expected a non-empty tuple of strings for a category field, got None
    """

    type: FieldType
    _: KW_ONLY
    required: bool = True
    min: float | None = None
    max: float | None = None
    categories: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.type not in FIELD_TYPES:
            raise ConfigError(f"type: expected one of {list(FIELD_TYPES)}, got {self.type!r}")
        if self.type == "category":
            values = self.categories
            if (
                not isinstance(values, (tuple, list))
                or not values
                or not all(isinstance(value, str) for value in values)
            ):
                raise ConfigError(
                    "categories: expected a non-empty tuple of strings for a category field, "
                    f"got {values!r}"
                )
            object.__setattr__(self, "categories", tuple(values))
        elif self.categories is not None:
            raise ConfigError(
                f"categories: expected None for a {self.type!r} field, got {self.categories!r}"
            )
        for name in ("min", "max"):
            bound = getattr(self, name)
            if bound is None:
                continue
            if self.type not in ("float", "int"):
                raise ConfigError(f"{name}: expected None for a {self.type!r} field, got {bound!r}")
            if isinstance(bound, bool) or not isinstance(bound, (int, float)):
                raise ConfigError(f"{name}: expected a number, got {bound!r}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ConfigError(f"min: expected a value <= max ({self.max}), got {self.min}")


def _coerce(series: pd.Series, spec: FieldSpec) -> tuple[pd.Series, pd.Series]:
    if spec.type == "float":
        return to_float(series, low=spec.min, high=spec.max)
    if spec.type == "int":
        return to_int(series, low=spec.min, high=spec.max)
    if spec.type == "str":
        return to_str(series)
    if spec.type == "bool":
        return to_bool(series)
    if spec.type == "category":
        return to_category(series, spec.categories or ())
    return to_timestamp(series)


def _is_missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _tighten(series: pd.Series) -> pd.Series:
    """Plain numpy dtypes for nullable integer and boolean columns without missing values."""
    if not isinstance(series.dtype, (pd.Int64Dtype, pd.BooleanDtype)) or series.isna().any():
        return series
    return series.astype("int64" if isinstance(series.dtype, pd.Int64Dtype) else "bool")


class EventSchema:
    """Typed fields of a stream's events; :meth:`validate` splits a batch into good and bad rows.

    Parameters
    ----------
    fields
        Field name to :class:`FieldSpec`. Columns not named here pass through unchanged;
        ``event_id`` (a non-empty string) and ``event_time`` (a timestamp) are checked
        whenever the frame has them, unless ``fields`` says otherwise.
    max_future
        Largest allowed lead of ``event_time`` over ``now`` (clock skew, bad producers).
    max_payload_bytes
        Largest allowed size of a row written as JSON.
    """

    def __init__(
        self,
        fields: Mapping[str, FieldSpec],
        *,
        max_future: timedelta | None = None,
        max_payload_bytes: int | None = None,
    ) -> None:
        for name, spec in fields.items():
            if not isinstance(name, str) or not name:
                raise ConfigError(f"fields: expected non-empty string names, got {name!r}")
            if not isinstance(spec, FieldSpec):
                raise ConfigError(f"fields.{name}: expected a FieldSpec, got {spec!r}")
        if max_future is not None and (
            not isinstance(max_future, timedelta) or max_future < timedelta(0)
        ):
            raise ConfigError(f"max_future: expected a timedelta >= 0, got {max_future!r}")
        if max_payload_bytes is not None and (
            isinstance(max_payload_bytes, bool)
            or not isinstance(max_payload_bytes, int)
            or max_payload_bytes <= 0
        ):
            raise ConfigError(
                f"max_payload_bytes: expected an integer > 0, got {max_payload_bytes!r}"
            )
        self._fields = MappingProxyType(dict(fields))
        self._max_future = max_future
        self._max_payload_bytes = max_payload_bytes

    @property
    def fields(self) -> Mapping[str, FieldSpec]:
        """Field name to specification (read-only)."""
        return self._fields

    @property
    def max_future(self) -> timedelta | None:
        """Largest allowed lead of ``event_time`` over ``now``."""
        return self._max_future

    @property
    def max_payload_bytes(self) -> int | None:
        """Largest allowed size of one row as JSON."""
        return self._max_payload_bytes

    def _specs(self, columns: pd.Index) -> dict[str, FieldSpec]:
        specs = dict(self._fields)
        if EVENT_ID in columns and EVENT_ID not in specs:
            specs[EVENT_ID] = FieldSpec("str")
        if EVENT_TIME in columns and EVENT_TIME not in specs:
            specs[EVENT_TIME] = FieldSpec("timestamp")
        return specs

    def validate(
        self,
        frame: pd.DataFrame,
        *,
        stream: str,
        source: str | None = None,
        now: datetime | None = None,
        payloads: Sequence[str] | None = None,
    ) -> tuple[pd.DataFrame, list[DeadLetter]]:
        """Rows that match the schema, coerced to their types, and a dead letter for each other.

        Parameters
        ----------
        frame
            A batch of events.
        stream, source
            Recorded on the dead letters.
        now
            Reference time of ``max_future`` (default: the system time).
        payloads
            The raw text of each row, when there is one (a JSON message); by default a
            dead letter's payload is its row written as JSON.

        Returns
        -------
        tuple
            The valid rows (index reset) and the dead letters, in row order. A dead letter's
            reason names every failing field, e.g. ``x1: expected a number, got 'abc'``.
        """
        data = frame.reset_index(drop=True)
        if payloads is not None and len(payloads) != len(data):
            raise ConfigError(
                f"payloads: expected {len(data)} texts, one per row, got {len(payloads)}"
            )
        rows = len(data)
        problems: list[pd.Series] = []
        coerced: dict[str, pd.Series] = {}
        for name, spec in self._specs(data.columns).items():
            if name not in data.columns:
                coerced[name] = pd.Series(None, index=data.index, dtype=_EMPTY_DTYPES[spec.type])
                if spec.required and rows:
                    problems.append(pd.Series(f"{name}: {MISSING}", index=data.index))
                continue
            raw = data[name]
            values, messages = _coerce(raw, spec)
            if spec.required:
                missing = raw.isna().to_numpy()
                if missing.any():
                    messages = pd.concat([messages, pd.Series(MISSING, index=data.index[missing])])
            if name == EVENT_ID:
                empty = (values.str.len() == 0).fillna(False).astype(bool)
                if empty.any():
                    blank = pd.Series("expected a non-empty string, got ''", index=data.index[empty])
                    messages = pd.concat([messages, blank])
            if len(messages):
                problems.append(f"{name}: " + messages.astype(object))
            coerced[name] = values
        if self._max_future is not None and EVENT_TIME in coerced:
            reference = utc(now) if now is not None else datetime.now(UTC)
            times = coerced[EVENT_TIME]
            ahead = times > pd.Timestamp(reference + self._max_future)
            problems.append(
                pd.Series(
                    [
                        f"{EVENT_TIME}: {value.isoformat()} is more than {self._max_future} in the future"
                        for value in times[ahead]
                    ],
                    index=data.index[ahead],
                    dtype=object,
                )
            )
        if self._max_payload_bytes is not None and rows and not fits_json_bytes(data, self._max_payload_bytes):
            texts = list(payloads) if payloads is not None else rows_to_json(data)
            sizes = pd.Series([len(text.encode("utf-8")) for text in texts], index=data.index)
            large = sizes > self._max_payload_bytes
            problems.append(
                f"payload: expected at most {self._max_payload_bytes} bytes, got "
                + sizes[large].astype(str).astype(object)
            )
        return self._split(data, coerced, problems, stream, source, payloads)

    def _split(
        self,
        data: pd.DataFrame,
        coerced: dict[str, pd.Series],
        problems: list[pd.Series],
        stream: str,
        source: str | None,
        payloads: Sequence[str] | None,
    ) -> tuple[pd.DataFrame, list[DeadLetter]]:
        found = [part for part in problems if len(part)]
        reasons = pd.concat(found) if found else pd.Series(dtype=object)
        bad = sorted(set(reasons.index.tolist()))
        letters: list[DeadLetter] = []
        if bad:
            grouped = reasons.groupby(level=0, sort=True).agg(list)
            texts = (
                [payloads[i] for i in bad] if payloads is not None else rows_to_json(data.iloc[bad])
            )
            ids = data[EVENT_ID] if EVENT_ID in data.columns else None
            for position, text in zip(bad, texts, strict=True):
                messages: list[str] = grouped[position]
                event_id = ids.iloc[position] if ids is not None else None
                letters.append(
                    DeadLetter(
                        stream=stream,
                        reason="; ".join(messages),
                        payload=text,
                        field=messages[0].split(":", 1)[0],
                        event_id=None if _is_missing(event_id) else str(event_id),
                        source=source,
                    )
                )
        columns = {name: coerced.get(name, data[name]) for name in data.columns}
        columns.update({name: values for name, values in coerced.items() if name not in columns})
        out = pd.DataFrame(columns, index=data.index, copy=True)
        if bad:
            out = out[~data.index.isin(bad)].reset_index(drop=True)
        for name in coerced:
            column = out[name]
            tight = _tighten(column)
            if tight is not column:  # replaced only where the dtype changes
                out[name] = tight
        return out, letters


__all__ = ["FIELD_TYPES", "EventSchema", "FieldSpec", "FieldType"]
