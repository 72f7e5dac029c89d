"""The ingest process: backpressure, metrics, graceful stop, the SQL source end to end, config kinds."""

from __future__ import annotations

import threading
import urllib.request
from pathlib import Path

import duckdb
import pytest
import redis
from broker_support import events, xadd_all
from ingest_support import stored_count, wait_until, write_spec

from lifelong.config import load_config
from lifelong.errors import ConfigError
from lifelong.events.partitions import WRITE_LOCK, file_lock
from lifelong.ingest import IngestTarget, ingest_once, load_checkpoint
from lifelong.ingest_process import IngestOptions, IngestProcess


def _redis_target(tmp_path: Path, url: str, key: str) -> IngestTarget:
    spec = write_spec(tmp_path, {"kind": "redis_streams", "url": url, "key": key, "group": "lifelong", "consumer": "c1",
                                 "id_field": "id", "time_field": "ts", "batch_size": 500, "block": 0.2})
    return IngestTarget.open(load_config(spec), project_dir=tmp_path)


def _delivered(url: str, key: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        groups = client.xinfo_groups(key) if client.exists(key) else []
        found = [group for group in groups if group["name"] in (b"lifelong", "lifelong")]
        return int(found[0]["entries-read"] or 0) if found else 0
    finally:
        client.close()


def test_a_store_that_falls_behind_stops_the_polling_and_nothing_is_lost(redis_url: str, redis_key: str, tmp_path: Path) -> None:
    xadd_all(redis_url, redis_key, events(0, 20_000))
    target = _redis_target(tmp_path, redis_url, redis_key)
    process = IngestProcess(target, IngestOptions(max_in_flight=2, metrics_port=0))
    stream_dir = tmp_path / "home" / "events" / "events"
    stream_dir.mkdir(parents=True)
    lock = file_lock(stream_dir / WRITE_LOCK)
    lock.__enter__()  # the store is stuck behind another writer
    runner = threading.Thread(target=process.run)
    runner.start()
    stopped = False
    try:
        wait_until(lambda: _delivered(redis_url, redis_key) >= 500, timeout=30, what="a first read")
        threading.Event().wait(1.0)
        held = _delivered(redis_url, redis_key)
        # one batch in the writer, two queued, one waiting to be queued and two decoding ahead in the
        # source: the source is not polled further
        assert held <= 6 * 500, held
        assert process.metrics.value("lifelong_ingest_in_flight_batches") == 2
        scraped = urllib.request.urlopen(f"http://127.0.0.1:{process.metrics_port}/metrics", timeout=5).read().decode()
        assert "lifelong_ingest_lag_events" in scraped and "lifelong_ingest_batches_total" in scraped
    except BaseException:
        process.stop()
        stopped = True
        raise
    finally:
        lock.__exit__(None, None, None)
        if stopped:
            runner.join(30)
    wait_until(lambda: stored_count(tmp_path) == 20_000, timeout=60, what="every event stored")
    process.stop()
    runner.join(30)
    assert not runner.is_alive()
    assert process.totals["written"] == 20_000 and process.totals["batches"] == 40
    assert process.metrics.value("lifelong_ingest_events_total", outcome="written") == 20_000
    assert process.metrics.value("lifelong_ingest_lag_events") == 0
    client = redis.Redis.from_url(redis_url)
    assert int(client.xpending(redis_key, "lifelong")["pending"]) == 0  # stop() committed everything stored
    client.close()
    target.close()


def test_without_follow_the_process_stops_once_caught_up(redis_url: str, redis_key: str, tmp_path: Path) -> None:
    xadd_all(redis_url, redis_key, [*events(0, 1200), b"{not json"])
    target = _redis_target(tmp_path, redis_url, redis_key)
    totals = IngestProcess(target, IngestOptions(follow=False)).run()
    assert totals["written"] == 1200 and totals["dead_letters"] == 1 and totals["batches"] == 3
    letters = target.store.dead_letters("events")
    assert "invalid JSON" in letters["reason"].iloc[0] and letters["payload"].iloc[0] == "{not json"
    target.close()


def test_sql_ingest_resumes_from_its_checkpoint_file(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as db:
        db.execute("CREATE TABLE clicks AS SELECT i AS id, TIMESTAMPTZ '2024-01-01 00:00:00+00' + (i // 3) * INTERVAL 1 MINUTE AS ts, "
                   "i * 0.5 AS x1, i % 2 AS y FROM range(100) t(i)")
    spec = write_spec(tmp_path, {"kind": "sql", "url": "duckdb:///warehouse.duckdb", "table": "clicks", "watermark": "ts",
                                 "id_column": "id", "batch_size": 7})
    target = IngestTarget.open(load_config(spec), project_dir=tmp_path)
    first = ingest_once(target)
    checkpoint = load_checkpoint(target)
    assert first["written"] == 100 and checkpoint is not None and checkpoint.position["id"] == 99
    with duckdb.connect(str(path)) as db:
        db.execute("INSERT INTO clicks SELECT i, TIMESTAMPTZ '2024-01-01 00:33:00+00', i * 0.5, 1 FROM range(100, 110) t(i)")
    second = ingest_once(target)
    assert second["written"] == 10 and second["duplicates"] == 0
    assert target.store.count("events") == 110
    target.close()


def test_source_kinds_are_validated_in_the_spec(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, {"kind": "kafka", "bootstrap_servers": "127.0.0.1:9092", "topics": []})
    with pytest.raises(ConfigError, match="source.topics"):
        load_config(spec)
    spec = write_spec(tmp_path, {"kind": "redis_streams", "key": "k", "start_id": "1-0"})
    with pytest.raises(ConfigError, match="source.start_id"):
        load_config(spec)
    spec = write_spec(tmp_path, {"kind": "sql", "url": "duckdb:///x.duckdb", "table": "t", "watermark": "ts"})
    with pytest.raises(ConfigError, match="source.id_column: required field is missing"):
        load_config(spec)
    with pytest.raises(ConfigError, match="--max-in-flight: expected an integer >= 1, got 0"):
        IngestOptions(max_in_flight=0)
