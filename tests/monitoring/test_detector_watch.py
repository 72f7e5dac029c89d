"""The detector watch's streams: served errors from the prediction log, and the stream names it reads."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from lifelong.errors import ConfigError
from lifelong.monitoring.streaming import ADWINDetector, HDDMADetector
from lifelong.monitoring.watch import DetectorWatch, _errors, parse_stream


def test_the_served_error_stream_reads_the_champions_answers_in_the_prediction_log() -> None:
    """Natural labels join the prediction log: the error is the served prediction against the label, champion rows only."""
    times = pd.to_datetime(["2024-01-01 00:00", "2024-01-01 00:01", "2024-01-01 00:02", "2024-01-01 00:03"], utc=True)
    labeled = pd.DataFrame({"event_time": times, "model_version": ["1.0", "1.0", "0.9", "1.0"],
                            "prediction": [1, 0, 1, 1], "label": [1, 1, 0, 0]})
    served_times, errors = _errors(None, SimpleNamespace(version="1.0"), labeled)  # type: ignore[arg-type]
    assert errors.tolist() == [0.0, 1.0, 1.0]  # the 0.9 row (canary, shadow, or the previous champion) is not the champion's
    assert [pd.Timestamp(t) for t in served_times] == [times[0], times[1], times[3]]


def test_stream_names_and_what_each_detector_can_read() -> None:
    assert parse_stream("prediction") == ("prediction", None) and parse_stream("feature:a:b") == ("feature", "a:b")
    with pytest.raises(ConfigError, match="stream: expected 'error', 'prediction' or 'feature:NAME', got 'feature:'"):
        parse_stream("feature:")
    with pytest.raises(ConfigError, match="stream: expected 'error' for the binary hddm_a detector"):
        DetectorWatch(HDDMADetector(), "prediction")
    with pytest.raises(ConfigError, match="min_rows: expected an integer >= 2, got 1"):
        DetectorWatch(ADWINDetector(), "error", min_rows=1)
    template = ADWINDetector(delta=0.01)
    watch = DetectorWatch(template, "feature:x1")
    assert watch.template is not template and watch.template.params() == template.params()  # the template is never fed
