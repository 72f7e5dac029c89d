"""An Amazon Kinesis data stream through boto3: every shard read from its checkpoint (extra ``kinesis``).

Each record's data is one JSON event (see :mod:`lifelong.sources.messages`); bad records
become dead letters named ``kinesis:<stream>/<shard>@<sequence number>``. Kinesis keeps no
consumer position, so the checkpoint holds it: the last sequence number read from each
shard and the shards read to their end. The ingest loop saves it (atomically, in the home
folder) only after the batch is durably stored, and reading resumes ``AFTER_SEQUENCE_NUMBER``
of each shard (``TRIM_HORIZON`` for a shard not read yet): a crash re-reads at most the
batches in flight, which the store drops by event id.

Resharding: a split or a merge closes shards and opens children that name their parents.
A closed shard is read to its end (GetRecords returns no next iterator, or the shard's
``EndingSequenceNumber`` was read) and recorded as done; only then are its children read,
from ``TRIM_HORIZON``, so the records of one partition key keep their order. A child whose parents have expired past the retention period is read
at once; done shards that are no longer listed are dropped from the checkpoint.

Requests are retried by botocore (``standard`` mode, ``max_attempts`` tries in all, with
backoff on throttling such as ``ProvisionedThroughputExceededException``); ``poll`` spaces
the GetRecords calls on one shard (Kinesis allows five a second per shard).

Examples
--------
>>> source = KinesisSource(stream_name="clicks", region="eu-west-1", batch_size=500)
>>> source.stream_name, source.committed
('clicks', None)
>>> KinesisSource(stream_name="clicks", region="eu-west-1", batch_size=20000)
Traceback (most recent call last):
...
lifelong.errors.ConfigError: batch_size: expected an integer from 1 to 10000 (the GetRecords limit), got 20000
"""

from __future__ import annotations

import logging
import time
from collections.abc import Generator, Mapping, Sequence
from typing import Any

from lifelong.clock import Clock
from lifelong.errors import ConfigError
from lifelong.events.batch import Batch, Checkpoint
from lifelong.events.normalize import check_stream_name
from lifelong.events.schema import EventSchema
from lifelong.sources.base import Source
from lifelong.sources.errors import SourceUnavailableError
from lifelong.sources.messages import decode_table

log = logging.getLogger("lifelong.sources.kinesis")
_MAX_RECORDS = 10000


def _aws() -> tuple[Any, Any, Any]:
    """boto3, botocore's ``Config`` and ``botocore.exceptions``, or a ConfigError naming the extra."""
    try:
        import boto3
        import botocore.exceptions
        from botocore.config import Config
    except ImportError as exc:
        raise ConfigError(
            f"source.kind: 'kinesis' needs the 'kinesis' extra (pip install 'lifelong[kinesis]'), got {exc}"
        ) from exc
    return boto3, Config, botocore.exceptions


def parse_position(checkpoint: Checkpoint) -> tuple[dict[str, str], set[str]]:
    """``({shard: last sequence number}, {shards read to their end})`` of a Kinesis checkpoint.

    Examples
    --------
    >>> parse_position(Checkpoint({"shards": {"shardId-000000000000": "49"}, "done": []}))
    ({'shardId-000000000000': '49'}, set())
    >>> parse_position(Checkpoint({"offsets": {}}))
    Traceback (most recent call last):
    ...
    lifelong.errors.ConfigError: checkpoint: expected {'shards': {'<shard id>': '<sequence number>'}, 'done': ['<shard id>', ...]}, got {'offsets': {}}
    """
    shards, done = checkpoint.position.get("shards"), checkpoint.position.get("done", [])
    expected = "{'shards': {'<shard id>': '<sequence number>'}, 'done': ['<shard id>', ...]}"
    if not isinstance(shards, dict) or not isinstance(done, list):
        raise ConfigError(f"checkpoint: expected {expected}, got {checkpoint.position!r}")
    for shard, sequence in shards.items():
        if not isinstance(shard, str) or not shard or not isinstance(sequence, str) or not sequence.isdigit():
            raise ConfigError(f"checkpoint.shards: expected '<shard id>': '<decimal sequence number>', got {shard!r}: {sequence!r}")
    if not all(isinstance(shard, str) and shard for shard in done):
        raise ConfigError(f"checkpoint.done: expected a list of shard ids, got {done!r}")
    return dict(shards), set(done)


class KinesisSource(Source):
    """Events from every shard of a Kinesis data stream.

    Parameters
    ----------
    stream_name
        The Kinesis stream.
    region
        AWS region (default: the session's, from the usual AWS configuration).
    endpoint_url
        Another endpoint than AWS's (a VPC endpoint, or a Kinesis-compatible server).
    profile
        AWS profile of the credentials (default: the usual chain: environment, files, role).
    session
        A ready ``boto3.session.Session`` (then ``profile`` is not used).
    stream
        Stream name put on every batch (the event store's, not Kinesis's).
    schema
        Checks each event; failures become dead letters.
    id_field, time_field
        Names of the event id and ISO-8601 time inside an event.
    batch_size
        Most records in one batch (one GetRecords call, at most 10000).
    poll
        Least seconds between two GetRecords calls on one shard.
    max_attempts
        Tries of each request, retries included (botocore ``standard`` retry mode).
    clock
        Reference time of the schema's ``max_future`` (default: the system time).
    """

    def __init__(
        self,
        *,
        stream_name: str,
        region: str | None = None,
        endpoint_url: str | None = None,
        profile: str | None = None,
        session: Any = None,
        stream: str = "events",
        schema: EventSchema | None = None,
        id_field: str = "event_id",
        time_field: str = "event_time",
        batch_size: int = 1000,
        poll: float = 0.2,
        max_attempts: int = 5,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(stream_name, str) or not stream_name:
            raise ConfigError(f"stream_name: expected a non-empty string, got {stream_name!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= _MAX_RECORDS:
            raise ConfigError(f"batch_size: expected an integer from 1 to {_MAX_RECORDS} (the GetRecords limit), got {batch_size!r}")
        if isinstance(poll, bool) or not isinstance(poll, (int, float)) or poll < 0:
            raise ConfigError(f"poll: expected a number of seconds >= 0, got {poll!r}")
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise ConfigError(f"max_attempts: expected an integer >= 1, got {max_attempts!r}")
        self._boto3, self._config, self._errors = _aws()
        self._stream_name = stream_name
        self._region = region
        self._endpoint_url = endpoint_url
        self._profile = profile
        self._session = session
        self._stream = check_stream_name(stream)
        self._schema = schema
        self._id_field = id_field
        self._time_field = time_field
        self._batch_size = batch_size
        self._poll = float(poll)
        self._max_attempts = max_attempts
        self._clock = clock
        self._client: Any = None
        self._sequences: dict[str, str] = {}
        self._done: set[str] = set()
        self._committed: Checkpoint | None = None

    @property
    def stream_name(self) -> str:
        """The Kinesis stream."""
        return self._stream_name

    @property
    def stream(self) -> str:
        """Stream name of the batches."""
        return self._stream

    @property
    def committed(self) -> Checkpoint | None:
        """The last checkpoint passed to :meth:`commit`."""
        return self._committed

    def _kinesis(self) -> Any:
        if self._client is None:
            session = self._session or self._boto3.session.Session(profile_name=self._profile)
            config = self._config(retries={"max_attempts": self._max_attempts, "mode": "standard"}, connect_timeout=10, read_timeout=30)
            try:
                self._client = session.client("kinesis", region_name=self._region, endpoint_url=self._endpoint_url, config=config)
            except self._errors.BotoCoreError as exc:
                raise ConfigError(f"region: expected an AWS region for Kinesis, got {self._region!r}: {exc}") from exc
        return self._client

    def _failure(self, operation: str, exc: Exception) -> Exception:
        """A failed request (botocore has retried it already) as a lifelong error."""
        if isinstance(exc, self._errors.ClientError) and exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return ConfigError(f"stream_name: expected an existing Kinesis stream, got {self._stream_name!r}: {exc}")
        return SourceUnavailableError(f"kinesis: {operation} on {self._stream_name!r} failed: {exc}")

    def _call(self, operation: str, **arguments: Any) -> dict[str, Any]:
        """One Kinesis request."""
        try:
            reply: dict[str, Any] = getattr(self._kinesis(), operation)(**arguments)
        except (self._errors.ClientError, self._errors.BotoCoreError) as exc:
            raise self._failure(operation, exc) from exc
        return reply

    def _shards(self) -> list[dict[str, Any]]:
        """Every shard of the stream within the retention period, open and closed (ListShards, paginated)."""
        reply = self._call("list_shards", StreamName=self._stream_name)
        shards: list[dict[str, Any]] = list(reply.get("Shards", []))
        while reply.get("NextToken"):
            reply = self._call("list_shards", NextToken=reply["NextToken"])
            shards += reply.get("Shards", [])
        listed = {shard["ShardId"] for shard in shards}
        self._done &= listed  # expired shards leave the checkpoint
        self._sequences = {shard: sequence for shard, sequence in self._sequences.items() if shard in listed}
        return shards

    def _ready(self, shards: Sequence[Mapping[str, Any]]) -> list[str]:
        """Shards to read now: not done, and every parent still listed is done."""
        listed = {shard["ShardId"] for shard in shards}
        ready = []
        for shard in shards:
            parents = [shard.get(key) for key in ("ParentShardId", "AdjacentParentShardId")]
            if shard["ShardId"] not in self._done and all(p is None or p not in listed or p in self._done for p in parents):
                ready.append(shard["ShardId"])
        return ready

    def _iterator(self, shard: str) -> str:
        """After the shard's last record read, or from its oldest record (``TRIM_HORIZON``)."""
        arguments: dict[str, Any] = {"StreamName": self._stream_name, "ShardId": shard}
        if shard in self._sequences:
            arguments |= {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": self._sequences[shard]}
        else:
            arguments["ShardIteratorType"] = "TRIM_HORIZON"
        return str(self._call("get_shard_iterator", **arguments)["ShardIterator"])

    def _get_records(self, iterators: dict[str, str], shard: str) -> dict[str, Any]:
        """One GetRecords call on ``shard``; an expired iterator is renewed from the position."""
        renewed = False
        while True:
            if shard not in iterators:
                iterators[shard] = self._iterator(shard)
            try:
                reply: dict[str, Any] = self._kinesis().get_records(ShardIterator=iterators[shard], Limit=self._batch_size)
                return reply
            except self._errors.ClientError as exc:
                if renewed or exc.response.get("Error", {}).get("Code") != "ExpiredIteratorException":
                    raise self._failure("get_records", exc) from exc
                log.info("kinesis: the iterator of %s expired; a new one resumes after the last record read", shard)
                del iterators[shard]
                renewed = True
            except self._errors.BotoCoreError as exc:
                raise self._failure("get_records", exc) from exc

    # -- protocol ------------------------------------------------------------------------

    def read(self, since: Checkpoint | None = None) -> Generator[Batch, None, None]:
        """Batches of records from ``since`` (None: after the last batch yielded), until caught up.

        Shards are read in turn, one GetRecords call each; :meth:`read` returns after a pass
        over the shards that brought no record while none was behind the stream's tip.
        """
        if since is not None:
            self._sequences, self._done = parse_position(since)
        shards = self._shards()
        iterators: dict[str, str] = {}
        called: dict[str, float] = {}
        while True:
            ready = self._ready(shards)
            if not ready:
                return
            endings = {s["ShardId"]: s.get("SequenceNumberRange", {}).get("EndingSequenceNumber") for s in shards}
            brought = behind = closed = False
            for shard in ready:
                wait = called.get(shard, 0.0) + self._poll - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                reply = self._get_records(iterators, shard)
                called[shard] = time.monotonic()
                records = reply.get("Records", [])
                if records:
                    self._sequences[shard] = str(records[-1]["SequenceNumber"])
                following, ending = reply.get("NextShardIterator"), endings.get(shard)
                if following is None or (ending is not None and shard in self._sequences and int(self._sequences[shard]) >= int(ending)):
                    self._done.add(shard)  # closed and read to its end: its children may start
                    iterators.pop(shard, None)
                    closed = True
                else:
                    iterators[shard] = following
                behind = behind or int(reply.get("MillisBehindLatest") or 0) > 0
                if records:
                    brought = True
                    yield self._batch(shard, records)
            if closed:
                log.info("kinesis: a shard of %r was read to its end; listing the shards for its children", self._stream_name)
                shards = self._shards()
            elif not brought and not behind:
                return

    def _batch(self, shard: str, records: Sequence[Mapping[str, Any]]) -> Batch:
        values: list[bytes | str | None] = [record.get("Data") or None for record in records]
        prefix = f"kinesis:{self._stream_name}/{shard}@"
        origins = [prefix + str(record["SequenceNumber"]) for record in records]
        now = self._clock.now() if self._clock is not None else None
        table, letters = decode_table(
            values, origins, self._schema, stream=self._stream, id_field=self._id_field, time_field=self._time_field, now=now
        )
        return Batch(self._stream, checkpoint=self._checkpoint(), dead_letters=tuple(letters), table=table)

    def _checkpoint(self) -> Checkpoint:
        return Checkpoint({"shards": dict(sorted(self._sequences.items())), "done": sorted(self._done)})

    def commit(self, checkpoint: Checkpoint) -> None:
        """Remember ``checkpoint`` as stored (the ingest loop saves it in the home folder)."""
        parse_position(checkpoint)
        self._committed = checkpoint

    def close(self) -> None:
        """Close the HTTP connections of the client."""
        if self._client is not None:
            client, self._client = self._client, None
            client.close()

    def info(self) -> dict[str, Any]:
        """What this source reads, for logs."""
        return {"kind": "kinesis", "stream_name": self._stream_name, "region": self._region, "endpoint_url": self._endpoint_url}


__all__ = ["KinesisSource", "parse_position"]
