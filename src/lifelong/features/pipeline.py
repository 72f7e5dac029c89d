"""The feature pipeline: one object turns rows into the model's matrix, for training and serving.

Numeric columns pass through as floats; categorical columns are one-hot encoded over their
declared categories. Training calls :meth:`FeaturePipeline.transform` on a window of events,
the server calls :meth:`FeaturePipeline.transform_records` on request rows: both go through the
same code, so the same rows give the same matrix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from lifelong.errors import ConfigError, ValidationError

Category = str | int | bool
MissingPolicy = Literal["error", "impute"]
UnseenPolicy = Literal["error", "ignore"]


def _check_names(
    numeric: object, categorical: object
) -> tuple[tuple[str, ...], dict[str, tuple[Category, ...]]]:
    if isinstance(numeric, str) or not isinstance(numeric, Sequence):
        raise ConfigError(f"numeric: expected a list of column names, got {numeric!r}")
    if not isinstance(categorical, Mapping):
        raise ConfigError(
            f"categorical: expected a mapping of column to categories, got {categorical!r}"
        )
    names = list(numeric) + list(categorical)
    for name in names:
        if not isinstance(name, str) or not name:
            raise ConfigError(f"numeric/categorical: expected non-empty column names, got {name!r}")
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise ConfigError(f"numeric/categorical: expected each column once, got {duplicated} twice")
    if not names:
        raise ConfigError("numeric/categorical: expected at least one feature column, got none")
    categories: dict[str, tuple[Category, ...]] = {}
    for name, values in categorical.items():
        if isinstance(values, str) or not isinstance(values, Sequence) or not values:
            raise ConfigError(
                f"categorical.{name}: expected a non-empty list of categories, got {values!r}"
            )
        for value in values:
            if not isinstance(value, str | int | bool):
                raise ConfigError(
                    f"categorical.{name}: expected string or integer categories, got {value!r}"
                )
        if len(set(values)) != len(values):
            raise ConfigError(
                f"categorical.{name}: expected distinct categories, got {list(values)}"
            )
        categories[name] = tuple(values)
    return tuple(numeric), categories


class FeaturePipeline:
    """Numeric pass-through and one-hot categoricals, shared by training and serving.

    Parameters
    ----------
    numeric
        Columns taken as floats.
    categorical
        Columns one-hot encoded, each with its declared categories (output order).
    missing
        ``error``: a missing or non-finite value is refused; ``impute``: it becomes 0
        (numeric) or all zeros (categorical).
    unseen
        A category outside the declared ones: ``ignore`` gives all zeros, ``error`` refuses it.

    Examples
    --------
    >>> import pandas as pd
    >>> pipeline = FeaturePipeline(numeric=("x",), categorical={"colour": ("red", "blue")})
    >>> pipeline.feature_names
    ('x', 'colour=red', 'colour=blue')
    >>> pipeline.transform(pd.DataFrame({"x": [1.5, 2.0], "colour": ["blue", "green"]}))
    array([[1.5, 0. , 1. ],
           [2. , 0. , 0. ]])
    """

    def __init__(
        self,
        *,
        numeric: Sequence[str],
        categorical: Mapping[str, Sequence[Category]] = MappingProxyType({}),
        missing: MissingPolicy = "error",
        unseen: UnseenPolicy = "ignore",
    ) -> None:
        self.numeric, categories = _check_names(numeric, categorical)
        self.categorical: Mapping[str, tuple[Category, ...]] = MappingProxyType(categories)
        if missing not in ("error", "impute"):
            raise ConfigError(f"missing: expected 'error' or 'impute', got {missing!r}")
        if unseen not in ("error", "ignore"):
            raise ConfigError(f"unseen: expected 'error' or 'ignore', got {unseen!r}")
        self.missing: MissingPolicy = missing
        self.unseen: UnseenPolicy = unseen
        self.feature_names: tuple[str, ...] = self.numeric + tuple(
            f"{name}={value}" for name, values in categories.items() for value in values
        )

    @property
    def n_features(self) -> int:
        """Number of output columns."""
        return len(self.feature_names)

    @property
    def columns(self) -> tuple[str, ...]:
        """Input columns the pipeline reads."""
        return self.numeric + tuple(self.categorical)

    def transform(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        """The float64 matrix of ``frame`` (other columns are ignored)."""
        absent = [name for name in self.columns if name not in frame.columns]
        if absent:
            raise ValidationError(
                f"{', '.join(absent)}: expected the column(s) in the rows, got columns "
                f"{[str(column) for column in frame.columns]}",
                field=absent[0],
            )
        out = np.zeros((len(frame), self.n_features), dtype=np.float64)
        for position, name in enumerate(self.numeric):
            out[:, position] = self._numeric(name, frame[name])
        offset = len(self.numeric)
        for name, values in self.categorical.items():
            codes = self._codes(name, values, frame[name])
            rows = np.flatnonzero(codes >= 0)
            out[rows, offset + codes[rows]] = 1.0
            offset += len(values)
        return out

    def transform_records(self, records: Sequence[Mapping[str, Any]]) -> NDArray[np.float64]:
        """The matrix of request rows (dicts of column to value), as the server receives them."""
        frame = pd.DataFrame.from_records([dict(record) for record in records])
        if not records:
            frame = pd.DataFrame({name: [] for name in self.columns})
        return self.transform(frame)

    def _numeric(self, name: str, column: pd.Series) -> NDArray[np.float64]:
        if pd.api.types.is_numeric_dtype(column.dtype):  # numbers already: no boxing per value
            values: NDArray[np.float64] = column.to_numpy(dtype=np.float64, na_value=np.nan)
            return self._finite(name, values)
        for row, value in enumerate(column.tolist()):
            number = value is None or value is pd.NA or isinstance(value, int | float | np.number)
            if not number:
                raise ValidationError(
                    f"{name}: expected a number, got {value!r} at row {row}", field=name
                )
        try:
            values = np.asarray(
                column.astype(object).to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64
            )
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"{name}: expected numbers, got {exc}", field=name) from exc
        return self._finite(name, values)

    def _finite(self, name: str, values: NDArray[np.float64]) -> NDArray[np.float64]:
        """``values`` with missing and non-finite ones imputed, or refused (``missing``)."""
        finite = np.isfinite(values)
        if not finite.all():
            if self.missing == "error":
                row = int(np.flatnonzero(~finite)[0])
                raise ValidationError(
                    f"{name}: expected a finite number, got {float(values[row])} at row {row}",
                    field=name,
                )
            values = np.where(finite, values, 0.0)
        return values

    def _codes(
        self, name: str, values: tuple[Category, ...], column: pd.Series
    ) -> NDArray[np.intp]:
        absent = column.isna().to_numpy(dtype=bool)
        if absent.any() and self.missing == "error":
            row = int(np.flatnonzero(absent)[0])
            raise ValidationError(
                f"{name}: expected one of {list(values)}, got a missing value at row {row}",
                field=name,
            )
        try:
            codes = pd.Index(list(values), dtype=object).get_indexer(column.astype(object))
        except TypeError as exc:
            raise ValidationError(
                f"{name}: expected one of {list(values)}, got an unhashable value: {exc}",
                field=name,
            ) from exc
        unseen = (codes < 0) & ~absent
        if unseen.any() and self.unseen == "error":
            row = int(np.flatnonzero(unseen)[0])
            raise ValidationError(
                f"{name}: expected one of {list(values)}, got unseen {column.iloc[row]!r} "
                f"at row {row}",
                field=name,
            )
        return np.asarray(codes, dtype=np.intp)

    def signature(self) -> dict[str, Any]:
        """What shapes the model's input: the output columns, in order."""
        return {"columns": list(self.feature_names)}

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form; :meth:`from_dict` rebuilds an equal pipeline."""
        return {
            "numeric": list(self.numeric),
            "categorical": {name: list(values) for name, values in self.categorical.items()},
            "missing": self.missing,
            "unseen": self.unseen,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeaturePipeline:
        """Rebuild a pipeline written by :meth:`to_dict`."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"features: expected a mapping, got {data!r}")
        unknown = sorted(set(data) - {"numeric", "categorical", "missing", "unseen"})
        if unknown:
            raise ConfigError(
                f"features.{unknown[0]}: expected keys numeric, categorical, missing, unseen; "
                f"got {unknown}"
            )
        categorical = data.get("categorical", {})
        if not isinstance(categorical, Mapping):
            raise ConfigError(f"features.categorical: expected a mapping, got {categorical!r}")
        return cls(
            numeric=tuple(data.get("numeric", ())),
            categorical=dict(categorical),
            missing=cast(MissingPolicy, data.get("missing", "error")),
            unseen=cast(UnseenPolicy, data.get("unseen", "ignore")),
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FeaturePipeline) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(repr(self.to_dict()))

    def __repr__(self) -> str:
        return (
            f"FeaturePipeline(numeric={self.numeric!r}, categorical={dict(self.categorical)!r}, "
            f"missing={self.missing!r}, unseen={self.unseen!r})"
        )


__all__ = ["Category", "FeaturePipeline", "MissingPolicy", "UnseenPolicy"]
