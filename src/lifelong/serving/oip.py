"""Open Inference Protocol v2 (KServe v2 REST): parse inference requests, build responses.

One request input is one column: shape ``[n]`` or ``[n, 1]``, data flat or nested. Every
problem is a :class:`~lifelong.errors.ValidationError` naming the input (the server answers 400).

Examples
--------
>>> request = parse_infer_request({"id": "r1", "inputs": [
...     {"name": "x1", "shape": [2], "datatype": "FP64", "data": [0.5, 1.5]},
...     {"name": "x2", "shape": [2, 1], "datatype": "INT64", "data": [[1], [2]]}]})
>>> request.id, request.rows, {name: column.tolist() for name, column in request.columns.items()}
('r1', 2, {'x1': [0.5, 1.5], 'x2': [1, 2]})
>>> parse_infer_request({"inputs": [{"name": "x1", "shape": [3], "datatype": "FP64", "data": [1.0]}]})
Traceback (most recent call last):
...
lifelong.errors.ValidationError: inputs[0] 'x1': data has 1 elements, shape [3] needs 3
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lifelong.errors import ValidationError
from lifelong.serving.model import PredictionResult, ServedModel
from lifelong.serving.validation import column_from_values, describe

OUTPUT_LABELS = "predict"
OUTPUT_PROBA = "predict_proba"
OUTPUT_NAMES = (OUTPUT_LABELS, OUTPUT_PROBA)

_CATEGORY = {
    **{name: "FP64" for name in ("FP16", "FP32", "FP64", "BF16")},
    **{
        name: "INT64"
        for name in ("INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64")
    },
    "BOOL": "BOOL",
    "BYTES": "BYTES",
}
# Which declared categories may feed a model input of each datatype.
_COMPATIBLE = {"FP64": {"FP64", "INT64"}, "INT64": {"INT64"}, "BOOL": {"BOOL"}, "BYTES": {"BYTES"}}


@dataclass(frozen=True)
class InferRequest:
    """A parsed inference request: one typed column per input."""

    id: str | None
    columns: dict[str, NDArray[Any]]
    datatypes: dict[str, str]
    rows: int
    outputs: tuple[str, ...]


def _flatten(data: list[Any]) -> list[Any]:
    if not any(type(item) is list for item in data):
        return data
    flat: list[Any] = []
    stack: list[Any] = [iter(data)]
    while stack:
        for item in stack[-1]:
            if type(item) is list:
                stack.append(iter(item))
                break
            flat.append(item)
        else:
            stack.pop()
    return flat


def _field(index: int, name: str | None = None) -> str:
    return f"inputs[{index}]" if name is None else f"inputs[{index}] {name!r}"


def _parse_input(index: int, item: Any) -> tuple[str, str, NDArray[Any], int]:
    if not isinstance(item, dict):
        raise ValidationError(
            f"{_field(index)}: expected an object, got {describe(item)}", field=_field(index)
        )
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise ValidationError(
            f"{_field(index)}.name: expected a non-empty string, got {describe(name)}",
            field=f"inputs[{index}].name",
        )
    where = _field(index, name)
    shape = item.get("shape")
    if not isinstance(shape, list) or not all(type(dim) is int for dim in shape):
        raise ValidationError(
            f"{where}.shape: expected a list of integers, got {describe(shape)}", field=name
        )
    if any(dim < 0 for dim in shape):
        raise ValidationError(
            f"{where}.shape: expected non-negative dimensions, got {shape}", field=name
        )
    if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] != 1):
        raise ValidationError(
            f"{where}.shape: expected [n] or [n, 1] (one column per input), got {shape}", field=name
        )
    datatype = item.get("datatype")
    category = _CATEGORY.get(datatype) if isinstance(datatype, str) else None
    if category is None:
        raise ValidationError(
            f"{where}.datatype: expected one of {sorted(_CATEGORY)}, got {describe(datatype)}",
            field=name,
        )
    data = item.get("data")
    if not isinstance(data, list):
        raise ValidationError(
            f"{where}.data: expected a JSON array, got {describe(data)}", field=name
        )
    flat = _flatten(data)
    rows = shape[0]
    if len(flat) != rows:
        raise ValidationError(
            f"{where}: data has {len(flat)} elements, shape {shape} needs {rows}", field=name
        )
    try:
        column = column_from_values(name, flat, category)
    except ValidationError as exc:
        raise ValidationError(
            f"{where}: datatype {datatype} does not match the data; {exc}", field=name
        ) from exc
    if str(datatype).startswith("UINT") and len(column) and int(column.min()) < 0:
        raise ValidationError(
            f"{where}: datatype {datatype} expects values >= 0, got {int(column.min())}", field=name
        )
    return name, category, column, rows


def parse_infer_request(body: Any) -> InferRequest:
    """Validate an inference request body and turn its inputs into typed columns."""
    if not isinstance(body, dict):
        raise ValidationError(f"request body: expected a JSON object, got {describe(body)}")
    request_id = body.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise ValidationError(f"id: expected a string, got {describe(request_id)}", field="id")
    parameters = body.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise ValidationError(
            f"parameters: expected an object, got {describe(parameters)}", field="parameters"
        )
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise ValidationError(
            f"inputs: expected a non-empty array of tensors, got {describe(inputs)}", field="inputs"
        )
    columns: dict[str, NDArray[Any]] = {}
    datatypes: dict[str, str] = {}
    rows: int | None = None
    for index, item in enumerate(inputs):
        name, category, column, n = _parse_input(index, item)
        if name in columns:
            raise ValidationError(
                f"{_field(index, name)}: expected unique input names, got {name!r} twice",
                field=name,
            )
        if rows is not None and n != rows:
            raise ValidationError(
                f"{_field(index, name)}: expected {rows} rows like the inputs before it, got {n}",
                field=name,
            )
        rows = n
        columns[name] = column
        datatypes[name] = category
    return InferRequest(
        request_id, columns, datatypes, rows or 0, _parse_outputs(body.get("outputs"))
    )


def _parse_outputs(outputs: Any) -> tuple[str, ...]:
    if outputs is None:
        return OUTPUT_NAMES
    if not isinstance(outputs, list):
        raise ValidationError(
            f"outputs: expected an array of {{'name': ...}}, got {describe(outputs)}",
            field="outputs",
        )
    names: list[str] = []
    for index, item in enumerate(outputs):
        name = item.get("name") if isinstance(item, dict) else None
        if name not in OUTPUT_NAMES:
            raise ValidationError(
                f"outputs[{index}].name: expected one of {list(OUTPUT_NAMES)}, got {describe(name)}",
                field="outputs",
            )
        names.append(name)
    return tuple(names) or OUTPUT_NAMES


def check_compatible(request: InferRequest, served: ServedModel) -> None:
    """Reject inputs whose declared datatype cannot feed the model's input of that name."""
    for spec in served.inputs:
        declared = request.datatypes.get(spec.name)
        if declared is not None and declared not in _COMPATIBLE[spec.datatype]:
            raise ValidationError(
                f"{spec.name}: model {served.model!r} expects datatype {spec.datatype}, got {declared}",
                field=spec.name,
            )


def labels_datatype(labels: NDArray[Any]) -> str:
    """The OIP datatype of a label array."""
    kind = labels.dtype.kind
    return {"b": "BOOL", "i": "INT64", "u": "INT64", "f": "FP64"}.get(kind, "BYTES")


def json_labels(labels: NDArray[Any]) -> Any:
    """Labels ready for orjson: numeric arrays as they are, anything else as strings."""
    if labels.dtype.kind in "biuf":
        return labels
    return [str(value) for value in labels.tolist()]


def infer_response(
    result: PredictionResult, outputs: Sequence[str] = OUTPUT_NAMES
) -> dict[str, Any]:
    """The inference response object (numpy arrays inside; serialise with orjson's numpy option)."""
    rows = len(result.labels)
    tensors: list[dict[str, Any]] = []
    for name in outputs:
        if name == OUTPUT_LABELS:
            tensors.append(
                {
                    "name": OUTPUT_LABELS,
                    "datatype": labels_datatype(result.labels),
                    "shape": [rows],
                    "data": json_labels(result.labels),
                }
            )
        else:
            proba = np.ascontiguousarray(result.probabilities, dtype=np.float64)
            tensors.append(
                {
                    "name": OUTPUT_PROBA,
                    "datatype": "FP64",
                    "shape": list(proba.shape),
                    "data": proba.ravel(),
                }
            )
    return {
        "model_name": result.model,
        "model_version": result.version,
        "id": result.request_id,
        "outputs": tensors,
    }


def model_metadata(served: ServedModel) -> dict[str, Any]:
    """The model metadata object: name, versions, platform, inputs and outputs."""
    classes = np.asarray(served.classes)
    return {
        "name": served.model,
        "versions": [served.version],
        "platform": served.platform,
        "inputs": [
            {"name": spec.name, "datatype": spec.datatype, "shape": [-1]} for spec in served.inputs
        ],
        "outputs": [
            {"name": OUTPUT_LABELS, "datatype": labels_datatype(classes), "shape": [-1]},
            {"name": OUTPUT_PROBA, "datatype": "FP64", "shape": [-1, len(served.classes)]},
        ],
    }


__all__ = [
    "OUTPUT_NAMES",
    "InferRequest",
    "check_compatible",
    "infer_response",
    "json_labels",
    "labels_datatype",
    "model_metadata",
    "parse_infer_request",
]
