"""The shadow executor: one queue item per request, chunked answers, every copy logged or counted."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from routing_support import broken
from serving_support import FEATURES, build_loader

from lifelong.clock import ManualClock
from lifelong.deployment import ShadowRouter
from lifelong.errors import ConfigError
from lifelong.events import ParquetEventStore
from lifelong.serving import ModelCatalog, PredictionLogger, PredictionService
from lifelong.serving.model import PredictionResult
from lifelong.serving.shadow import ShadowExecutor, ShadowSink, ShadowTask, shadow_logger
from lifelong.testing.fakes import ListPredictionSink

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _parts(queue_size: int = 10_000, chunk: int = 128, linger: float = 0.25):  # type: ignore[no-untyped-def]
    loader = build_loader(("1.0", "1.1", "2.0"))
    catalog = ModelCatalog(loader)
    service = PredictionService(catalog, None, extra="ignore")
    sink = ListPredictionSink()
    logger = PredictionLogger(ShadowSink(sink), stream="predictions_shadow", flush_seconds=0.05)
    executor = ShadowExecutor(service, logger, queue_size=queue_size, clock=ManualClock(NOW), chunk=chunk, linger=linger)
    champion = loader.load("churn", "1.0")
    challengers = (loader.load("churn", "1.1"), loader.load("churn", "2.0"))
    return executor, service, sink, champion, challengers


def _task(service: PredictionService, champion, challengers, router: ShadowRouter, rid: str, rows: int = 1) -> ShadowTask:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(abs(hash(rid)) % 2**32)
    inputs = {name: rng.normal(size=rows) for name in FEATURES}
    result: PredictionResult = service.predict_columns(champion, inputs, rid)
    return ShadowTask(router, challengers, inputs, result)


def test_each_request_is_one_queue_item_answered_by_every_challenger_in_chunks() -> None:
    executor, service, sink, champion, challengers = _parts(chunk=3)
    router = ShadowRouter("1.0", ["1.1", "2.0"])
    tasks = [_task(service, champion, challengers, router, f"r{i}") for i in range(10)]
    for task in tasks:
        assert executor.submit(task)
    assert executor.pending == 20  # copies waiting: two per request, one queue item each
    executor.drain()
    assert executor.pending == 0 and executor.answered == 20
    executor.stop()
    status = router.status()
    assert status["arms"]["1.1"]["requests"] == status["arms"]["2.0"]["requests"] == 10
    assert status["dropped"] == 0
    # The live agreement equals what the challengers answer row by row.
    for challenger in challengers:
        own = [service.predict_columns(challenger, t.inputs, "x").labels[0] for t in tasks]
        expected = sum(int(o == t.champion.labels[0]) for o, t in zip(own, tasks, strict=True)) / 10
        assert status["agreement"][challenger.version] == pytest.approx(
            {"rows": 10, "agreement": expected, "mean_abs_score_gap": status["agreement"][challenger.version]["mean_abs_score_gap"]}
        )
    rows = sink.rows("predictions_shadow")
    assert len(rows) == 20 and rows["shadow"].all()
    assert sorted(rows["event_id"]) == sorted(f"r{i}:0@{v}" for i in range(10) for v in ("1.1", "2.0"))
    assert (rows["request_id"] + ":0@" + rows["model_version"] == rows["event_id"]).all()
    # Each logged row carries the inputs of its own request and the challenger's own answer.
    by_request = {t.champion.request_id: t for t in tasks}
    for record in rows.to_dict("records"):
        task = by_request[record["request_id"]]
        assert record["x1"] == pytest.approx(task.inputs["x1"][0])
        version = next(c for c in challengers if c.version == record["model_version"])
        assert record["prediction"] == service.predict_columns(version, task.inputs, "y").labels[0]


def test_a_full_queue_drops_whole_requests_and_counts_every_copy() -> None:
    executor, service, sink, champion, challengers = _parts(queue_size=5)
    router = ShadowRouter("1.0", ["1.1", "2.0"])
    accepted = [executor.submit(_task(service, champion, challengers, router, f"r{i}")) for i in range(4)]
    assert accepted == [True, True, False, False]  # 2 requests = 4 copies fit in 5; a third would make 6
    assert router.status()["dropped"] == 4
    executor.drain()
    executor.stop()
    assert len(sink.rows("predictions_shadow")) == 4 and executor.answered == 4


def test_requests_of_several_rows_get_one_event_id_per_row() -> None:
    executor, service, sink, champion, challengers = _parts()
    router = ShadowRouter("1.0", ["1.1", "2.0"])
    executor.submit(_task(service, champion, challengers, router, "a", rows=3))
    executor.submit(_task(service, champion, challengers, router, "b", rows=1))
    executor.drain()
    executor.stop()
    rows = sink.rows("predictions_shadow")
    expected = [f"{rid}:{n}@{v}" for v in ("1.1", "2.0") for rid, n in (("a", 0), ("a", 1), ("a", 2), ("b", 0))]
    assert sorted(rows["event_id"]) == sorted(expected)
    assert router.status()["agreement"]["1.1"]["rows"] == 4 and router.status()["arms"]["1.1"]["requests"] == 2


def test_the_background_thread_answers_without_a_drain() -> None:
    executor, service, sink, champion, challengers = _parts(linger=0.0)
    router = ShadowRouter("1.0", ["1.1", "2.0"])
    executor.start()
    for i in range(50):
        executor.submit(_task(service, champion, challengers, router, f"r{i}"))
    deadline = time.monotonic() + 10
    while executor.answered < 100 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert executor.answered == 100
    executor.stop()
    assert len(sink.rows("predictions_shadow")) == 100


def test_a_failing_challenger_is_counted_and_the_other_still_answers() -> None:
    executor, service, sink, champion, challengers = _parts()

    bad = broken(challengers[0], "1.3")
    router = ShadowRouter("1.0", ["1.3", "2.0"])
    for i in range(5):
        executor.submit(_task(service, champion, (bad, challengers[1]), router, f"r{i}"))
    executor.drain()
    executor.stop()
    status = router.status()
    assert status["arms"]["1.3"]["errors"] == 5 and status["arms"]["2.0"]["errors"] == 0
    assert executor.failed == 5 and executor.answered == 5
    assert set(sink.rows("predictions_shadow")["model_version"]) == {"2.0"}


def test_shadow_sink_suffixes_only_the_ids_that_lack_the_version() -> None:
    sink = ListPredictionSink()
    frame = pd.DataFrame({"event_id": ["r1:0@1.1", "r2:0"], "model_version": ["1.1", "1.1"]})
    ShadowSink(sink).append("s", frame)
    mixed = pd.DataFrame({"event_id": ["r3:0", "r3:0", "r4:0@2.0"], "model_version": ["1.1", "2.0", "2.0"]})
    ShadowSink(sink).append("s", mixed)
    assert list(sink.rows("s")["event_id"]) == ["r1:0@1.1", "r2:0@1.1", "r3:0@1.1", "r3:0@2.0", "r4:0@2.0"]


def test_the_shadow_log_writes_every_challengers_rows_of_a_flush_in_one_append() -> None:
    loader = build_loader(("1.0", "1.1", "2.0"))
    service = PredictionService(ModelCatalog(loader), None, extra="ignore")
    sink = ListPredictionSink()
    executor = ShadowExecutor(service, shadow_logger(sink), clock=ManualClock(NOW))
    champion = loader.load("churn", "1.0")
    challengers = (loader.load("churn", "1.1"), loader.load("churn", "2.0"))
    router = ShadowRouter("1.0", ["1.1", "2.0"])
    for i in range(300):
        executor.submit(_task(service, champion, challengers, router, f"r{i}"))
    executor.drain()
    executor.stop()  # flushes the shadow log once
    rows = sink.rows("predictions_shadow")
    assert sink.calls == 1 and len(rows) == 600 and rows["event_id"].is_unique
    assert rows.groupby("model_version").size().to_dict() == {"1.1": 300, "2.0": 300}


def test_observed_copies_keep_the_latency_window_bounded() -> None:
    router = ShadowRouter("1.0", ["1.1"])
    router.observe_copies("1.1", 100_000, error=False, seconds=0.001)
    router.observe_copies("1.1", 3, error=True, seconds=0.001)
    arm = router.status()["arms"]["1.1"]
    assert arm["requests"] == 100_003 and arm["errors"] == 3
    assert len(router.arms["1.1"].latencies) == router.arms["1.1"].latencies.maxlen


@pytest.mark.parametrize(("field", "value"), [("chunk", 0), ("queue_size", 0), ("linger", -1.0)])


def test_bad_executor_settings_name_the_field(field: str, value: object) -> None:
    executor, service, *_ = _parts()
    with pytest.raises(ConfigError, match=field):
        ShadowExecutor(service, None, **{field: value})  # type: ignore[arg-type]


SHADOW_CRASH = """
import os, signal, sys
import numpy as np
from lifelong.deployment import ShadowRouter
from lifelong.events import ParquetEventStore
from lifelong.serving import ModelCatalog, PredictionService
from lifelong.serving.shadow import ShadowExecutor, ShadowTask, shadow_logger
from lifelong.testing.fakes import InMemoryModelLoader, logistic_served_model

loader = InMemoryModelLoader()
for seed, version in enumerate(("1.0", "1.1", "2.0")):
    loader.add(logistic_served_model("churn", version, seed=seed), champion=seed == 0)
service = PredictionService(ModelCatalog(loader), None, extra="ignore")
executor = ShadowExecutor(service, shadow_logger(ParquetEventStore(sys.argv[1]), wal_dir=sys.argv[2]))
executor.start()
champion = loader.load("churn", "1.0")
challengers = (loader.load("churn", "1.1"), loader.load("churn", "2.0"))
router = ShadowRouter("1.0", ["1.1", "2.0"])
rng = np.random.default_rng(0)
for i in range(40):
    inputs = {name: rng.normal(size=1) for name in ("x1", "x2", "x3")}
    executor.submit(ShadowTask(router, challengers, inputs, service.predict_columns(champion, inputs, f"r{i}")))
executor.drain()  # answered and logged; the shadow log flushes once a second
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_answered_shadow_rows_survive_a_sigkill(tmp_path: Path) -> None:
    root, wal = tmp_path / "events", tmp_path / "wal"
    done = subprocess.run(
        [sys.executable, "-c", SHADOW_CRASH, str(root), str(wal)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    store = ParquetEventStore(root)
    with shadow_logger(store, wal_dir=wal) as logger:  # replays what the dead process had not stored
        assert logger.recovered_rows == 80  # killed within its first second: nothing flushed yet
    rows = store.window("predictions_shadow")
    assert sorted(rows["event_id"]) == sorted(f"r{i}:0@{v}" for i in range(40) for v in ("1.1", "2.0"))
    assert rows["shadow"].all()
