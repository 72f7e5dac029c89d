"""Redis Streams through a consumer group: XREADGROUP, XACK once stored, XAUTOCLAIM on crashes.

Each entry carries one JSON event in its ``field`` (default ``data``); with ``field=None``
the entry's own fields are the event (all values text). Bad entries become dead letters named
``redis:<stream>@<entry id>``. Entries are acknowledged (XACK) by :meth:`commit`, which the
ingest loop calls only after the batch is durably stored, so a crash leaves them pending:
the same consumer re-reads its pending entries when it starts again, and any consumer takes
over entries that another one left pending for longer than ``claim_idle`` (XAUTOCLAIM).
The store drops re-delivered events by id: exactly once in the store.

Examples
--------
>>> source = RedisStreamsSource(url="redis://127.0.0.1:6379/0", key="clicks", group="lifelong", consumer="c1")
>>> source.key, source.group, source.consumer
('clicks', 'lifelong', 'c1')
>>> RedisStreamsSource(url="redis://127.0.0.1:6379/0", key="clicks", group="g", claim_idle=0)
Traceback (most recent call last):
...
lifelong.errors.ConfigError: claim_idle: expected a number of seconds > 0, got 0
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Generator, Sequence
from operator import itemgetter
from typing import Any, overload

import orjson
import redis

from lifelong.clock import Clock
from lifelong.errors import ConfigError
from lifelong.events.batch import Batch, Checkpoint, DeadLetter
from lifelong.events.normalize import check_stream_name
from lifelong.events.schema import EventSchema
from lifelong.sources.ahead import DecodeAhead
from lifelong.sources.base import Source
from lifelong.sources.errors import SourceUnavailableError
from lifelong.sources.messages import decode_table

log = logging.getLogger("lifelong.sources.redis")
Entry = tuple[bytes, dict[bytes, bytes] | None]
RawEntry = tuple[bytes, list[bytes] | None]  # an entry as XREADGROUP answers it: id, [field, value, ...] (None: deleted)
_ACK_CHUNK = 5000
_first, _second = itemgetter(0), itemgetter(1)


def _unparsed(response: Any, **options: Any) -> Any:
    """XREADGROUP's reply as Redis sent it (redis-py would build a dict per entry, in Python)."""
    return response


def _stream_entries(reply: Any) -> list[RawEntry]:
    """The entries of a one-stream XREADGROUP reply (RESP2: ``[[key, entries]]``; RESP3: ``{key: entries}``)."""
    if not reply:
        return []
    found = next(iter(reply.values())) if isinstance(reply, dict) else reply[0][1]
    return list(found or [])


def _flat(fields: dict[bytes, bytes] | None) -> list[bytes] | None:
    return None if fields is None else [part for pair in fields.items() for part in pair]


class _Origins(Sequence[str]):
    """``redis:<key>@<entry id>`` of each entry, written only when a dead letter asks."""

    def __init__(self, prefix: str, ids: list[str]) -> None:
        self._prefix = prefix
        self._ids = ids

    def __len__(self) -> int:
        return len(self._ids)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return [self._prefix + entry_id for entry_id in self._ids[index]]
        return self._prefix + self._ids[index]


def default_consumer() -> str:
    """A consumer name stable across restarts on one host: ``lifelong-<hostname>``."""
    return f"lifelong-{socket.gethostname()}"


def parse_ids(checkpoint: Checkpoint) -> list[str]:
    """Entry ids of a Redis checkpoint (ConfigError if malformed)."""
    ids = checkpoint.position.get("ids")
    if not isinstance(ids, list) or not all(isinstance(entry, str) and "-" in entry for entry in ids):
        raise ConfigError(f"checkpoint: expected {{'ids': ['<ms>-<seq>', ...]}}, got {checkpoint.position!r}")
    return ids


class RedisStreamsSource(Source):
    """Events from a Redis stream, read by a consumer group.

    Parameters
    ----------
    url
        ``redis://[user:password@]host:port/db`` (``rediss://`` for TLS).
    key
        The stream's key.
    group
        Consumer group; created at ``start_id`` (with the stream) when missing.
    consumer
        This reader's name in the group; keep it stable across restarts so pending
        entries are re-read at once (default :func:`default_consumer`).
    stream
        Stream name put on every batch (the event store's, not Redis's).
    schema
        Checks each event; failures become dead letters.
    field
        Entry field holding the JSON event; None: the entry's fields are the event.
    id_field, time_field
        Names of the event id and ISO-8601 time inside an event.
    batch_size
        Most entries in one batch.
    block
        Seconds XREADGROUP waits for new entries; :meth:`read` returns after a wait that
        brought nothing (caught up).
    claim_idle
        Entries pending on another consumer for this many seconds are taken over.
    start_id
        Where a new group starts: ``0`` (the whole stream) or ``$`` (new entries only).
    clock
        Reference time of the schema's ``max_future`` (default: the system time).
    """

    def __init__(
        self,
        *,
        url: str,
        key: str,
        group: str,
        consumer: str | None = None,
        stream: str = "events",
        schema: EventSchema | None = None,
        field: str | None = "data",
        id_field: str = "event_id",
        time_field: str = "event_time",
        batch_size: int = 2000,
        block: float = 1.0,
        claim_idle: float = 30.0,
        start_id: str = "0",
        clock: Clock | None = None,
    ) -> None:
        for name, value in (("key", key), ("group", group)):
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{name}: expected a non-empty string, got {value!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size: expected an integer >= 1, got {batch_size!r}")
        for name, number in (("block", block), ("claim_idle", claim_idle)):
            if isinstance(number, bool) or not isinstance(number, (int, float)) or number <= 0:
                raise ConfigError(f"{name}: expected a number of seconds > 0, got {number!r}")
        if start_id not in ("0", "$"):
            raise ConfigError(f"start_id: expected '0' or '$', got {start_id!r}")
        self._url = url
        self._key = key
        self._group = group
        self._consumer = consumer or default_consumer()
        self._stream = check_stream_name(stream)
        self._schema = schema
        self._field = field.encode() if field is not None else None
        self._id_field = id_field
        self._time_field = time_field
        self._batch_size = batch_size
        self._block_ms = max(int(block * 1000), 1)
        self._claim_idle_ms = max(int(claim_idle * 1000), 1)
        self._start_id = start_id
        self._clock = clock
        self._client: redis.Redis | None = None
        self._own_cursor: str | None = "0"
        self._claim_cursor = "0-0"
        self._next_claim = 0.0

    @property
    def key(self) -> str:
        """The Redis stream's key."""
        return self._key

    @property
    def group(self) -> str:
        """The consumer group."""
        return self._group

    @property
    def consumer(self) -> str:
        """This reader's name in the group."""
        return self._consumer

    @property
    def stream(self) -> str:
        """Stream name of the batches."""
        return self._stream

    def _redis(self) -> redis.Redis:
        if self._client is None:
            client = redis.Redis.from_url(self._url)
            try:
                client.xgroup_create(self._key, self._group, id=self._start_id, mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    client.close()
                    raise SourceUnavailableError(f"redis: cannot create group {self._group!r} on {self._key!r}: {exc}") from exc
            except redis.RedisError as exc:
                client.close()
                raise SourceUnavailableError(f"redis: cannot reach {self._url}: {exc}") from exc
            client.set_response_callback("XREADGROUP", _unparsed)
            self._client = client
        return self._client

    # -- protocol ------------------------------------------------------------------------

    def read(self, since: Checkpoint | None = None) -> Generator[Batch, None, None]:
        """Batches of entries until a wait of ``block`` seconds brings none.

        First this consumer's own pending entries (delivered before a crash, never
        acknowledged), then entries other consumers left pending for ``claim_idle``, then
        new ones. ``since`` names entries known to be stored: they are acknowledged first.
        Each batch is decoded on a worker thread while the next entries are read; the batches
        come out in the order read, and all of them before a wait for new entries.
        """
        client = self._redis()
        if since is not None:
            self.commit(since)
        ahead: DecodeAhead[Batch] = DecodeAhead(depth=2)  # decoding overlaps the next XREADGROUP
        try:
            while True:
                entries = self._pending(client) or self._claim(client) or self._new(client, wait=not ahead)
                if entries:
                    yield from ahead.push(self._batch, entries)
                elif ahead:  # nothing new right now: hand over what is decoding before waiting
                    yield from ahead.drain()
                else:
                    return
        except redis.RedisError as exc:
            raise SourceUnavailableError(f"redis: reading {self._key!r} failed: {exc}") from exc
        finally:
            ahead.close()

    def _pending(self, client: redis.Redis) -> list[RawEntry]:
        """This consumer's unacknowledged entries (once, after a restart)."""
        if self._own_cursor is None:
            return []
        entries = _stream_entries(client.xreadgroup(self._group, self._consumer, {self._key: self._own_cursor}, count=self._batch_size))
        if not entries:
            self._own_cursor = None
            return []
        last = entries[-1][0]
        self._own_cursor = last.decode() if isinstance(last, bytes) else str(last)
        return entries

    def _claim(self, client: redis.Redis) -> list[RawEntry]:
        """Entries idle on other (crashed) consumers for ``claim_idle``, taken over."""
        now = time.monotonic()
        if now < self._next_claim:
            return []
        reply = client.xautoclaim(
            self._key, self._group, self._consumer, self._claim_idle_ms, start_id=self._claim_cursor, count=self._batch_size
        )
        cursor, claimed = reply[0], reply[1]
        deleted = reply[2] if len(reply) > 2 else []
        self._claim_cursor = cursor.decode() if isinstance(cursor, bytes) else str(cursor)
        if self._claim_cursor == "0-0":
            self._next_claim = now + self._claim_idle_ms / 2000
        entries: list[RawEntry] = [(entry_id, _flat(fields)) for entry_id, fields in claimed] + [(entry_id, None) for entry_id in deleted]
        if entries:
            log.info("redis: took over %d entries pending on other consumers", len(entries))
        return entries

    def _new(self, client: redis.Redis, *, wait: bool) -> list[RawEntry]:
        block = self._block_ms if wait else None
        return _stream_entries(client.xreadgroup(self._group, self._consumer, {self._key: ">"}, count=self._batch_size, block=block))

    def _batch(self, entries: Sequence[RawEntry]) -> Batch:
        raw_ids = list(map(_first, entries))
        try:
            ids = list(map(bytes.decode, raw_ids))
        except TypeError:  # a client that decodes replies itself
            ids = [raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id) for raw_id in raw_ids]
        values = self._only_field(list(map(_second, entries)))
        if values is not None:
            value_ids = ids
            letters: list[DeadLetter] = []
        else:
            pairs = [(raw_id, None if fields is None else dict(zip(fields[::2], fields[1::2], strict=True))) for raw_id, fields in entries]
            values, value_ids, letters = self._values(pairs, ids)
        origins = _Origins(f"redis:{self._key}@", value_ids)
        now = self._clock.now() if self._clock is not None else None
        table, more = decode_table(
            values, origins, self._schema, stream=self._stream, id_field=self._id_field, time_field=self._time_field, now=now
        )
        return Batch(self._stream, checkpoint=Checkpoint({"ids": ids}), dead_letters=tuple(letters + more), table=table)

    def _only_field(self, fields: list[list[bytes] | None]) -> list[bytes | str | None] | None:
        """The value of ``field`` of each entry when every entry holds that one field and nothing else."""
        if self._field is None:
            return None
        try:
            if set(map(len, fields)) != {2} or set(map(_first, fields)) != {self._field}:  # type: ignore[arg-type]
                return None
        except TypeError:  # a deleted entry (None)
            return None
        return list(map(_second, fields))  # type: ignore[arg-type]

    def _values(self, entries: Sequence[Entry], ids: list[str]) -> tuple[list[bytes | str | None], list[str], list[DeadLetter]]:
        """The JSON event of each entry, its id, and a dead letter per entry that has none."""
        values: list[bytes | str | None] = []
        value_ids: list[str] = []
        letters: list[DeadLetter] = []
        for entry_id, (_, fields) in zip(ids, entries, strict=True):
            origin = f"redis:{self._key}@{entry_id}"
            if fields is None:
                reason = "entry: expected a stream entry, got one deleted (trimmed) before it was stored"
                letters.append(DeadLetter(self._stream, reason, "", "entry", None, origin))
                continue
            if self._field is None:
                values.append(orjson.dumps({k.decode(errors="replace"): v.decode(errors="replace") for k, v in fields.items()}))
            elif self._field in fields:
                values.append(fields[self._field])
            else:
                shown = orjson.dumps({k.decode(errors="replace"): v.decode(errors="replace") for k, v in fields.items()}).decode()
                reason = f"{self._field.decode()}: required field is missing"
                letters.append(DeadLetter(self._stream, reason, shown, self._field.decode(), None, origin))
                continue
            value_ids.append(entry_id)
        return values, value_ids, letters

    def commit(self, checkpoint: Checkpoint) -> None:
        """Acknowledge the entries of a stored batch (XACK)."""
        ids = parse_ids(checkpoint)
        client = self._redis()
        try:
            for start in range(0, len(ids), _ACK_CHUNK):
                client.xack(self._key, self._group, *ids[start : start + _ACK_CHUNK])
        except redis.RedisError as exc:
            raise SourceUnavailableError(f"redis: XACK on {self._key!r} failed: {exc}") from exc

    def lag(self) -> int | None:
        """Entries not yet delivered to the group plus those delivered and not acknowledged."""
        try:
            groups = self._redis().xinfo_groups(self._key)
        except redis.RedisError:
            return None
        for info in groups:
            name = info.get("name")
            if (name.decode() if isinstance(name, bytes) else name) == self._group:
                behind = info.get("lag")
                return int(info.get("pending", 0)) + (int(behind) if behind is not None else 0)
        return None

    def close(self) -> None:
        """Close the connection (unacknowledged entries stay pending for a later read)."""
        if self._client is not None:
            client, self._client = self._client, None
            client.close()

    def info(self) -> dict[str, Any]:
        """What this source reads, for logs."""
        return {"kind": "redis_streams", "key": self._key, "group": self._group, "consumer": self._consumer}


__all__ = ["RedisStreamsSource", "default_consumer", "parse_ids"]
