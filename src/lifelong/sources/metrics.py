"""Prometheus metrics of the ingest process, in a registry of their own.

Names: ``lifelong_ingest_events_total{outcome}`` (written, duplicate, dead_letter, quarantined:
held back from a flagged source),
``lifelong_ingest_batches_total``, ``lifelong_ingest_in_flight_batches``,
``lifelong_ingest_lag_events`` (what the source holds beyond what was read; -1 when unknown),
``lifelong_ingest_events_per_second`` (events received over the last few seconds), and
``lifelong_ingest_store_seconds`` (store and commit time of a batch); with a ``label_quality``
gate, ``lifelong_ingest_flagged_sources`` (sources flagged for poisoned labels),
``lifelong_ingest_source_throttle{source}`` (the share of a flagged source's events admitted) and
``lifelong_ingest_held_events{source}`` (its events held back in the store, awaiting a release).

Examples
--------
>>> metrics = IngestMetrics(stream="events")
>>> metrics.stored(written=3, duplicates=1, dead_letters=2, seconds=0.01)
>>> metrics.value("lifelong_ingest_events_total", outcome="dead_letter")
2.0
>>> b"lifelong_ingest_batches_total" in metrics.render()
True
>>> metrics.flags([{"source": "crowd-b", "throttle": 0.1, "held": 42}])
>>> metrics.value("lifelong_ingest_held_events", source="crowd-b")
42.0
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, start_http_server

from lifelong.errors import ConfigError

_RATE_WINDOW = 5.0


class IngestMetrics:
    """Counters and gauges of one ingest process; :meth:`serve` exposes them over HTTP."""

    def __init__(self, *, stream: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = {"stream": stream}
        self._events = Counter(
            "lifelong_ingest_events", "Events handled, by outcome.", ["stream", "outcome"], registry=self.registry
        )
        self._written = self._events.labels(outcome="written", **labels)
        self._duplicates = self._events.labels(outcome="duplicate", **labels)
        self._dead = self._events.labels(outcome="dead_letter", **labels)
        self._batches = Counter("lifelong_ingest_batches", "Batches stored and committed.", ["stream"], registry=self.registry).labels(**labels)
        self._in_flight = Gauge("lifelong_ingest_in_flight_batches", "Batches read and not yet stored.", ["stream"], registry=self.registry).labels(**labels)
        self._lag = Gauge("lifelong_ingest_lag_events", "Events the source holds beyond those read (-1: unknown).", ["stream"], registry=self.registry).labels(**labels)
        self._rate = Gauge("lifelong_ingest_events_per_second", "Events stored per second over the last seconds.", ["stream"], registry=self.registry).labels(**labels)
        self._quarantined = self._events.labels(outcome="quarantined", **labels)
        self._flagged = Gauge("lifelong_ingest_flagged_sources", "Sources flagged for poisoned labels (throttled).", ["stream"], registry=self.registry).labels(**labels)
        self._throttle = Gauge("lifelong_ingest_source_throttle", "Share of a flagged source's events admitted.", ["stream", "source"], registry=self.registry)
        self._held = Gauge("lifelong_ingest_held_events", "Events of a flagged source held back in the store until a release.", ["stream", "source"], registry=self.registry)
        self._sources: set[str] = set()
        self._stream = stream
        self._seconds = Histogram("lifelong_ingest_store_seconds", "Seconds to store and commit one batch.", ["stream"], registry=self.registry).labels(**labels)
        self._recent: deque[tuple[float, int]] = deque()
        self._guard = threading.Lock()
        self._server: WSGIServer | None = None
        self._lag.set(-1)

    def stored(self, *, written: int, duplicates: int, dead_letters: int, seconds: float, quarantined: int = 0) -> None:
        """Count one stored and committed batch (``quarantined``: events held back from flagged sources)."""
        self._written.inc(written)
        self._quarantined.inc(quarantined)
        self._duplicates.inc(duplicates)
        self._dead.inc(dead_letters)
        self._batches.inc()
        self._seconds.observe(seconds)
        now = time.monotonic()
        with self._guard:
            self._recent.append((now, written + duplicates + dead_letters))
            while self._recent and self._recent[0][0] < now - _RATE_WINDOW:
                self._recent.popleft()
            span = max(now - self._recent[0][0], 1.0) if len(self._recent) > 1 else _RATE_WINDOW
            self._rate.set(sum(count for _, count in self._recent) / span)

    def flags(self, status: Sequence[Mapping[str, Any]]) -> None:
        """Set the flagged sources from :meth:`SourceQuarantine.status` (released ones disappear)."""
        with self._guard:
            current = {str(row["source"]) for row in status}
            for gone in self._sources - current:
                self._throttle.remove(self._stream, gone)
                self._held.remove(self._stream, gone)
            for row in status:
                self._throttle.labels(stream=self._stream, source=str(row["source"])).set(float(row["throttle"]))
                self._held.labels(stream=self._stream, source=str(row["source"])).set(int(row["held"]))
            self._sources = current
            self._flagged.set(len(current))

    def in_flight(self, batches: int) -> None:
        """Set the number of batches read and not yet stored."""
        self._in_flight.set(batches)

    def lag(self, events: int | None) -> None:
        """Set the source's lag (None: unknown)."""
        self._lag.set(-1 if events is None else events)

    def value(self, name: str, **labels: str) -> float | None:
        """Current value of a sample (for tests and reports)."""
        return self.registry.get_sample_value(name, {"stream": self._written._labelvalues[0], **labels})

    def render(self) -> bytes:
        """The metrics in Prometheus text format."""
        return generate_latest(self.registry)

    def serve(self, port: int, host: str = "127.0.0.1") -> int:
        """Serve ``/metrics`` on ``host:port`` in a daemon thread (port 0: any free one); the port."""
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ConfigError(f"--metrics-port: expected a port in 0..65535, got {port!r}")
        try:
            server, _ = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            raise ConfigError(f"--metrics-port: cannot listen on {host}:{port}: {exc.strerror}") from exc
        self._server = server
        return int(server.server_port)

    def close(self) -> None:
        """Stop serving."""
        if self._server is not None:
            server, self._server = self._server, None
            server.shutdown()
            server.server_close()


__all__ = ["IngestMetrics"]
