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


def reference_last_label(frame: pd.DataFrame, delay: timedelta) -> list[float]:
    """Row by row: the label of the latest earlier row whose label had arrived strictly before this row."""
    out = []
    for i, now in enumerate(frame["event_time"]):
        known = [
            label
            for j, (time, label) in enumerate(zip(frame["event_time"], frame["y"], strict=True))
            if j < i and time + delay < now and not np.isnan(label)
        ]
        out.append(known[-1] if known else np.nan)
    return out


@pytest.mark.parametrize("delay", [timedelta(0), timedelta(minutes=90), timedelta(hours=6)])
def test_last_label_is_only_what_had_arrived(delay: timedelta) -> None:
    frame = stream(300)
    context = StreamContext(numeric=("x",), target="y", classes=(0, 1), delay=delay)
    got = pd.concat([context.enrich(frame.iloc[i : i + 37]) for i in range(0, 300, 37)])["ctx_last_label"].to_numpy()
    np.testing.assert_array_equal(got, np.array(reference_last_label(frame, delay)))


@pytest.mark.parametrize(("span", "sizes"), [(10, (1, 7, 500)), (50, (250, 333, 500))])
def test_features_do_not_depend_on_batch_boundaries(span: int, sizes: tuple[int, ...]) -> None:
    frame = stream(1_000, seed=1)
    frame["x"] = 100 + frame["x"] * 7.3  # values whose running sums lose low bits
    frame.loc[frame.index % 97 == 5, "x"] = np.nan
    results = []
    for size in sizes:
        context = StreamContext(numeric=("x",), target="y", classes=(0, 1), delay=timedelta(minutes=30), span=span)
        results.append(pd.concat([context.enrich(frame.iloc[i : i + size]) for i in range(0, len(frame), size)], ignore_index=True))
    for other in results[1:]:  # the same bits, not merely close
        pd.testing.assert_frame_equal(results[0], other, check_exact=True)
    expected_dev = frame["x"] - frame["x"].rolling(span, min_periods=1).mean()
    np.testing.assert_allclose(results[0]["ctx_x_dev"], expected_dev)
    np.testing.assert_allclose(results[0]["ctx_x_diff"], frame["x"].diff())


def test_multiclass_last_label_is_a_category() -> None:
    frame = pd.DataFrame({
        "event_time": pd.date_range("2024-01-01", periods=4, freq="h", tz="UTC"),
        "y": ["red", "blue", None, "green"],
    })
    context = StreamContext(numeric=(), target="y", classes=("blue", "green", "red"))
    assert context.columns() == ((), {"ctx_last_label": ("blue", "green", "red")})
    assert context.enrich(frame)["ctx_last_label"].tolist() == [None, "red", "blue", "blue"]


def test_bad_parameters_name_the_field() -> None:
    with pytest.raises(ConfigError, match="span: expected an integer >= 2"):
        StreamContext(numeric=("x",), target="y", classes=(0, 1), span=1)
    with pytest.raises(ConfigError, match="delay: expected a duration >= 0"):
        StreamContext(numeric=("x",), target="y", classes=(0, 1), delay=timedelta(-1))
