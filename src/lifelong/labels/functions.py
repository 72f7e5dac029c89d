"""Labeling functions: plain Python ``(row) -> label | ABSTAIN``, combined per row.

A labeling function encodes a heuristic ("a price above 100 is expensive") and returns a
label or :data:`ABSTAIN` (``-1``, Snorkel's convention; ``None`` abstains too). The row is a
:class:`Row`, a dict that also allows attribute access, so Snorkel-style functions
(``x.price``) and dict-style ones (``row["price"]``) both work. Functions are named in the
spec by dotted path (``mypkg.lfs.high_price`` or ``mypkg.lfs:high_price``) and must be
importable (an installed package, or a folder on ``PYTHONPATH``).

Examples
--------
>>> import tempfile
>>> from datetime import datetime, timezone
>>> import pandas as pd
>>> from lifelong.events import ParquetEventStore
>>> store = ParquetEventStore(tempfile.mkdtemp())
>>> _ = store.append("events", pd.DataFrame({
...     "event_id": ["a", "b", "c"],
...     "event_time": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02"], utc=True),
...     "price": [250.0, 20.0, 80.0],
... }))
>>> def expensive(row):
...     return 1 if row.price > 100 else ABSTAIN
>>> def cheap(row):
...     return 0 if row["price"] < 50 else ABSTAIN
>>> labeler = FunctionLabeler([expensive, cheap])
>>> window = labeler.label(store, None, None, now=datetime(2024, 2, 1, tzinfo=timezone.utc))
>>> window.frame[["event_id", "label", "label_source"]].to_dict("records")
[{'event_id': 'a', 'label': 1, 'label_source': 'function'}, {'event_id': 'b', 'label': 0, 'label_source': 'function'}]
>>> window.stats["abstained"], window.stats["lf.expensive.coverage"]
(1, 0.3333333333333333)
>>> store.close()
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from lifelong.clock import utc
from lifelong.errors import ConfigError, DataError
from lifelong.events.batch import EVENT_ID, EVENT_TIME
from lifelong.events.normalize import check_stream_name
from lifelong.events.store import EventStore
from lifelong.labels.analysis import ABSTAIN_INDEX, flat_stats, lf_summary, window_stats
from lifelong.labels.base import (
    LABEL,
    LABEL_SOURCE,
    LABEL_TIME,
    LabeledWindow,
    Labeler,
    delay_stats,
)
from lifelong.labels.vote import (
    MIN_FUNCTIONS_FOR_LABEL_MODEL,
    Combine,
    combine_votes,
    load_snorkel,
)

ABSTAIN: Final = -1
LabelValue = str | int | bool
LabelingFunction = Callable[["Row"], Any]


class Row(dict[str, Any]):
    """One event as a labeling function sees it: ``row["price"]`` or ``row.price``.

    Examples
    --------
    >>> row = Row({"price": 3.5})
    >>> row.price, row["price"]
    (3.5, 3.5)
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(
                f"row: expected a column named {name!r}, got columns {sorted(self)}"
            ) from None


def function_name(function: LabelingFunction) -> str:
    """The name a function is reported under (Snorkel's ``.name``, else ``__name__``)."""
    name = getattr(function, "name", None) or getattr(function, "__name__", None)
    if not isinstance(name, str) or not name.isidentifier():
        raise ConfigError(
            f"functions: expected functions with identifier names (def, not lambda), got {function!r}"
        )
    return name


def load_function(path: str) -> LabelingFunction:
    """Import the function named by ``path`` (``pkg.module.name`` or ``pkg.module:name``)."""
    if not isinstance(path, str) or ("." not in path and ":" not in path):
        raise ConfigError(
            f"labels.functions: expected a dotted path 'module.function', got {path!r}"
        )
    module_name, _, attribute = path.replace(":", ".").rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"labels.functions: expected an importable module for {path!r} (installed, or on "
            f"PYTHONPATH), got {type(exc).__name__}: {exc}"
        ) from exc
    function = getattr(module, attribute, None)
    if function is None or not callable(function):
        raise ConfigError(
            f"labels.functions: expected {module_name!r} to define a function {attribute!r}, "
            f"got {'nothing' if function is None else type(function).__name__}"
        )
    return function  # type: ignore[no-any-return]


class FunctionLabeler(Labeler):
    """Labels the events of ``stream`` with labeling functions combined per row.

    Parameters
    ----------
    functions
        Callables ``(row) -> label | ABSTAIN``; their names must be distinct.
    classes
        The labels the functions may return; anything else is a DataError naming the
        function and the row.
    combine
        ``majority`` (a tie abstains) or ``label_model`` (Snorkel's LabelModel, at least
        three functions, optional package ``snorkel``).
    stream
        The stream of events to label.
    epochs, seed
        Training of the label model.

    Notes
    -----
    Rows where the combination abstains are left out and counted in ``abstained``. The
    window's stats carry ``label_coverage``, ``label_overlap``, ``label_conflict`` and, per
    function, ``lf.<name>.coverage``, ``lf.<name>.overlap`` and ``lf.<name>.conflict``.
    A label is known at its event's time, so ``label_time`` is ``event_time``.
    """

    def __init__(
        self,
        functions: Sequence[LabelingFunction],
        *,
        classes: Sequence[LabelValue] = (0, 1),
        combine: Combine = "majority",
        stream: str = "events",
        epochs: int = 500,
        seed: int = 0,
    ) -> None:
        if (
            isinstance(functions, str | bytes)
            or not isinstance(functions, Sequence)
            or not functions
        ):
            raise ConfigError(
                f"functions: expected at least one labeling function, got {functions!r}"
            )
        names = [function_name(function) for function in functions]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ConfigError(f"functions: expected distinct function names, got {repeated} twice")
        self._classes = tuple(classes)
        if len(self._classes) < 2 or len({str(c) for c in self._classes}) != len(self._classes):
            raise ConfigError(
                f"classes: expected at least two distinct labels, got {list(classes)}"
            )
        if any(_is_abstain(c) for c in self._classes):
            raise ConfigError(
                f"classes: expected labels other than -1 (ABSTAIN), got {list(classes)}"
            )
        if combine not in ("majority", "label_model"):
            raise ConfigError(f"combine: expected 'majority' or 'label_model', got {combine!r}")
        if combine == "label_model":
            if len(functions) < MIN_FUNCTIONS_FOR_LABEL_MODEL:
                raise ConfigError(
                    f"labels.functions: 'label_model' expected at least "
                    f"{MIN_FUNCTIONS_FOR_LABEL_MODEL} functions, got {len(functions)}"
                )
            load_snorkel()
        if not isinstance(epochs, int) or epochs <= 0:
            raise ConfigError(f"epochs: expected an integer > 0, got {epochs!r}")
        self._functions = tuple(functions)
        self._names = tuple(names)
        self._index = {value: position for position, value in enumerate(self._classes)}
        self._combine: Combine = combine
        self._stream = check_stream_name(stream)
        self._epochs = epochs
        self._seed = seed

    @classmethod
    def from_paths(cls, paths: Sequence[str], **options: Any) -> FunctionLabeler:
        """A labeler of the functions named by dotted paths (see :func:`load_function`)."""
        return cls([load_function(path) for path in paths], **options)

    @property
    def names(self) -> tuple[str, ...]:
        """The functions' names, in order."""
        return self._names

    @property
    def classes(self) -> tuple[LabelValue, ...]:
        """The labels the functions may return."""
        return self._classes

    def apply(self, frame: pd.DataFrame) -> NDArray[np.int64]:
        """The label matrix: one row per row of ``frame``, class indices, ``-1`` for abstain."""
        matrix = np.full((len(frame), len(self._functions)), ABSTAIN_INDEX, dtype=np.int64)
        records: list[dict[str, Any]] = [
            {str(name): value for name, value in record.items()}
            for record in frame.to_dict("records")
        ]
        ids = frame[EVENT_ID].tolist() if EVENT_ID in frame.columns else list(range(len(frame)))
        for j, (function, name) in enumerate(zip(self._functions, self._names, strict=True)):
            column = matrix[:, j]
            for i, record in enumerate(records):
                try:
                    value = function(Row(record))
                except Exception as exc:  # a user's function failing is bad input, named
                    raise DataError(
                        f"labeling function {name!r} on row {ids[i]!r}: expected a label or "
                        f"ABSTAIN, got {type(exc).__name__}: {exc}"
                    ) from exc
                if _is_abstain(value):
                    continue
                column[i] = self._lookup(value, name, ids[i])
        return matrix

    def _lookup(self, value: Any, name: str, row_id: Any) -> int:
        try:
            position = self._index.get(value)
        except TypeError:
            position = None
        if position is None:
            raise DataError(
                f"labeling function {name!r} on row {row_id!r}: expected one of "
                f"{list(self._classes)} or ABSTAIN, got {value!r}"
            )
        return position

    def summary(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Polarity, coverage, overlap and conflict of each function on ``frame``."""
        return lf_summary(self.apply(frame), self._names)

    def label(
        self,
        store: EventStore,
        start: datetime | None,
        end: datetime | None,
        *,
        now: datetime,
    ) -> LabeledWindow:
        events = store.window(self._stream, start, end)
        known = (events[EVENT_TIME] <= pd.Timestamp(utc(now))).to_numpy()
        rows = events.loc[known].reset_index(drop=True)
        matrix = self.apply(rows)
        votes = combine_votes(
            matrix,
            combine=self._combine,
            cardinality=len(self._classes),
            epochs=self._epochs,
            seed=self._seed,
        )
        decided = votes != ABSTAIN_INDEX
        frame = rows.loc[decided].reset_index(drop=True)
        frame[LABEL] = pd.Series(
            [self._classes[int(v)] for v in votes[decided]], dtype=_dtype(self._classes)
        )
        frame[LABEL_TIME] = frame[EVENT_TIME]
        frame[LABEL_SOURCE] = pd.Series("function", index=frame.index, dtype="str")
        stats = {
            "rows": len(frame),
            "pending": int((~known).sum()),
            "abstained": int((~decided).sum()),
            "late_updates": 0,
            "too_late": 0,
            "duplicates": 0,
            **delay_stats(np.zeros(len(frame))),
            **window_stats(matrix),
            **flat_stats(lf_summary(matrix, self._names)),
        }
        return LabeledWindow(frame=frame, stats=stats)


def _is_abstain(value: Any) -> bool:
    """``None``, or the integer -1 (Python or NumPy; not ``True``/``False``, not a float)."""
    if value is None:
        return True
    return (
        isinstance(value, int | np.integer)
        and not isinstance(value, bool | np.bool_)
        and value == ABSTAIN
    )


def _dtype(classes: Sequence[LabelValue]) -> str:
    if all(isinstance(c, bool) for c in classes):
        return "bool"
    if all(isinstance(c, str) for c in classes):
        return "str"
    if all(isinstance(c, int) and not isinstance(c, bool) for c in classes):
        return "int64"
    return "object"


__all__ = [
    "ABSTAIN",
    "FunctionLabeler",
    "LabelingFunction",
    "Row",
    "function_name",
    "load_function",
]
