"""The Spark source on a real local Spark (``local[2]``), one session for the module: the JVM starts once."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from broker_support import ids, require

from lifelong.config import parse_config
from lifelong.errors import ConfigError
from lifelong.events import EventSchema, FieldSpec, ParquetEventStore
from lifelong.ingest import IngestTarget, ingest_once, load_checkpoint

BASE = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    """A local Spark session on two cores, UTC, for every test of this module."""
    require(importlib.util.find_spec("pyspark") is not None, "pyspark is not installed (the 'spark' extra)")
    require(shutil.which("java") is not None, "no Java runtime on PATH: Spark needs one (Java 17)")
    from pyspark.sql import SparkSession

    # A JVM for a few small queries: the quick-start compiler, and no code generation to compile.
    launcher = os.environ.get("JDK_JAVA_OPTIONS")
    os.environ["JDK_JAVA_OPTIONS"] = f"{launcher or ''} -XX:TieredStopAtLevel=1 -XX:+UseSerialGC".strip()
    try:
        session = (
            SparkSession.builder.master("local[2]")
            .appName("lifelong-tests")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.sql.codegen.wholeStage", "false")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.host", "127.0.0.1")
            .getOrCreate()
        )
    finally:
        if launcher is None:
            del os.environ["JDK_JAVA_OPTIONS"]
        else:
            os.environ["JDK_JAVA_OPTIONS"] = launcher
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()


def _write(folder: Path, name: str, start: int, count: int, *, per_second: int = 3, naive: bool = False) -> None:
    """Rows ``start``.. as one Parquet file: ``per_second`` rows share each watermark (``ts``).

    ``naive``: ``ts`` without a zone (a Parquet local timestamp, which Spark reads as TIMESTAMP_NTZ).
    """
    index = np.arange(start, start + count)
    times = pd.to_datetime([BASE + timedelta(seconds=int(i) // per_second) for i in index], utc=True)
    frame = pd.DataFrame({
        "id": index,
        "ts": times.tz_localize(None) if naive else times,
        "x1": (index % 97) / 10.0,
        "y": index % 2,
    })
    folder.mkdir(parents=True, exist_ok=True)
    frame.sample(frac=1.0, random_state=np.random.default_rng(int(start))).to_parquet(folder / name, row_group_size=100)


def test_a_parquet_folder_is_pulled_in_watermark_order_and_resumed_after_the_checkpoint(spark: Any, tmp_path: Path) -> None:
    from lifelong.sources.spark import SparkSource

    folder = tmp_path / "clicks"
    _write(folder, "part-0.parquet", 0, 400)
    _write(folder, "part-1.parquet", 400, 200)
    source = SparkSource(path=str(folder), watermark="ts", id_column="id", columns=["x1"], batch_size=64, spark=spark)
    batches = list(source.read())
    assert [batch.rows for batch in batches] == [64] * 9 + [24]
    assert ids(batches) == [str(i) for i in range(600)]  # (ts, id) order, equal watermarks split across batches
    assert set(batches[0].frame.columns) == {"event_id", "event_time", "id", "ts", "x1"}
    assert batches[0].frame["event_time"].iloc[-1] == pd.Timestamp(BASE + timedelta(seconds=63 // 3))
    middle = batches[4].checkpoint
    assert middle is not None and middle.position == {"watermark": (BASE + timedelta(seconds=319 // 3)).isoformat(), "id": 319, "kind": "timestamp"}
    assert ids(list(source.read(since=middle))) == [str(i) for i in range(320, 600)]
    _write(folder, "part-2.parquet", 600, 50)
    newer = list(source.read(since=batches[-1].checkpoint))
    assert ids(newer) == [str(i) for i in range(600, 650)]
    assert list(source.read()) == []  # read goes on from the last batch yielded
    source.close()


def test_a_spark_sql_query_with_bad_rows_gives_dead_letters_and_utc_times(spark: Any, tmp_path: Path) -> None:
    """A query over TIMESTAMP_NTZ times, pulled with the session in another zone: the times do not move."""
    from lifelong.sources.spark import SparkSource

    folder = tmp_path / "raw"
    _write(folder, "part-0.parquet", 0, 120, naive=True)
    raw = spark.read.parquet(str(folder))
    assert raw.schema["ts"].dataType.typeName() == "timestamp_ntz"
    raw.createOrReplaceTempView("raw_clicks")
    query = "SELECT id, ts, CASE WHEN id % 40 = 7 THEN -1.0 ELSE x1 END AS x1, y FROM raw_clicks WHERE id < 100"
    schema = EventSchema({"x1": FieldSpec("float", min=0.0), "y": FieldSpec("int")})
    zone = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", "Asia/Kolkata")  # times must not move with the session's zone
    try:
        source = SparkSource(query=query, watermark="ts", id_column="id", schema=schema, batch_size=30, spark=spark)
        with ParquetEventStore(tmp_path / "events") as store:
            reader = source.read()
            first = next(reader)  # then a restart from its checkpoint
            reader.close()
            checkpoint = first.checkpoint
            for batch in [first, *source.read(since=checkpoint)]:
                store.append(batch.stream, batch.frame)
                store.add_dead_letters(list(batch.dead_letters))
                checkpoint = batch.checkpoint
            stored = store.window("events", columns=["event_id", "event_time"])
            letters = store.dead_letters("events")
    finally:
        spark.conf.set("spark.sql.session.timeZone", zone)
    bad = {7, 47, 87}
    assert first.checkpoint is not None and first.checkpoint.position["id"] == 29
    assert sorted(stored["event_id"].astype(int)) == [i for i in range(100) if i not in bad]
    times = dict(zip(stored["event_id"].astype(int), stored["event_time"], strict=True))
    assert times[99] == pd.Timestamp(BASE + timedelta(seconds=33))
    assert sorted(letters["event_id"].astype(int)) == sorted(bad)
    assert all("x1" in reason for reason in letters["reason"])
    assert all(origin.startswith("spark:query(SELECT id") for origin in letters["source"])
    assert checkpoint is not None and checkpoint.position["id"] == 99
    assert checkpoint.position["watermark"] == (BASE + timedelta(seconds=33)).isoformat()


def test_ingest_of_a_spark_spec_stores_each_row_once(spark: Any, tmp_path: Path) -> None:
    folder = tmp_path / "lake"
    _write(folder, "part-0.parquet", 0, 150)
    config = parse_config({
        "name": "churn",
        "home": str(tmp_path / "home"),
        "source": {"kind": "spark", "path": str(folder), "watermark": "ts", "id_column": "id", "batch_size": 100},
        "labels": {"kind": "column", "column": "y"},
        "features": {"kind": "tabular", "numeric": ["x1"]},
        "model": {"kind": "lightgbm", "n_estimators": 10},
    })
    target = IngestTarget.open(config, project_dir=tmp_path)
    try:
        first = ingest_once(target)
        saved = load_checkpoint(target)
        _write(folder, "part-1.parquet", 150, 30)
        second = ingest_once(target)
        stored = target.store.window("events", columns=["event_id"])["event_id"].tolist()
    finally:
        target.close()
    assert (first["batches"], first["written"], second["written"], second["duplicates"]) == (2, 150, 30, 0)
    assert saved is not None and saved.position["id"] == 149
    assert sorted(stored, key=int) == [str(i) for i in range(180)]
    assert not spark.sparkContext._jsc.sc().isStopped()  # the active session was used, and left running


def test_a_missing_path_or_column_is_named(spark: Any, tmp_path: Path) -> None:
    from lifelong.sources.spark import SparkSource

    with pytest.raises(ConfigError, match="path: expected a table Spark can read, got '.*absent'"):
        list(SparkSource(path=str(tmp_path / "absent"), watermark="ts", id_column="id", spark=spark).read())
    _write(tmp_path / "t", "part-0.parquet", 0, 10)
    with pytest.raises(ConfigError, match="updated_at: expected a column of"):
        list(SparkSource(path=str(tmp_path / "t"), watermark="updated_at", id_column="id", spark=spark).read())


def test_without_pyspark_the_core_imports_and_the_kind_names_its_extra() -> None:
    code = (
        "import sys\n"
        "sys.modules['pyspark'] = None\n"
        "import lifelong.sources\n"
        "from lifelong.errors import ConfigError\n"
        "from lifelong.sources.spark import SparkSource\n"
        "try:\n"
        "    SparkSource(path='/data', watermark='ts', id_column='id')\n"
        "except ConfigError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "source.kind: 'spark' needs the 'spark' extra (pip install 'lifelong[spark]')" in done.stdout


def test_a_spark_spec_names_one_table() -> None:
    base = {"name": "churn", "labels": {"kind": "column", "column": "y"},
            "features": {"kind": "tabular", "numeric": ["x1"]}, "model": {"kind": "lightgbm"}}
    for table, got in (({"path": "lake", "query": "SELECT 1"}, "both"), ({}, "neither")):
        source = {"kind": "spark", "watermark": "ts", "id_column": "id", **table}
        with pytest.raises(ConfigError, match=f"path, query: expected exactly one of them, got {got}"):
            parse_config({**base, "source": source})
