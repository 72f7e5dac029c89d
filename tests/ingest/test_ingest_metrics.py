"""A running ``lifelong ingest`` process serves its Prometheus metrics (lag, rate, dead letters) over HTTP."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import orjson
from broker_support import events, free_port, xadd_all
from ingest_support import IngestChild, wait_until, write_spec
from prometheus_client.parser import text_string_to_metric_families

from lifelong.events.partitions import WRITE_LOCK, file_lock

BAD = [b"{not json", orjson.dumps({"id": "w1", "ts": "2024-01-01T00:00:00Z", "x1": "abc", "y": 1}), orjson.dumps({"ts": "2024-01-01T00:00:00Z", "x1": 1.0, "y": 0})]


def _scrape(port: int) -> dict[str, float]:
    """``name{outcome}`` -> value of every sample the process serves (empty while it is not up)."""
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    except OSError:
        return {}
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            outcome = sample.labels.get("outcome")
            samples[f"{sample.name}{{{outcome}}}" if outcome else sample.name] = sample.value
    return samples


def _stuck(samples: dict[str, float]) -> bool:
    return samples.get("lifelong_ingest_in_flight_batches", 0) >= 1 and samples.get("lifelong_ingest_lag_events", -1) >= 0


def test_lag_rate_and_dead_letters_are_scraped_from_a_running_ingest_process(redis_url: str, redis_key: str, tmp_path: Path) -> None:
    xadd_all(redis_url, redis_key, [*events(0, 3000), *BAD, *events(3000, 3000)])
    spec = write_spec(tmp_path, {"kind": "redis_streams", "url": redis_url, "key": redis_key, "group": "lifelong", "consumer": "c1",
                                 "id_field": "id", "time_field": "ts", "batch_size": 500, "block": 0.2})
    port = free_port()
    stream_dir = tmp_path / "home" / "events" / "events"
    stream_dir.mkdir(parents=True)
    lock = file_lock(stream_dir / WRITE_LOCK)
    lock.__enter__()  # the store is held by another writer: the process reads a little and waits
    child = IngestChild.start(spec, "--metrics-port", str(port), "--max-in-flight", "1")
    try:
        try:
            wait_until(lambda: _stuck(_scrape(port)), timeout=60, what="a batch in flight and the lag known", child=child)
            held = _scrape(port)
        finally:
            lock.__exit__(None, None, None)
        # While stuck, nothing is stored and the source still holds almost everything: the lag says so.
        assert held["lifelong_ingest_events_total{written}"] == 0, held
        assert held["lifelong_ingest_lag_events"] >= 6003 - 3 * 500, held
        wait_until(lambda: _scrape(port).get("lifelong_ingest_events_total{written}", 0) >= 6000, timeout=60, what="6000 events stored", child=child)
        wait_until(lambda: _scrape(port).get("lifelong_ingest_lag_events") == 0, timeout=30, what="no lag left", child=child)
        done = _scrape(port)
        assert done["lifelong_ingest_events_total{written}"] == 6000, done
        assert done["lifelong_ingest_events_total{dead_letter}"] == len(BAD), done
        assert done["lifelong_ingest_events_total{duplicate}"] == 0, done
        assert done["lifelong_ingest_events_per_second"] > 0, done
        assert done["lifelong_ingest_batches_total"] >= 12, done
        # It follows the stream: new events are stored and counted without a restart.
        xadd_all(redis_url, redis_key, events(6000, 500))
        wait_until(lambda: _scrape(port).get("lifelong_ingest_events_total{written}", 0) >= 6500, timeout=60, what="the new events", child=child)
    finally:
        code = child.terminate()
    assert code == 0, child.output()[-3000:]
    assert _scrape(port) == {}  # the server went away with the process
