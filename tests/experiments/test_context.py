"""Context features are point-in-time: never a label from the future, whatever the batching."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from lifelong.errors import ConfigError
from lifelong.experiments import StreamContext


def stream(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    gaps = rng.integers(1, 120, size=n)
    times = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.cumsum(gaps), unit="m")
    labels = rng.integers(0, 2, size=n).astype(float)
    labels[rng.random(n) < 0.1] = np.nan  # some rows never get a label
    return pd.DataFrame({"event_time": times, "x": rng.normal(size=n), "y": labels})


def known_labels(frame: pd.DataFrame, delay: timedelta) -> list[list[float]]:
    """Row by row: the labels of earlier rows that had arrived strictly before this row, in row order."""
    return [
        [
            label
            for j, (time, label) in enumerate(zip(frame["event_time"], frame["y"], strict=True))
            if j < i and time + delay < now and not np.isnan(label)
        ]
        for i, now in enumerate(frame["event_time"])
    ]


def reference_last_label(frame: pd.DataFrame, delay: timedelta) -> list[float]:
    """Row by row: the label of the latest earlier row whose label had arrived strictly before this row."""
    return [known[-1] if known else np.nan for known in known_labels(frame, delay)]


@pytest.mark.parametrize("delay", [timedelta(0), timedelta(minutes=90), timedelta(hours=6)])
def test_last_label_is_only_what_had_arrived(delay: timedelta) -> None:
    frame = stream(300)
    context = StreamContext(numeric=("x",), target="y", classes=(0, 1), delay=delay)
    got = pd.concat([context.enrich(frame.iloc[i : i + 37]) for i in range(0, 300, 37)])["ctx_last_label"].to_numpy()
    np.testing.assert_array_equal(got, np.array(reference_last_label(frame, delay)))


@pytest.mark.parametrize("delay", [timedelta(0), timedelta(hours=6)])
def test_label_rates_count_only_what_had_arrived(delay: timedelta) -> None:
    frame = stream(300, seed=2)
    context = StreamContext(numeric=("x",), target="y", classes=(0, 1), delay=delay, rates=(3, 20))
    got = pd.concat([context.enrich(frame.iloc[i : i + 41]) for i in range(0, 300, 41)])
    known = known_labels(frame, delay)
    for k in (3, 20):
        expected = [np.mean(labels[-k:]) if labels else np.nan for labels in known]
        np.testing.assert_allclose(got[f"ctx_rate{k}"].to_numpy(), expected)


def test_time_is_days_since_the_epoch() -> None:
    frame = pd.DataFrame({"event_time": pd.to_datetime(["1970-01-02 12:00", "2024-01-01 00:00"], utc=True), "y": [0, 1]})
    out = StreamContext(numeric=(), target="y", classes=(0, 1)).enrich(frame)
    assert out["ctx_time"].tolist() == [1.5, 19723.0]


def test_features_do_not_depend_on_batch_boundaries() -> None:
    frame = stream(500, seed=1)
    results = []
    for size in (1, 7, 500):
        context = StreamContext(numeric=("x",), target="y", classes=(0, 1), delay=timedelta(minutes=30), span=10)
        results.append(pd.concat([context.enrich(frame.iloc[i : i + size]) for i in range(0, 500, size)], ignore_index=True))
    for other in results[1:]:
        pd.testing.assert_frame_equal(results[0], other)
    expected_dev = frame["x"] - frame["x"].rolling(10, min_periods=1).mean()
    np.testing.assert_allclose(results[0]["ctx_x_dev"], expected_dev)
    np.testing.assert_allclose(results[0]["ctx_x_diff"], frame["x"].diff())


def test_multiclass_last_label_is_a_category() -> None:
    frame = pd.DataFrame({
        "event_time": pd.date_range("2024-01-01", periods=4, freq="h", tz="UTC"),
        "y": ["red", "blue", None, "green"],
    })
    context = StreamContext(numeric=(), target="y", classes=("blue", "green", "red"), rates=(2,))
    assert context.columns() == (
        ("ctx_rate2_0", "ctx_rate2_1", "ctx_rate2_2", "ctx_time"),
        {"ctx_last_label": ("blue", "green", "red")},
    )
    out = context.enrich(frame)
    assert out["ctx_last_label"].tolist() == [None, "red", "blue", "blue"]
    # one share per class among the last two known labels: none, [red], [red, blue], [red, blue]
    np.testing.assert_allclose(out["ctx_rate2_0"], [np.nan, 0.0, 0.5, 0.5])
    np.testing.assert_allclose(out["ctx_rate2_2"], [np.nan, 1.0, 0.5, 0.5])


def test_bad_parameters_name_the_field() -> None:
    with pytest.raises(ConfigError, match="span: expected an integer >= 2"):
        StreamContext(numeric=("x",), target="y", classes=(0, 1), span=1)
    with pytest.raises(ConfigError, match=r"rates: expected distinct integers >= 1, got \[5, 0\]"):
        StreamContext(numeric=("x",), target="y", classes=(0, 1), rates=(5, 0))
    with pytest.raises(ConfigError, match="delay: expected a duration >= 0"):
        StreamContext(numeric=("x",), target="y", classes=(0, 1), delay=timedelta(-1))
