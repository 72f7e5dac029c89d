"""The Kinesis source against a real Kinesis-protocol endpoint: moto's server on a free loopback port."""

from __future__ import annotations

import importlib.util
import logging
import subprocess
import sys
from collections.abc import Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from broker_support import events, free_port, ids, require, unique

from lifelong.config import parse_config
from lifelong.errors import ConfigError
from lifelong.events import Checkpoint, EventSchema, FieldSpec, ParquetEventStore
from lifelong.ingest import IngestTarget, ingest_once, load_checkpoint
from lifelong.sources import SourceUnavailableError
from lifelong.sources.kinesis import KinesisSource, parse_position

SCHEMA = EventSchema(
    {"x1": FieldSpec("float"), "y": FieldSpec("int")}, max_future=timedelta(hours=1), max_payload_bytes=512
)
REGION = "us-east-1"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """moto's Kinesis server (``moto[server]``, dev extra) on a free port, for this module."""
    require(importlib.util.find_spec("moto") is not None, "moto[server] is not installed (the 'dev' extra)")
    require(importlib.util.find_spec("boto3") is not None, "boto3 is not installed (the 'kinesis' extra)")
    from moto.server import ThreadedMotoServer

    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    werkzeug.setLevel(logging.WARNING)  # one access-log line per request otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        werkzeug.setLevel(level)


@pytest.fixture
def session() -> Any:
    """A boto3 session with the test credentials moto accepts."""
    import boto3

    return boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)


def _client(session: Any, endpoint: str) -> Any:
    return session.client("kinesis", endpoint_url=endpoint)


def _stream(session: Any, endpoint: str, shards: int) -> str:
    name = unique("clicks")
    client = _client(session, endpoint)
    client.create_stream(StreamName=name, ShardCount=shards)
    client.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    return name


def _put(session: Any, endpoint: str, name: str, values: Iterable[bytes], *, chunk: int = 500) -> int:
    """PutRecords every value, partition key = its position (spread over the shards)."""
    client = _client(session, endpoint)
    pending = list(values)
    for start in range(0, len(pending), chunk):
        records = [{"Data": value, "PartitionKey": str(start + i)} for i, value in enumerate(pending[start : start + chunk])]
        reply = client.put_records(StreamName=name, Records=records)
        if reply["FailedRecordCount"]:
            raise RuntimeError(f"{reply['FailedRecordCount']} Kinesis records were not written")
    return len(pending)


def _source(session: Any, endpoint: str, name: str, **overrides: object) -> KinesisSource:
    settings: dict[str, object] = {
        "stream_name": name, "session": session, "endpoint_url": endpoint, "region": REGION, "schema": SCHEMA,
        "id_field": "id", "time_field": "ts", "batch_size": 100, "poll": 0.0, "max_attempts": 2, **overrides,
    }
    return KinesisSource(**settings)  # type: ignore[arg-type]


BAD = [
    b'{"id": "b1", "ts": ',
    b'["b2"]',
    orjson.dumps({"id": "b3", "ts": "2024-01-01T00:00:00Z", "x1": "abc", "y": 1}),
    orjson.dumps({"ts": "2024-01-01T00:00:00Z", "x1": 1.0, "y": 0}),
    orjson.dumps({"id": "b5", "ts": "2024-01-01T00:00:00Z", "x1": 1.0, "y": 0, "pad": "x" * 600}),
    orjson.dumps({"id": "b6", "ts": "2999-01-01T00:00:00Z", "x1": 1.0, "y": 0}),
]


def test_records_of_every_shard_are_stored_once_and_bad_ones_dead_lettered(session: Any, endpoint: str, tmp_path: Path) -> None:
    name = _stream(session, endpoint, shards=3)
    good = list(events(0, 600))
    _put(session, endpoint, name, good[:300] + BAD + good[300:])
    with ParquetEventStore(tmp_path / "events") as store, _source(session, endpoint, name) as source:
        batches = list(source.read())
        for batch in batches:
            store.append(batch.stream, batch.frame)
            store.add_dead_letters(list(batch.dead_letters))
            assert batch.checkpoint is not None
            source.commit(batch.checkpoint)
        stored = store.window("events", columns=["event_id"])["event_id"].tolist()
        letters = store.dead_letters("events")
    assert sorted(stored) == sorted(f"e{i}" for i in range(600))
    assert len(ids(batches)) == 600  # nothing delivered twice within one read
    reasons = " | ".join(letters["reason"])
    for expected in ("invalid JSON", "got list", "x1: expected a number", "id: required field is missing",
                     "expected at most 512 bytes", "in the future"):
        assert expected in reasons, reasons
    assert len(letters) == len(BAD) and all(s.startswith(f"kinesis:{name}/shardId-") for s in letters["source"])
    shards, done = parse_position(source.committed or Checkpoint())
    assert len(shards) == 3 and done == set()


def test_a_restart_resumes_from_the_committed_checkpoint_without_loss_or_duplicates(
    session: Any, endpoint: str, tmp_path: Path
) -> None:
    name = _stream(session, endpoint, shards=2)
    _put(session, endpoint, name, events(0, 500))
    read_before_crash: list[str] = []
    with ParquetEventStore(tmp_path / "events") as store:
        with _source(session, endpoint, name) as source:
            reader = source.read()
            first = next(reader)
            store.append(first.stream, first.frame)
            assert first.checkpoint is not None
            source.commit(first.checkpoint)
            committed = first.checkpoint
            stored_not_committed = next(reader)  # crash after the store, before the commit
            store.append(stored_not_committed.stream, stored_not_committed.frame)
            lost = next(reader)  # crash before the store
            reader.close()
            read_before_crash = ids([first, stored_not_committed, lost])
        _put(session, endpoint, name, events(500, 200))
        duplicates = 0
        with _source(session, endpoint, name) as source:
            again = list(source.read(since=committed))
            for batch in again:
                duplicates += store.append(batch.stream, batch.frame).duplicates
                assert batch.checkpoint is not None
                source.commit(batch.checkpoint)
        stored = store.window("events", columns=["event_id"])["event_id"].tolist()
    assert not set(ids([first])) & set(ids(again))  # the committed batch is not read again
    assert set(ids([stored_not_committed, lost])) <= set(ids(again))
    assert len(stored) == len(set(stored)) == 700
    assert set(stored) == {f"e{i}" for i in range(700)}
    assert len(set(read_before_crash)) == 300 and duplicates == stored_not_committed.rows
    with _source(session, endpoint, name) as source:  # from the last checkpoint: nothing is left
        assert list(source.read(since=again[-1].checkpoint)) == []


def test_a_split_shard_is_read_to_its_end_and_recorded_as_done(session: Any, endpoint: str, tmp_path: Path) -> None:
    """A resharding: every record once, the closed parent done in the checkpoint (moto keeps
    routing records to the parent, so the children stay empty there)."""
    name = _stream(session, endpoint, shards=1)
    _put(session, endpoint, name, events(0, 150))
    client = _client(session, endpoint)
    parent = client.list_shards(StreamName=name)["Shards"][0]
    middle = int(parent["HashKeyRange"]["EndingHashKey"]) // 2
    client.split_shard(StreamName=name, ShardToSplit=parent["ShardId"], NewStartingHashKey=str(middle))
    _put(session, endpoint, name, events(150, 150))
    with ParquetEventStore(tmp_path / "events") as store, _source(session, endpoint, name) as source:
        batches = list(source.read())
        for batch in batches:
            store.append(batch.stream, batch.frame)
        stored = store.window("events", columns=["event_id"])["event_id"].tolist()
    assert sorted(stored) == sorted(f"e{i}" for i in range(300)) and len(ids(batches)) == 300
    last = batches[-1].checkpoint
    assert last is not None
    _, done = parse_position(last)
    assert parent["ShardId"] in done
    children = [shard["ShardId"] for shard in client.list_shards(StreamName=name)["Shards"] if shard.get("ParentShardId")]
    assert len(children) == 2 and not set(children) & done
    with _source(session, endpoint, name) as source:
        assert list(source.read(since=last)) == []


def test_ingest_of_a_kinesis_spec_saves_the_checkpoint_and_resumes_from_it(
    session: Any, endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``source: {kind: kinesis}`` through the ingest loop; credentials from the usual AWS environment."""
    for variable, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                            "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}.items():
        monkeypatch.setenv(variable, value)
    name = _stream(session, endpoint, shards=2)
    _put(session, endpoint, name, events(0, 250))
    config = parse_config({
        "name": "churn",
        "home": str(tmp_path / "home"),
        "source": {"kind": "kinesis", "stream_name": name, "region": REGION, "endpoint_url": endpoint,
                   "id_field": "id", "time_field": "ts", "batch_size": 100, "poll": "0s"},
        "labels": {"kind": "column", "column": "y"},
        "features": {"kind": "tabular", "numeric": ["x1"]},
        "model": {"kind": "lightgbm", "n_estimators": 10},
        "schema": {"fields": {"x1": {"type": "float"}, "y": {"type": "int"}}},
    })
    target = IngestTarget.open(config, project_dir=tmp_path)
    try:
        first = ingest_once(target)
        saved = load_checkpoint(target)
        _put(session, endpoint, name, [*events(250, 100), b"{oops"])
        second = ingest_once(target)
        stored = target.store.window("events", columns=["event_id"])["event_id"].tolist()
    finally:
        target.close()
    assert first["written"] == 250 and first["duplicates"] == 0 and saved is not None
    assert len(parse_position(saved)[0]) == 2
    assert second["written"] == 100 and second["duplicates"] == 0 and second["dead_letters"] == 1
    assert sorted(stored) == sorted(f"e{i}" for i in range(350))


def test_a_missing_stream_and_an_unreachable_endpoint_are_named(session: Any, endpoint: str) -> None:
    with _source(session, endpoint, unique("absent")) as source, pytest.raises(ConfigError, match="stream_name: expected an existing Kinesis stream"):
        next(source.read())
    closed = f"http://127.0.0.1:{free_port()}"
    with _source(session, closed, "clicks", max_attempts=1) as source, pytest.raises(SourceUnavailableError, match="kinesis: list_shards on 'clicks' failed"):
        next(source.read())


def test_bad_settings_and_checkpoints_are_refused() -> None:
    require(importlib.util.find_spec("boto3") is not None, "boto3 is not installed (the 'kinesis' extra)")
    with pytest.raises(ConfigError, match="poll: expected a number of seconds >= 0, got -1"):
        KinesisSource(stream_name="s", region=REGION, poll=-1)
    with pytest.raises(ConfigError, match="max_attempts: expected an integer >= 1, got 0"):
        KinesisSource(stream_name="s", region=REGION, max_attempts=0)
    with pytest.raises(ConfigError, match="stream_name: expected a non-empty string"):
        KinesisSource(stream_name="", region=REGION)
    with pytest.raises(ConfigError, match="checkpoint.shards: expected '<shard id>': '<decimal sequence number>'"):
        KinesisSource(stream_name="s", region=REGION).commit(Checkpoint({"shards": {"shardId-0": 12}, "done": []}))


def test_without_boto3_the_core_imports_and_the_kind_names_its_extra() -> None:
    """The ``kinesis`` extra absent (its modules hidden in a child interpreter)."""
    code = (
        "import sys\n"
        "for name in ('boto3', 'botocore'):\n"
        "    sys.modules[name] = None\n"
        "import lifelong, lifelong.sources\n"
        "from lifelong.errors import ConfigError\n"
        "try:\n"
        "    lifelong.sources.KinesisSource(stream_name='clicks')\n"
        "except ConfigError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "source.kind: 'kinesis' needs the 'kinesis' extra (pip install 'lifelong[kinesis]')" in done.stdout


def test_a_kinesis_spec_is_bounded_by_the_getrecords_limit() -> None:
    base = {"name": "churn", "labels": {"kind": "column", "column": "y"},
            "features": {"kind": "tabular", "numeric": ["x1"]}, "model": {"kind": "lightgbm"}}
    spec = parse_config({**base, "source": {"kind": "kinesis", "stream_name": "clicks", "poll": "0.5s"}})
    assert spec.source.kind == "kinesis" and spec.source.poll == timedelta(milliseconds=500)  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="batch_size"):
        parse_config({**base, "source": {"kind": "kinesis", "stream_name": "clicks", "batch_size": 10001}})
