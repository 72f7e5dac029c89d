"""Sources: where events come from (files here; Kafka, Redis Streams and SQL beside them).

Examples
--------
>>> from lifelong.sources import FileSource, Source
>>> issubclass(FileSource, Source)
True
"""

from __future__ import annotations

from lifelong.sources.base import Source
from lifelong.sources.files import FileSource

__all__ = ["FileSource", "Source"]
