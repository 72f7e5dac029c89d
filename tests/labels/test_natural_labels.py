"""The natural-label join of predictions and feedback, and the label-column labeler."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from lifelong.errors import ConfigError, DataError
from lifelong.events import ParquetEventStore
from lifelong.labels import ColumnLabeler, NaturalLabelJoin

T0 = datetime(2024, 3, 1, 12, tzinfo=UTC)
WINDOW = timedelta(minutes=30)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ParquetEventStore]:
    with ParquetEventStore(tmp_path, fsync=False) as opened:
        yield opened


def _predict(store: ParquetEventStore, *entries: tuple[str, timedelta]) -> None:
    """Log one prediction per ``(request id, offset from T0)``."""
    store.append(
        "predictions",
        pd.DataFrame(
            {
                "event_id": [f"p-{request}" for request, _ in entries],
                "event_time": pd.Series(
                    [T0 + offset for _, offset in entries], dtype="datetime64[us, UTC]"
                ),
                "request_id": [request for request, _ in entries],
                "model": ["ctr"] * len(entries),
                "model_version": ["1.0"] * len(entries),
                "x": [float(index) for index in range(len(entries))],
                "prediction": [1] * len(entries),
                "score": [0.7] * len(entries),
            }
        ),
    )


def _feedback(store: ParquetEventStore, *entries: tuple[str, str, timedelta]) -> None:
    """Store one feedback event per ``(event id, request id, offset from T0)``."""
    store.append(
        "feedback",
        pd.DataFrame(
            {
                "event_id": [event_id for event_id, _, _ in entries],
                "event_time": pd.Series(
                    [T0 + offset for _, _, offset in entries], dtype="datetime64[us, UTC]"
                ),
                "request_id": [request for _, request, _ in entries],
            }
        ),
    )


def _labels(window: object) -> dict[str, int]:
    frame = window.frame  # type: ignore[attr-defined]
    return dict(zip(frame["request_id"], frame["label"], strict=True))


def _join(*, allowed_lateness: timedelta = timedelta(0)) -> NaturalLabelJoin:
    return NaturalLabelJoin(key="request_id", window=WINDOW, allowed_lateness=allowed_lateness)


def test_feedback_within_the_window_is_a_positive(store: ParquetEventStore) -> None:
    _predict(store, ("r1", timedelta(0)))
    _feedback(store, ("f1", "r1", timedelta(minutes=10)))
    window = _join().label(store, None, None, now=T0 + timedelta(minutes=11))
    assert _labels(window) == {"r1": 1}
    row = window.frame.iloc[0]
    assert row["label_source"] == "natural"
    assert row["label_time"] == pd.Timestamp(T0 + timedelta(minutes=10))
    for column in ("event_id", "event_time", "model", "model_version", "x", "prediction", "score"):
        assert column in window.frame.columns
    assert window.stats["pending"] == 0 and window.stats["rows"] == 1


def test_feedback_exactly_at_the_window_end_counts(store: ParquetEventStore) -> None:
    _predict(store, ("r1", timedelta(0)))
    _feedback(store, ("f1", "r1", WINDOW))
    assert _labels(_join().label(store, None, None, now=T0 + WINDOW)) == {"r1": 1}


def test_no_feedback_is_pending_then_negative_once_the_window_closes(
    store: ParquetEventStore,
) -> None:
    _predict(store, ("r1", timedelta(0)), ("r2", timedelta(minutes=20)))
    early = _join().label(store, None, None, now=T0 + timedelta(minutes=29))
    assert _labels(early) == {} and early.stats["pending"] == 2
    closed = _join().label(store, None, None, now=T0 + WINDOW)
    assert _labels(closed) == {"r1": 0} and closed.stats["pending"] == 1
    assert closed.frame["label_time"].iloc[0] == pd.Timestamp(T0 + WINDOW)
    later = _join().label(store, None, None, now=T0 + timedelta(hours=2))
    assert _labels(later) == {"r1": 0, "r2": 0} and later.stats["negatives"] == 2


def test_late_feedback_within_lateness_turns_a_negative_into_a_positive(
    store: ParquetEventStore,
) -> None:
    _predict(store, ("r1", timedelta(0)))
    join = _join(allowed_lateness=timedelta(minutes=15))
    before = join.label(store, None, None, now=T0 + timedelta(minutes=35))
    assert _labels(before) == {"r1": 0}
    _feedback(store, ("f1", "r1", timedelta(minutes=40)))
    after = join.label(store, None, None, now=T0 + timedelta(minutes=41))
    assert _labels(after) == {"r1": 1}
    assert after.stats["late_updates"] == 1 and after.stats["too_late"] == 0


def test_feedback_later_than_the_lateness_is_counted_and_ignored(store: ParquetEventStore) -> None:
    _predict(store, ("r1", timedelta(0)), ("r2", timedelta(0)))
    _feedback(store, ("f1", "r1", timedelta(minutes=50)), ("f2", "r2", timedelta(minutes=5)))
    window = _join(allowed_lateness=timedelta(minutes=15)).label(
        store, None, None, now=T0 + timedelta(hours=1)
    )
    assert _labels(window) == {"r1": 0, "r2": 1}
    assert window.stats["too_late"] == 1 and window.stats["late_updates"] == 0


def test_duplicate_feedback_counts_once(store: ParquetEventStore) -> None:
    _predict(store, ("r1", timedelta(0)), ("r2", timedelta(0)))
    _feedback(
        store,
        ("f1", "r1", timedelta(minutes=3)),
        ("f1-redelivered", "r1", timedelta(minutes=3)),
        ("f2", "r1", timedelta(minutes=9)),
    )
    _feedback(store, ("f1", "r1", timedelta(minutes=3)))
    window = _join().label(store, None, None, now=T0 + timedelta(hours=1))
    assert _labels(window) == {"r1": 1, "r2": 0}
    assert len(window.frame) == 2
    assert window.stats["duplicates"] == 2
    assert window.frame.set_index("request_id").loc["r1", "label_time"] == pd.Timestamp(
        T0 + timedelta(minutes=3)
    )


def test_out_of_order_feedback_gives_the_same_labels(store: ParquetEventStore) -> None:
    _feedback(store, ("f3", "r3", timedelta(minutes=70)), ("f1", "r1", timedelta(minutes=8)))
    _predict(store, ("r3", timedelta(minutes=60)), ("r2", timedelta(minutes=1)))
    _feedback(store, ("f2", "r2", timedelta(minutes=2)))
    _predict(store, ("r1", timedelta(0)))
    window = _join().label(store, None, None, now=T0 + timedelta(hours=3))
    assert window.frame["request_id"].tolist() == ["r1", "r2", "r3"]
    assert _labels(window) == {"r1": 1, "r2": 1, "r3": 1}


def test_feedback_before_the_prediction_or_after_now_does_not_count(
    store: ParquetEventStore,
) -> None:
    _predict(store, ("r1", timedelta(minutes=10)), ("r2", timedelta(0)))
    _feedback(store, ("f1", "r1", timedelta(minutes=5)), ("f2", "r2", timedelta(minutes=20)))
    window = _join().label(store, None, None, now=T0 + timedelta(minutes=15))
    assert _labels(window) == {} and window.stats["pending"] == 2
    assert _labels(_join().label(store, None, None, now=T0 + timedelta(minutes=45))) == {
        "r1": 0,
        "r2": 1,
    }


def test_label_delay_percentiles(store: ParquetEventStore) -> None:
    requests = [(f"r{index}", timedelta(0)) for index in range(5)]
    _predict(store, *requests)
    _feedback(
        store, *[(f"f{index}", f"r{index}", timedelta(minutes=index + 1)) for index in range(4)]
    )
    window = _join().label(store, None, None, now=T0 + timedelta(hours=1))
    assert window.stats["label_delay_p50_s"] == pytest.approx(150.0)
    assert window.stats["label_delay_p95_s"] == pytest.approx(231.0)
    assert window.stats["positives"] == 4 and window.stats["negatives"] == 1
    empty = _join().label(store, None, None, now=T0)
    assert empty.stats["label_delay_p50_s"] is None and empty.stats["pending"] == 5


def test_the_window_selects_predictions_by_time(store: ParquetEventStore) -> None:
    _predict(store, ("r1", timedelta(0)), ("r2", timedelta(hours=1)), ("r3", timedelta(hours=2)))
    _feedback(store, ("f2", "r2", timedelta(hours=1, minutes=1)))
    window = _join().label(
        store, T0 + timedelta(minutes=30), T0 + timedelta(hours=2), now=T0 + timedelta(hours=5)
    )
    assert _labels(window) == {"r2": 1}


def test_custom_label_values_and_missing_keys(store: ParquetEventStore) -> None:
    _predict(store, ("r1", timedelta(0)))
    store.append(
        "predictions",
        pd.DataFrame(
            {
                "event_id": ["p-none"],
                "event_time": [pd.Timestamp(T0)],
                "request_id": [None],
                "x": [1.0],
            }
        ),
    )
    join = NaturalLabelJoin(key="request_id", window=WINDOW, positive="click", negative="skip")
    window = join.label(store, None, None, now=T0 + timedelta(hours=1))
    assert window.frame["label"].tolist() == ["skip"] and window.stats["missing_key"] == 1


def test_empty_streams_give_an_empty_window(store: ParquetEventStore) -> None:
    window = _join().label(store, None, None, now=T0)
    assert window.frame.empty and {"label", "label_source", "label_time"} <= set(
        window.frame.columns
    )
    assert window.stats["rows"] == 0 and window.stats["pending"] == 0


def test_a_prediction_log_without_the_key_is_an_error(store: ParquetEventStore) -> None:
    store.append("predictions", pd.DataFrame({"event_id": ["p"], "event_time": [pd.Timestamp(T0)]}))
    with pytest.raises(DataError, match="key column 'request_id' is missing"):
        _join().label(store, None, None, now=T0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"window": timedelta(0)}, "window: expected a timedelta > 0"),
        (
            {"window": WINDOW, "allowed_lateness": timedelta(-1)},
            "allowed_lateness: expected a timedelta >= 0",
        ),
        (
            {"window": WINDOW, "positive": 1, "negative": 1},
            "negative: expected a value other than positive",
        ),
        ({"window": WINDOW, "feedback": "../x"}, "stream: expected letters"),
    ],
)
def test_bad_options_are_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        NaturalLabelJoin(key="request_id", **options)  # type: ignore[arg-type]


def test_column_labeler(store: ParquetEventStore) -> None:
    store.append(
        "elec2",
        pd.DataFrame(
            {
                "event_id": ["a", "b", "c", "d"],
                "event_time": pd.Series(
                    [T0, T0 + timedelta(hours=1), T0 + timedelta(hours=2), T0 + timedelta(hours=3)],
                    dtype="datetime64[us, UTC]",
                ),
                "x": [1.0, 2.0, 3.0, 4.0],
                "target": [1.0, None, 0.0, 1.0],
            }
        ),
    )
    labeler = ColumnLabeler("target", stream="elec2")
    window = labeler.label(store, None, T0 + timedelta(hours=3), now=T0 + timedelta(days=1))
    assert window.frame["event_id"].tolist() == ["a", "c"]
    assert window.frame["label"].tolist() == [1, 0] and window.frame["label"].dtype == "int64"
    assert "target" not in window.frame.columns
    assert (window.frame["label_time"] == window.frame["event_time"]).all()
    assert set(window.frame["label_source"]) == {"column"}
    assert window.stats["pending"] == 1 and window.stats["label_delay_p50_s"] == 0.0
    assert labeler.label(store, None, None, now=T0 + timedelta(minutes=90)).stats["pending"] == 3
    assert ColumnLabeler("target", stream="nothing").label(store, None, None, now=T0).frame.empty
    with pytest.raises(DataError, match="label column 'y' is missing"):
        ColumnLabeler("y", stream="elec2").label(store, None, None, now=T0)
