"""Kafka topics through a confluent-kafka consumer group, committed only once stored.

Each record's value is one JSON event (see :mod:`lifelong.sources.messages`); bad records
become dead letters named by ``kafka:<topic>[<partition>]@<offset>``. Auto-commit is off:
offsets are committed by :meth:`KafkaSource.commit`, which the ingest loop calls only after
the batch's events and dead letters are durably in the event store (written, fsynced and
renamed); commits are asynchronous, and :meth:`KafkaSource.close` waits for them. A crash therefore re-delivers at most the batches in flight, which the store drops
by event id: at least once from the broker, exactly once in the store.

Examples
--------
>>> source = KafkaSource(bootstrap_servers="127.0.0.1:9", topics=["clicks"], group_id="lifelong")
>>> source.topics, source.group_id
(('clicks',), 'lifelong')
>>> KafkaSource(bootstrap_servers="127.0.0.1:9", topics=["clicks"], group_id="g",
...             options={"enable.auto.commit": True})
Traceback (most recent call last):
...
lifelong.errors.ConfigError: options.enable.auto.commit: expected it unset (offsets are committed after each stored batch), got True
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Generator, Mapping, Sequence
from typing import Any, overload

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from lifelong.clock import Clock
from lifelong.errors import ConfigError
from lifelong.events.batch import Batch, Checkpoint
from lifelong.events.normalize import check_stream_name
from lifelong.events.schema import EventSchema
from lifelong.sources.ahead import DecodeAhead
from lifelong.sources.base import Source
from lifelong.sources.errors import SourceUnavailableError
from lifelong.sources.messages import decode_table

log = logging.getLogger("lifelong.sources.kafka")
Option = str | int | float | bool
_FIXED = ("enable.auto.commit", "enable.auto.offset.store", "group.id", "bootstrap.servers")


def _key(topic: str, partition: int) -> str:
    return f"{topic}/{partition}"


class _Origins(Sequence[str]):
    """``kafka:<topic>[<partition>]@<offset>`` of each record, written only when a dead letter asks."""

    def __init__(self, messages: list[Message], topics: tuple[str, ...]) -> None:
        single = len(topics) == 1 and not topics[0].startswith("^")  # one topic, not a pattern
        self.topics = [topics[0]] * len(messages) if single else [message.topic() for message in messages]
        self.partitions = [message.partition() for message in messages]
        self.offsets = [message.offset() for message in messages]

    def __len__(self) -> int:
        return len(self.offsets)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return f"kafka:{self.topics[index]}[{self.partitions[index]}]@{self.offsets[index]}"

    def next_offsets(self) -> dict[str, int]:
        """``{'topic/partition': next offset}`` after the last record of each partition.

        Records of a partition arrive in offset order, so the last is the highest; were it
        ever lower, the records after it would be read again and dropped by id, never lost.
        """
        last = dict(zip(zip(self.topics, self.partitions), self.offsets))
        return {_key(str(topic), int(partition or 0)): int(offset or 0) + 1 for (topic, partition), offset in last.items()}


def parse_offsets(checkpoint: Checkpoint) -> dict[tuple[str, int], int]:
    """``{(topic, partition): next offset}`` of a Kafka checkpoint (ConfigError if malformed)."""
    offsets = checkpoint.position.get("offsets")
    if not isinstance(offsets, dict):
        raise ConfigError(f"checkpoint: expected {{'offsets': {{'topic/partition': offset}}}}, got {checkpoint.position!r}")
    parsed: dict[tuple[str, int], int] = {}
    for key, offset in offsets.items():
        topic, _, partition = str(key).rpartition("/")
        if not topic or not partition.isdigit() or isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ConfigError(f"checkpoint.offsets: expected 'topic/partition': offset >= 0, got {key!r}: {offset!r}")
        parsed[(topic, int(partition))] = offset
    return parsed


class KafkaSource(Source):
    """Events from Kafka topics, read by a consumer group.

    Parameters
    ----------
    bootstrap_servers
        ``host:port[,host:port]`` of the brokers.
    topics
        Topics to subscribe to.
    group_id
        Consumer group; its committed offsets are where reading resumes.
    stream
        Stream name put on every batch.
    schema
        Checks each event (size, id, time, fields); failures become dead letters.
    id_field, time_field
        Names of the event id and ISO-8601 time inside each JSON value.
    batch_size
        Most records in one batch.
    linger
        Seconds to wait for a batch to fill before a smaller one is returned.
    idle
        :meth:`read` returns once no record arrived for this many seconds (caught up).
    join_timeout
        Seconds to wait for the group to assign partitions before giving up.
    options
        More librdkafka settings (``session.timeout.ms``, security, ...). Offset commits
        stay manual: ``enable.auto.commit`` and ``enable.auto.offset.store`` may not be set.
    clock
        Reference time of the schema's ``max_future`` (default: the system time).
    """

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        topics: Sequence[str],
        group_id: str,
        stream: str = "events",
        schema: EventSchema | None = None,
        id_field: str = "event_id",
        time_field: str = "event_time",
        batch_size: int = 2000,
        linger: float = 0.05,
        idle: float = 1.0,
        join_timeout: float = 60.0,
        options: Mapping[str, Option] | None = None,
        clock: Clock | None = None,
    ) -> None:
        if isinstance(topics, str) or not topics or not all(isinstance(t, str) and t for t in topics):
            raise ConfigError(f"topics: expected a non-empty list of topic names, got {topics!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size: expected an integer >= 1, got {batch_size!r}")
        for name, value in (("linger", linger), ("idle", idle), ("join_timeout", join_timeout)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(f"{name}: expected a number of seconds > 0, got {value!r}")
        extra = dict(options or {})
        for name in _FIXED:
            if name in extra:
                raise ConfigError(
                    f"options.{name}: expected it unset (offsets are committed after each stored batch), got {extra[name]!r}"
                )
        self._settings: dict[str, Option] = {
            "bootstrap.servers": bootstrap_servers,
            "group.id": group_id,
            "auto.offset.reset": "earliest",
            **extra,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
        }
        self._topics = tuple(topics)
        self._group_id = group_id
        self._stream = check_stream_name(stream)
        self._schema = schema
        self._id_field = id_field
        self._time_field = time_field
        self._batch_size = batch_size
        self._linger = float(linger)
        self._idle = float(idle)
        self._join_timeout = float(join_timeout)
        self._clock = clock
        self._consumer: Consumer | None = None
        self._assigned: list[TopicPartition] | None = None
        self._seek: dict[tuple[str, int], int] = {}
        self._last_error: str | None = None
        self._assigned_at = 0.0
        self._poller: int | None = None  # the thread that polls (and so commits)
        self._outbox: deque[list[TopicPartition]] = deque()  # commits asked for by other threads

    @property
    def topics(self) -> tuple[str, ...]:
        """The subscribed topics."""
        return self._topics

    @property
    def group_id(self) -> str:
        """The consumer group."""
        return self._group_id

    @property
    def stream(self) -> str:
        """Stream name of the batches."""
        return self._stream

    # -- consumer ------------------------------------------------------------------------

    def _on_error(self, error: KafkaError) -> None:
        self._last_error = str(error)
        if error.fatal():
            log.error("kafka: fatal error: %s", error)
        else:
            log.warning("kafka: %s", error)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for partition in partitions:
            offset = self._seek.pop((partition.topic, partition.partition), None)
            if offset is not None:
                partition.offset = offset
        consumer.assign(partitions)
        self._assigned = list(partitions)
        self._assigned_at = time.monotonic()
        log.info("kafka: assigned %s", [_key(p.topic, p.partition) for p in partitions])

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Batches in flight are not waited for: their commits may be refused after the
        # rebalance (logged), and the partitions' next owner reads them again.
        consumer.unassign()
        self._assigned = None

    def _open(self) -> Consumer:
        if self._consumer is None:
            try:
                consumer = Consumer({**self._settings, "error_cb": self._on_error, "on_commit": self._on_commit})
            except KafkaException as exc:
                raise ConfigError(f"options: librdkafka refused the settings: {exc}") from exc
            consumer.subscribe(list(self._topics), on_assign=self._on_assign, on_revoke=self._on_revoke)
            self._consumer = consumer
        return self._consumer

    # -- protocol ------------------------------------------------------------------------

    def read(self, since: Checkpoint | None = None) -> Generator[Batch, None, None]:
        """Batches of records until none arrived for ``idle`` seconds.

        Without ``since`` reading goes on from the group's committed offsets (or the current
        position, on later calls); with ``since`` each partition it names starts at its offset.
        Each batch is decoded on a worker thread while the next records are consumed, and the
        batches come out in the order they were consumed.
        """
        consumer = self._open()
        self._poller = threading.get_ident()
        self._send_outbox(consumer)
        if since is not None:
            self._seek = parse_offsets(since)
            if self._assigned:
                moved = [TopicPartition(t, p, o) for (t, p), o in self._seek.items() if any(a.topic == t and a.partition == p for a in self._assigned)]
                for partition in moved:
                    consumer.seek(partition)
                    self._seek.pop((partition.topic, partition.partition))
        started = time.monotonic()
        quiet_since = started
        ahead: DecodeAhead[Batch] = DecodeAhead(depth=2)  # decoding overlaps the next consume
        try:
            while True:
                try:
                    messages = consumer.consume(self._batch_size, timeout=self._linger)
                except KafkaException as exc:
                    raise SourceUnavailableError(f"kafka: consume failed: {exc}") from exc
                self._send_outbox(consumer)
                usable = self._usable(messages)
                if usable:
                    yield from ahead.push(self._batch, usable)
                    quiet_since = time.monotonic()  # time spent waiting on the caller is not quiet time
                    continue
                handed = False
                for batch in ahead.drain():  # nothing new: hand over what is decoding now
                    yield batch
                    handed = True
                if handed:
                    quiet_since = time.monotonic()
                    continue
                now = time.monotonic()
                if self._assigned is None:
                    if now - started > self._join_timeout:
                        raise SourceUnavailableError(
                            f"kafka: expected partitions of {list(self._topics)} assigned to group {self._group_id!r} "
                            f"within {self._join_timeout:g} s, got none (last error: {self._last_error or 'none'})"
                        )
                    continue
                if now - max(quiet_since, self._assigned_at) >= self._idle:
                    return
        finally:
            ahead.close()

    def _usable(self, messages: list[Message]) -> list[Message]:
        if not any([message.error() for message in messages]):
            return messages
        usable = []
        for message in messages:
            error = message.error()
            if error is None:
                usable.append(message)
            elif error.fatal():
                raise SourceUnavailableError(f"kafka: {error}")
            elif error.code() != KafkaError._PARTITION_EOF:
                self._last_error = str(error)
                log.warning("kafka: %s", error)
        return usable

    def _batch(self, messages: list[Message]) -> Batch:
        values = [message.value() for message in messages]
        origins = _Origins(messages, self._topics)
        offsets = origins.next_offsets()
        now = self._clock.now() if self._clock is not None else None
        table, letters = decode_table(
            values, origins, self._schema, stream=self._stream, id_field=self._id_field, time_field=self._time_field, now=now
        )
        return Batch(self._stream, checkpoint=Checkpoint({"offsets": offsets}), dead_letters=tuple(letters), table=table)

    def commit(self, checkpoint: Checkpoint) -> None:
        """Commit the offsets of a stored batch to the group.

        The request is sent without waiting for its answer (a synchronous commit can stall
        behind a rebalance); answers are handled while polling, and :meth:`close` waits for
        the outstanding ones. Called from another thread than the one reading, the request is
        sent by the reading thread right after its current ``consume`` (at most ``linger`` later)
        or by :meth:`close`. A commit that fails (say, refused during a rebalance) is logged:
        those records are read again and the store drops them by id.
        """
        offsets = [TopicPartition(t, p, o) for (t, p), o in parse_offsets(checkpoint).items()]
        if not offsets:
            return
        if self._poller is not None and threading.get_ident() != self._poller:
            # confluent-kafka lets one thread at a time into the consumer, and the polling thread
            # is nearly always in consume(): the polling thread sends this after its next one.
            self._outbox.append(offsets)
            return
        self._send(self._open(), offsets)

    def _send(self, consumer: Consumer, offsets: list[TopicPartition]) -> None:
        try:
            consumer.commit(offsets=offsets, asynchronous=True)
        except KafkaException as exc:
            shown = {_key(p.topic, p.partition): p.offset for p in offsets}
            raise SourceUnavailableError(f"kafka: commit of {shown} failed: {exc}") from exc

    def _send_outbox(self, consumer: Consumer) -> None:
        """Send, in order, the commits other threads asked for (on the polling thread)."""
        while self._outbox:
            self._send(consumer, self._outbox.popleft())

    def _on_commit(self, error: KafkaError | None, partitions: list[TopicPartition]) -> None:
        failed = [p for p in partitions if p.error is not None]
        if error is not None or failed:
            reason = error if error is not None else failed[0].error
            log.warning("kafka: a commit failed (%s); those records will be read again", reason)

    def lag(self) -> int | None:
        """Records in the assigned partitions not read yet (None before an assignment)."""
        if self._consumer is None or not self._assigned:
            return None
        total = 0
        for partition in self._consumer.position(self._assigned):
            try:
                _, high = self._consumer.get_watermark_offsets(partition, cached=True)
            except KafkaException:
                return None
            if high >= 0 and partition.offset >= 0:
                total += max(high - partition.offset, 0)
        return total

    def close(self) -> None:
        """Leave the group and close the consumer (uncommitted records are read again later)."""
        if self._consumer is not None:
            self._send_outbox(self._consumer)
            consumer, self._consumer = self._consumer, None
            self._assigned = None
            self._poller = None
            consumer.close()

    def info(self) -> dict[str, Any]:
        """What this source reads, for logs and metrics labels."""
        return {"kind": "kafka", "topics": list(self._topics), "group": self._group_id}


__all__ = ["KafkaSource", "parse_offsets"]
