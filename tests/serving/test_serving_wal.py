"""Write-ahead segments of the prediction log: round trip, replay after SIGKILL, lock, cleanup."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lifelong.events import ParquetEventStore
from lifelong.serving import PredictionLogger, PredictionResult
from lifelong.serving.logrows import LogChunk, log_frame
from lifelong.serving.wal import WalError, decode_chunk, encode_chunk
from lifelong.testing.fakes import ListPredictionSink

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class FlakySink(ListPredictionSink):
    def __init__(self) -> None:
        super().__init__()
        self.failing = True

    def append(self, stream: str, frame: pd.DataFrame) -> object:
        if self.failing:
            raise OSError("store unavailable")
        return super().append(stream, frame)


def chunks() -> list[LogChunk]:
    times = np.array(["2024-05-01T12:00:00.000001", "2024-05-02T00:00:00"], dtype="datetime64[us]")
    return [
        LogChunk(
            "m", "1.0", "r1",
            {"x": np.array([1.5, np.nan]), "n": np.array([3, -4]), "b": np.array([True, False]),
             "s": np.array(["a", None], dtype=object)},
            np.array([0, 1]), np.array([[0.9, 0.1], [0.2, 0.8]]), T0, 2,
        ),
        LogChunk(
            "m", "2.0", "r2", {"x": np.array([0.0, 2.0])}, np.array(["no", "yes"], dtype=object),
            np.array([[0.6, 0.3, 0.1], [0.1, 0.1, 0.8]]), times, 2,
        ),
        LogChunk("m", None, "r3", {"x": np.array([7.0])}, None, None, T0, 1),
        LogChunk(
            "m", "1.1", "batch", {"x": np.array([1.0, 2.0])}, np.array([1, 0]),
            np.array([[0.4, 0.6], [0.7, 0.3]]), T0, 2,
            np.array(["q1", "q2"], dtype=object), np.array(["q1:0", "q2:0"], dtype=object),
        ),
    ]


def frame(group: list[LogChunk]) -> pd.DataFrame:
    return log_frame(group).reset_index(drop=True)


def test_a_chunk_comes_back_exactly() -> None:
    for chunk in chunks():
        back = decode_chunk(encode_chunk(chunk))
        pd.testing.assert_frame_equal(frame([back]), frame([chunk]))
        for name, values in chunk.inputs.items():
            assert back.inputs[name].dtype == values.dtype


def test_a_damaged_record_is_a_clear_error() -> None:
    with pytest.raises(WalError, match="expected a prediction-log chunk"):
        decode_chunk(b'{"m": "m"')


CRASH = """
import os, signal, sys
from datetime import datetime, timezone
import numpy as np
from lifelong.serving import PredictionLogger, PredictionResult
from lifelong.events import ParquetEventStore

store = ParquetEventStore(sys.argv[3])
logger = PredictionLogger(store, flush_rows=3, wal_dir=sys.argv[1]).start()
when = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
for n in range(int(sys.argv[2])):
    result = PredictionResult("m", "1.0", f"r{n}", np.array([n % 2]), np.array([[0.25, 0.75]]), (0, 1))
    logger.log(result, {"x": np.array([float(n)])}, event_time=when)
os.kill(os.getpid(), signal.SIGKILL)  # while the flush thread may be storing rows
"""


def test_rows_logged_before_a_sigkill_are_replayed_by_the_next_start(tmp_path: Path) -> None:
    wal, root = tmp_path / "wal", tmp_path / "events"
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CRASH), str(wal), "10", str(root)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert list(wal.glob("*.wal")), "the killed process left no segment"
    store = ParquetEventStore(root)
    before = store.count("predictions")
    logger = PredictionLogger(store, wal_dir=wal)
    with logger:
        # Every row is in the store or in a segment; replayed rows the dead process had
        # stored too are counted as duplicates by the store, never stored twice.
        assert logger.recovered_rows >= 10 - before
        stored = store.window("predictions")
    assert sorted(stored["event_id"]) == sorted(f"r{n}:0" for n in range(10))
    row = stored.set_index("event_id").loc["r9:0"]
    assert (row["x"], row["prediction"], row["score"]) == (9.0, 1, 0.75)
    assert row["event_time"] == T0
    assert not list(wal.glob("*.wal")), "a replayed segment was kept"


def test_a_live_process_segment_is_not_replayed(tmp_path: Path) -> None:
    first = PredictionLogger(ListPredictionSink(), wal_dir=tmp_path)
    result = PredictionResult("m", "1.0", "a", np.array([1]), np.array([[0.3, 0.7]]), (0, 1))
    first.log(result, {"x": np.array([1.0])}, event_time=T0)
    other = ListPredictionSink()
    assert PredictionLogger(other, wal_dir=tmp_path).replay() == 0
    assert len(list(tmp_path.glob("*.wal"))) == 1
    first.close()
    assert not list(tmp_path.glob("*.wal")), "a clean close leaves no segment"


def test_segments_stay_while_the_store_fails_and_go_once_it_works(tmp_path: Path) -> None:
    sink = FlakySink()
    logger = PredictionLogger(sink, wal_dir=tmp_path)
    for n in range(3):
        result = PredictionResult("m", "1.0", f"r{n}", np.array([1]), np.array([[0.3, 0.7]]), (0, 1))
        logger.log(result, {"x": np.array([1.0])}, event_time=T0)
    with pytest.raises(OSError):
        logger.flush()
    segments = list(tmp_path.glob("*.wal"))
    assert len(segments) == 2  # the rotated one with the 3 rows, and the new one
    kept = [decode_chunk(line) for path in segments for line in path.read_bytes().splitlines()]
    assert sorted(chunk.request_id for chunk in kept) == ["r0", "r1", "r2"]
    sink.failing = False
    assert logger.flush() == 3
    assert len(list(tmp_path.glob("*.wal"))) == 1  # only the segment being written
    logger.close()
    assert sorted(sink.rows()["event_id"]) == ["r0:0", "r1:0", "r2:0"]
    assert not list(tmp_path.glob("*.wal"))


def test_rows_a_failed_close_could_not_store_are_replayed(tmp_path: Path) -> None:
    sink = FlakySink()
    logger = PredictionLogger(sink, wal_dir=tmp_path)
    result = PredictionResult("m", "1.0", "late", np.array([0]), np.array([[0.8, 0.2]]), (0, 1))
    logger.log(result, {"x": np.array([3.0])}, event_time=T0)
    with pytest.raises(OSError):
        logger.close()
    sink.failing = False
    again = PredictionLogger(sink, wal_dir=tmp_path)
    assert again.replay() == 1
    assert sink.rows()["event_id"].tolist() == ["late:0"]
