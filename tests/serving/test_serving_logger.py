"""PredictionLogger: row contents, flush triggers, a failing sink, the hard cap, draining on close."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from lifelong.errors import ConfigError, ValidationError
from lifelong.serving import PredictionLogger, PredictionResult
from lifelong.testing.fakes import ListPredictionSink

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def result(
    request_id: str, rows: int = 2, *, version: str = "1.0", classes: int = 2
) -> PredictionResult:
    proba = np.tile(
        np.linspace(0.1, 1.0, classes) / np.linspace(0.1, 1.0, classes).sum(), (rows, 1)
    )
    return PredictionResult(
        "churn", version, request_id, np.arange(rows) % classes, proba, tuple(range(classes))
    )


def inputs(rows: int = 2) -> dict[str, np.ndarray]:
    return {"x1": np.arange(rows, dtype=np.float64), "model": np.full(rows, "clash", dtype=object)}


def test_rows_carry_ids_version_inputs_and_outputs() -> None:
    sink = ListPredictionSink()
    logger = PredictionLogger(sink)
    logger.log(result("a", 2), inputs(2), event_time=T0)
    logger.log(result("b", 1, version="1.1", classes=3), inputs(1), event_time=T0)
    assert logger.flush() == 3
    rows = sink.rows()
    assert rows["event_id"].tolist() == ["a:0", "a:1", "b:0"]
    assert rows["model_version"].tolist() == ["1.0", "1.0", "1.1"]
    assert rows["model"].tolist() == ["churn"] * 3
    assert (
        rows["input_model"].tolist() == ["clash"] * 3
    )  # an input named like a log column is renamed
    assert rows["x1"].tolist() == [0.0, 1.0, 0.0]
    assert rows["prediction"].tolist() == [0, 1, 0]
    np.testing.assert_allclose(
        rows["score"][:2], result("a").probabilities[:, 1]
    )  # binary: P(positive)
    assert rows["score"][2] == pytest.approx(
        result("b", 1, classes=3).probabilities.max()
    )  # else: max
    assert (rows["event_time"] == T0).all()
    assert logger.pending_rows == 0 and logger.written_rows == 3


def test_flushes_when_full_and_on_schedule() -> None:
    sink = ListPredictionSink()
    with PredictionLogger(sink, flush_rows=4, flush_seconds=30.0) as logger:
        logger.log(result("a", 2), inputs(2), event_time=T0)
        time.sleep(0.1)
        assert sink.calls == 0
        logger.log(result("b", 2), inputs(2), event_time=T0)
        deadline = time.monotonic() + 5
        while sink.calls == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(sink.rows()) == 4
    sink = ListPredictionSink()
    with PredictionLogger(sink, flush_rows=1000, flush_seconds=0.05) as logger:
        logger.log(result("c", 1), inputs(1), event_time=T0)
        deadline = time.monotonic() + 5
        while sink.calls == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(sink.rows()) == 1


def test_flushes_inline_when_full_without_a_thread() -> None:
    sink = ListPredictionSink()
    logger = PredictionLogger(sink, flush_rows=2)
    logger.log(result("a", 2), inputs(2), event_time=T0)
    assert len(sink.rows()) == 2


def test_failing_sink_keeps_rows_and_retries() -> None:
    sink = ListPredictionSink()
    logger = PredictionLogger(sink, flush_seconds=0.01)
    logger.log(result("a"), inputs(), event_time=T0)
    sink.fail_next(2)
    with pytest.raises(ConnectionError):
        logger.flush()
    assert logger.pending_rows == 2 and logger.failed_flushes == 1 and logger.last_error
    logger.start()
    deadline = time.monotonic() + 5
    while logger.pending_rows and time.monotonic() < deadline:
        time.sleep(0.01)
    logger.close()
    assert sink.rows()["event_id"].tolist() == ["a:0", "a:1"] and logger.dropped_rows == 0


def test_close_never_loses_rows_and_raises_when_the_sink_is_down() -> None:
    sink = ListPredictionSink()
    logger = PredictionLogger(sink, flush_seconds=60.0).start()
    logger.log(result("a"), inputs(), event_time=T0)
    sink.fail_next(1)
    with pytest.raises(ConnectionError):
        logger.close()
    assert logger.pending_rows == 2
    logger.close()
    assert len(sink.rows()) == 2


def test_hard_cap_drops_oldest_rows_counted_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    sink = ListPredictionSink()
    logger = PredictionLogger(sink, flush_rows=4, max_buffer_rows=4)
    sink.fail_next(100)
    with caplog.at_level(logging.ERROR, logger="lifelong.serving.logger"):
        for n in range(5):
            logger.log(result(f"r{n}", 2), inputs(2), event_time=T0)
    assert logger.pending_rows <= 4 and logger.dropped_rows == 10 - logger.pending_rows
    assert any("dropped" in record.getMessage() for record in caplog.records)
    sink.fail_next(0)
    logger.flush()
    assert set(sink.rows()["request_id"]) == {"r3", "r4"}  # the newest rows were kept


class _CountingSink(ListPredictionSink):
    """Records the rows of each append; the append numbered ``fail_at`` (from 1) fails once."""

    def __init__(self, fail_at: int | None = None) -> None:
        super().__init__()
        self.sizes: list[int] = []
        self._fail_at = fail_at

    def append(self, stream: str, frame: pd.DataFrame):  # type: ignore[no-untyped-def]
        if self._fail_at is not None and len(self.sizes) + 1 == self._fail_at:
            self._fail_at = None
            raise ConnectionError("sink down")
        self.sizes.append(len(frame))
        return super().append(stream, frame)


def test_append_rows_cuts_a_flush_into_appends_of_whole_chunks() -> None:
    sink = _CountingSink()
    logger = PredictionLogger(sink, flush_rows=1000, append_rows=4)
    for n in range(5):
        logger.log(result(f"a{n}", 2), inputs(2), event_time=T0)
    logger.log(result("b", 3, version="1.1"), inputs(3), event_time=T0)
    assert logger.flush() == 13
    assert sink.sizes == [4, 4, 2, 3]  # chunks are never split
    rows = sink.rows()
    assert sorted(rows["event_id"]) == sorted([f"a{n}:{i}" for n in range(5) for i in range(2)] + ["b:0", "b:1", "b:2"])
    assert logger.pending_rows == 0 and logger.written_rows == 13


def test_a_flush_writes_the_rows_of_several_versions_in_one_append() -> None:
    sink = _CountingSink()
    logger = PredictionLogger(sink, flush_rows=1000)
    logger.log(result("a", 2), inputs(2), event_time=T0)
    logger.log(result("b", 1, version="1.1"), inputs(1), event_time=T0)
    logger.log(result("c", 2), inputs(2), event_time=T0)
    assert logger.flush() == 5
    assert sink.sizes == [5]
    rows = sink.rows().set_index("event_id")
    assert rows["model_version"].to_dict() == {"a:0": "1.0", "a:1": "1.0", "c:0": "1.0", "c:1": "1.0", "b:0": "1.1"}
    assert rows["model"].unique().tolist() == ["churn"]


def test_rows_whose_columns_differ_in_type_are_appended_apart() -> None:
    sink = _CountingSink()
    logger = PredictionLogger(sink, flush_rows=1000)
    logger.log(result("a", 2), inputs(2), event_time=T0)
    logger.log(result("b", 1, version="1.1", classes=3), inputs(1), event_time=T0)  # 3 classes
    as_ints = {"x1": np.arange(2, dtype=np.int64), "model": np.full(2, "clash", dtype=object)}
    logger.log(result("c", 2, version="1.2"), as_ints, event_time=T0)  # an integer input
    logger.log(result("d", 1, version="1.3"), inputs(1), event_time=T0)
    proba = np.array([[0.3, 0.7]])
    words = PredictionResult("churn", "1.4", "e", np.array(["yes"], dtype=object), proba, ("no", "yes"))
    numbers = PredictionResult("churn", "1.5", "f", np.array([1], dtype=object), proba, (0, 1))
    logger.log(words, inputs(1), event_time=T0)
    logger.log(numbers, inputs(1), event_time=T0)  # Python objects of another type
    assert logger.flush() == 8
    assert sorted(sink.sizes) == [1, 1, 1, 2, 3]  # 1.0 and 1.3 together; the others each apart
    rows = sink.rows()
    assert rows.loc[rows["request_id"] == "c", "x1"].tolist() == [0, 1]


def test_a_failed_append_keeps_only_the_rows_not_yet_written() -> None:
    sink = _CountingSink(fail_at=2)
    logger = PredictionLogger(sink, flush_rows=1000, append_rows=2)
    for n in range(3):
        logger.log(result(f"a{n}", 2), inputs(2), event_time=T0)
    with pytest.raises(ConnectionError):
        logger.flush()
    assert logger.pending_rows == 4 and logger.written_rows == 2
    assert logger.flush() == 4
    assert sink.sizes == [2, 2, 2] and sorted(sink.rows()["request_id"]) == ["a0", "a0", "a1", "a1", "a2", "a2"]


def test_retried_append_is_idempotent_by_event_id() -> None:
    sink = ListPredictionSink()
    logger = PredictionLogger(sink)
    logger.log(result("a"), inputs(), event_time=T0)
    logger.flush()
    logger.log(result("a"), inputs(), event_time=T0)  # the same request logged twice
    logger.flush()
    assert len(sink.rows()) == 2


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"flush_rows": 0}, "flush_rows"),
        ({"flush_seconds": 0}, "flush_seconds"),
        ({"stream": ""}, "stream"),
        ({"flush_rows": 10, "max_buffer_rows": 5}, "max_buffer_rows"),
        ({"append_rows": 0}, "append_rows"),
    ],
)
def test_parameters_are_validated(kwargs: dict[str, object], name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        PredictionLogger(ListPredictionSink(), **kwargs)  # type: ignore[arg-type]


def test_unserved_rows_keep_inputs_without_prediction() -> None:
    sink = ListPredictionSink()
    logger = PredictionLogger(sink)
    times = pd.Series(pd.to_datetime(["2024-05-01 10:00", "2024-05-01 10:30"], utc=True))
    logger.log_unserved(
        "churn",
        pd.DataFrame({"x1": [1.0, 2.0], "imp": ["a", "b"]}),
        request_id="h0",
        event_times=times,
    )
    logger.log(result("r1", 1), inputs(1), event_time=T0)
    logger.flush()
    rows = sink.rows()
    unserved = rows[rows["request_id"] == "h0"]
    assert unserved["event_id"].tolist() == ["h0:0", "h0:1"]
    assert unserved["model_version"].isna().all() and unserved["prediction"].isna().all()
    assert unserved["score"].isna().all() and unserved["imp"].tolist() == ["a", "b"]
    assert unserved["event_time"].tolist() == times.tolist()
    assert rows.loc[rows["request_id"] == "r1", "model_version"].tolist() == ["1.0"]
    with pytest.raises(ValidationError, match="event_times: expected 2 values"):
        logger.log_unserved(
            "churn", pd.DataFrame({"x1": [1.0, 2.0]}), request_id="h1", event_times=times[:1]
        )
