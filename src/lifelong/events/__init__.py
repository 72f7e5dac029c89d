"""Events: batches, checkpoints, dead letters, schemas, and the event store.

Examples
--------
>>> from lifelong.events import EventSchema, FieldSpec
>>> sorted(EventSchema({"x": FieldSpec("float")}).fields)
['x']
"""

from __future__ import annotations

from lifelong.events.batch import EVENT_ID, EVENT_TIME, Batch, Checkpoint, DeadLetter
from lifelong.events.normalize import check_stream_name, normalize_events
from lifelong.events.parquet_store import DEAD_LETTER_COLUMNS, ParquetEventStore
from lifelong.events.payload import rows_to_json
from lifelong.events.records import validate_records
from lifelong.events.schema import EventSchema, FieldSpec, FieldType
from lifelong.events.store import AppendResult, EventStore

__all__ = [
    "DEAD_LETTER_COLUMNS",
    "EVENT_ID",
    "EVENT_TIME",
    "AppendResult",
    "Batch",
    "Checkpoint",
    "DeadLetter",
    "EventSchema",
    "EventStore",
    "FieldSpec",
    "FieldType",
    "ParquetEventStore",
    "check_stream_name",
    "normalize_events",
    "rows_to_json",
    "validate_records",
]
