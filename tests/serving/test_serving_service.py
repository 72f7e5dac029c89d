"""PredictionService and input validation: types, missing and extra inputs, NaN/Inf, DataFrames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from serving_support import FEATURES, build_loader

from lifelong.errors import ConfigError, LifelongError, NotFoundError, ValidationError
from lifelong.serving import (
    InputSpec,
    ModelCatalog,
    PredictionLogger,
    PredictionService,
    ServedModel,
)
from lifelong.serving.oip import parse_infer_request
from lifelong.serving.validation import column_from_array, column_from_values
from lifelong.testing.fakes import InMemoryModelLoader, ListPredictionSink


@pytest.fixture
def plain() -> PredictionService:
    return PredictionService(ModelCatalog(build_loader()), None)


def frame(**extra: object) -> pd.DataFrame:
    data: dict[str, object] = {"x1": [0.5, 1.0], "x2": [1, 2], "x3": [-1.0, 0.0]}
    data.update(extra)
    return pd.DataFrame(data)


def test_dataframe_matches_the_model(plain: PredictionService) -> None:
    served = plain.catalog.get("churn")
    result = plain.predict("churn", frame(), "req")
    assert served.predict_array is not None
    labels, proba = served.predict_array(frame()[list(FEATURES)].to_numpy(dtype=float))
    assert result.labels.tolist() == labels.tolist()
    np.testing.assert_allclose(result.probabilities, proba)
    assert (result.model, result.version, result.request_id, result.classes) == (
        "churn",
        "1.0",
        "req",
        (0, 1),
    )


def test_generated_request_ids_are_unique(plain: PredictionService) -> None:
    ids = {plain.predict("churn", frame()).request_id for _ in range(3)}
    assert len(ids) == 3


@pytest.mark.parametrize(
    ("records", "field", "needle"),
    [
        (frame().drop(columns="x2"), "x2", "x2: required input is missing"),
        (frame(x1=["a", "b"]), "x1", "x1: expected a finite number (FP64), got 'a' at row 0"),
        (frame(x1=[True, False]), "x1", "got True"),
        (frame(x1=[1.0, np.nan]), "x1", "got nan at row 1"),
        (frame(x3=[1.0, np.inf]), "x3", "got inf at row 1"),
        (frame(x9=[1, 2]), "x9", "unexpected ['x9']"),
        (frame(impression_id=[1, 2]), "impression_id", "expected a string (BYTES), got 1"),
    ],
)
def test_bad_dataframes_are_rejected_naming_the_field(
    plain: PredictionService, records: pd.DataFrame, field: str, needle: str
) -> None:
    with pytest.raises(ValidationError) as info:
        plain.predict("churn", records)
    assert info.value.field == field and needle in str(info.value)


def test_extra_columns_can_be_ignored() -> None:
    service = PredictionService(ModelCatalog(build_loader()), None, extra="ignore")
    assert service.predict("churn", frame(x9=[1, 2])).labels.shape == (2,)
    assert service.predict_rows(
        "churn", [{"x1": 1.0, "x2": 2.0, "x3": 3.0, "x9": "?"}]
    ).labels.shape == (1,)
    with pytest.raises(ConfigError, match="extra"):
        PredictionService(service.catalog, None, extra="keep")  # type: ignore[arg-type]


def test_optional_inputs_and_logging_of_every_input() -> None:
    sink = ListPredictionSink()
    service = PredictionService(ModelCatalog(build_loader()), PredictionLogger(sink))
    service.predict("churn", frame(impression_id=["i1", None]), "r1")
    service.predict("churn", frame(), "r2")
    service.logger.flush()  # type: ignore[union-attr]
    rows = sink.rows()
    assert rows.columns.tolist()[:5] == [
        "event_id",
        "event_time",
        "request_id",
        "model",
        "model_version",
    ]
    assert {"x1", "x2", "x3", "impression_id", "prediction", "score"} <= set(rows.columns)
    assert rows["impression_id"].iloc[0] == "i1" and rows["impression_id"].iloc[1:].isna().all()


def test_version_pin_and_unknown_model(plain: PredictionService) -> None:
    assert plain.predict("churn", frame(), version="1.0").version == "1.0"
    with pytest.raises(NotFoundError, match="expected the serving version '1.0', got '1.1'"):
        plain.predict("churn", frame(), version="1.1")
    with pytest.raises(NotFoundError, match="nope"):
        plain.predict("nope", frame())


def test_rows_errors_name_the_row(plain: PredictionService) -> None:
    with pytest.raises(ValidationError, match="x3: required input is missing .* in row 1") as info:
        plain.predict_rows("churn", [{"x1": 1, "x2": 2, "x3": 3}, {"x1": 1, "x2": 2}])
    assert info.value.field == "x3"
    with pytest.raises(ValidationError, match="at least one row"):
        plain.predict_rows("churn", [])


def test_request_id_is_validated(plain: PredictionService) -> None:
    with pytest.raises(ValidationError, match="request_id") as info:
        plain.predict("churn", frame(), "x" * 201)
    assert info.value.field == "request_id"


def test_model_returning_wrong_shapes_is_an_error() -> None:
    def broken(data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(1), np.zeros((1, 5))

    loader = InMemoryModelLoader()
    loader.add(ServedModel("m", "1", (InputSpec("x", "FP64"),), (0, 1), broken), champion=True)
    service = PredictionService(ModelCatalog(loader), None)
    with pytest.raises(LifelongError, match=r"expected labels of shape \(2,\)"):
        service.predict("m", pd.DataFrame({"x": [1.0, 2.0]}))


def test_frame_path_without_fast_path() -> None:
    seen: list[pd.DataFrame] = []

    def predict(data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        seen.append(data)
        return np.array(["yes"] * len(data), dtype=object), np.tile([0.3, 0.7], (len(data), 1))

    spec = (InputSpec("n", "INT64"), InputSpec("flag", "BOOL"), InputSpec("tag", "BYTES"))
    loader = InMemoryModelLoader()
    loader.add(ServedModel("m", "1", spec, ("no", "yes"), predict), champion=True)
    service = PredictionService(ModelCatalog(loader), None)
    result = service.predict_rows(
        "m", [{"n": 3, "flag": True, "tag": "a"}, {"n": 4.0, "flag": False, "tag": "b"}]
    )
    assert result.labels.tolist() == ["yes", "yes"]
    assert seen[0]["n"].tolist() == [3, 4] and seen[0]["n"].dtype == np.int64
    assert seen[0]["flag"].dtype == bool
    with pytest.raises(ValidationError, match=r"n: expected an integer \(INT64\), got 4.5"):
        service.predict_rows("m", [{"n": 4.5, "flag": True, "tag": "a"}])
    with pytest.raises(ValidationError, match=r"flag: expected a boolean \(BOOL\), got 1"):
        service.predict_rows("m", [{"n": 4, "flag": 1, "tag": "a"}])


def test_served_model_definitions_are_checked() -> None:
    def predict(data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(len(data)), np.zeros((len(data), 1))

    def predict_array(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(len(X)), np.zeros((len(X), 1))

    with pytest.raises(ConfigError, match="duplicates"):
        ServedModel("m", "1", (InputSpec("x", "FP64"), InputSpec("x", "FP64")), (0,), predict)
    with pytest.raises(ConfigError, match="datatype"):
        InputSpec("x", "FLOAT")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="features"):
        ServedModel(
            "m",
            "1",
            (InputSpec("t", "BYTES"),),
            (0,),
            predict,
            features=("t",),
            predict_array=predict_array,
        )


@pytest.mark.parametrize(
    ("values", "datatype", "expected"),
    [
        ([1, 2.5], "FP64", [1.0, 2.5]),
        ([1, 2.0], "INT64", [1, 2]),
        ([True, False], "BOOL", [True, False]),
        (["a", "b"], "BYTES", ["a", "b"]),
    ],
)
def test_column_from_values_accepts(
    values: list[object], datatype: str, expected: list[object]
) -> None:
    assert column_from_values("c", values, datatype).tolist() == expected


@pytest.mark.parametrize(
    ("values", "datatype"),
    [
        ([float("nan")], "FP64"),
        ([2**70], "INT64"),
        ([10**400], "FP64"),
        ([None], "BYTES"),
        (["1"], "INT64"),
    ],
)
def test_column_from_values_rejects(values: list[object], datatype: str) -> None:
    with pytest.raises(ValidationError, match="c: expected"):
        column_from_values("c", values, datatype)


def test_column_from_array_nullable_and_unsigned() -> None:
    assert np.isnan(column_from_array("c", np.array([1.0, np.nan]), "FP64", required=False)[1])
    with pytest.raises(ValidationError, match="got 18446744073709551615"):
        column_from_array("c", np.array([2**64 - 1], dtype=np.uint64), "INT64")


def test_oip_parse_rejects_duplicate_inputs() -> None:
    tensor = {"name": "x1", "shape": [1], "datatype": "FP64", "data": [1.0]}
    with pytest.raises(ValidationError, match="unique input names"):
        parse_infer_request({"inputs": [tensor, tensor]})
    with pytest.raises(ValidationError, match="UINT8 expects values >= 0"):
        parse_infer_request({"inputs": [tensor | {"datatype": "UINT8", "data": [-1]}]})
    with pytest.raises(ValidationError, match="id: expected a string"):
        parse_infer_request({"id": 5, "inputs": [tensor]})


def test_event_times_date_the_logged_rows() -> None:
    sink = ListPredictionSink()
    service = PredictionService(ModelCatalog(build_loader()), PredictionLogger(sink))
    times = pd.to_datetime(["2024-01-01 00:00", "2024-01-02 00:00"], utc=True)
    service.predict("churn", frame(), "r1", event_times=pd.Series(times))
    service.predict_rows(
        "churn", [{"x1": 1, "x2": 2, "x3": 3}], "r2", event_times=[times[0].to_pydatetime()]
    )
    service.logger.flush()  # type: ignore[union-attr]
    assert sink.rows()["event_time"].tolist() == [times[0], times[1], times[0]]
    with pytest.raises(
        ValidationError, match="event_times: expected 2 values, one per row, got 1"
    ) as info:
        service.predict("churn", frame(), "r3", event_times=times[:1])
    assert info.value.field == "event_times"
    with pytest.raises(ValidationError, match="event_times: expected timestamps"):
        service.predict("churn", frame(), "r4", event_times=["soon", "later"])
