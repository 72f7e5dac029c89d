"""Fixtures of the event tests: a store in the test's folder and a frame builder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from events_support import EventsFactory, make_events

from lifelong.events import ParquetEventStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ParquetEventStore]:
    with ParquetEventStore(tmp_path / "events", fsync=False) as opened:
        yield opened


@pytest.fixture
def events() -> EventsFactory:
    return make_events
