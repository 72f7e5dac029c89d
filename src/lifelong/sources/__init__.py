"""Sources: where events come from — files, Kafka, Redis Streams, SQL tables, Kinesis and Spark.

:class:`KinesisSource` needs the ``kinesis`` extra (boto3) and :class:`SparkSource` the ``spark``
extra (pyspark), each imported only when such a source is made.

Examples
--------
>>> from lifelong.sources import FileSource, KafkaSource, RedisStreamsSource, Source, SqlSource
>>> all(issubclass(kind, Source) for kind in (FileSource, KafkaSource, RedisStreamsSource, SqlSource))
True
"""

from __future__ import annotations

from lifelong.sources.base import Source
from lifelong.sources.errors import SourceUnavailableError
from lifelong.sources.files import FileSource
from lifelong.sources.kafka import KafkaSource
from lifelong.sources.kinesis import KinesisSource
from lifelong.sources.messages import decode_messages
from lifelong.sources.redis_streams import RedisStreamsSource
from lifelong.sources.spark import SparkSource
from lifelong.sources.sql import SqlSource

__all__ = [
    "FileSource",
    "KafkaSource",
    "KinesisSource",
    "RedisStreamsSource",
    "Source",
    "SourceUnavailableError",
    "SparkSource",
    "SqlSource",
    "decode_messages",
]
