"""``lifelong run``: the ingest, train and serve loops of one or many models in one process.

Each model gets a :class:`ModelLoop` (source → event store → trigger → train → gate →
promote) that runs in a worker thread, and optionally its prediction server (uvicorn) as an
asyncio task of the same event loop. Time is either the data's (``clock="data"``: a replay,
checking the triggers at every multiple of ``step`` the data crosses, then just after the newest
event) or the wall clock's (``clock="wall"``: check after every poll).

Crash recovery needs no state of its own: the source resumes from its checkpoint (saved only
after a batch is stored; the store deduplicates a re-read batch), the loop's state is read back
from the registry, an update interrupted after registering is finished by
:mod:`lifelong.recovery`, and a firing interrupted while training is trained once more under the
same firing id — never twice, because a version registered for a firing id makes the loop skip
it (:mod:`lifelong.triggers.firing`). On start the loop therefore checks its triggers at the
present of the stored data before reading on.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from lifelong.clock import Clock, SystemClock
from lifelong.config.monitoring import LogAlertConfig, WebhookAlertConfig
from lifelong.errors import ConfigError, LifelongError
from lifelong.ingest import load_checkpoint, open_source, store_batch
from lifelong.monitoring.alerts import (
    Alert,
    AlertDispatcher,
    AlertSink,
    LogSink,
    WebhookSink,
)
from lifelong.orchestrator import Orchestrator, SkippedUpdate, UpdateResult
from lifelong.runtime import Pipeline

log = logging.getLogger("lifelong.daemon")
ClockMode = Literal["data", "wall"]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class DaemonOptions:
    """How the daemon runs.

    Attributes
    ----------
    step
        Data clock: the triggers are checked at every multiple of ``step`` (from the epoch)
        that the stored data crosses.
    clock
        ``data`` (replay in the data's time) or ``wall`` (the system clock).
    follow
        Keep polling the source once it is exhausted (always true with the wall clock).
    poll
        Seconds between polls of an exhausted source.
    serve
        Also serve each model's champion on its configured host and port.
    """

    step: timedelta = timedelta(hours=1)
    clock: ClockMode = "data"
    follow: bool = False
    poll: float = 5.0
    serve: bool = False
    admin_token: str | None = None
    api_token: str | None = None

    def __post_init__(self) -> None:
        if self.step <= timedelta(0):
            raise ConfigError(f"--step: expected a duration > 0, got {self.step}")
        if self.clock not in ("data", "wall"):
            raise ConfigError(f"--clock: expected 'data' or 'wall', got {self.clock!r}")
        if not self.poll > 0:
            raise ConfigError(f"--poll: expected a number of seconds > 0, got {self.poll!r}")

    @property
    def following(self) -> bool:
        return self.follow or self.clock == "wall"


def build_sinks(pipeline: Pipeline) -> list[AlertSink]:
    """The alert sinks of the spec's ``monitoring.alerts``."""
    sinks: list[AlertSink] = []
    for sink in pipeline.config.monitoring.alerts:
        if isinstance(sink, LogAlertConfig):
            sinks.append(LogSink())
        elif isinstance(sink, WebhookAlertConfig):
            sinks.append(WebhookSink(sink.url, attempts=sink.attempts, backoff=sink.backoff, timeout=sink.timeout, headers=dict(sink.headers)))
    return sinks


def latest_event_time(store: Any) -> datetime | None:
    """The newest event time over every stream of ``store`` (None when it is empty)."""
    latest: datetime | None = None
    for stream in store.streams():
        frame = store.window(stream, columns=["event_time"])
        if len(frame):
            value = frame["event_time"].max().to_pydatetime()
            latest = value if latest is None or value > latest else latest
    return latest


def _grid_after(moment: datetime, step: timedelta) -> datetime:
    """The first multiple of ``step`` since the epoch strictly after ``moment``."""
    return _EPOCH + ((moment - _EPOCH) // step + 1) * step


@dataclass
class ModelLoop:
    """Source → store → triggers → updates for one pipeline; every call resumes from stored state."""

    pipeline: Pipeline
    options: DaemonOptions
    clock: Clock = field(default_factory=SystemClock)
    alerts: AlertDispatcher | None = None
    totals: dict[str, int] = field(default_factory=lambda: {"rows": 0, "dead_letters": 0, "duplicates": 0})
    updates: list[dict[str, Any]] = field(default_factory=list)
    orchestrator: Orchestrator = field(init=False)
    _latest: datetime | None = None
    _retained_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.alerts is None:
            self.alerts = AlertDispatcher(build_sinks(self.pipeline))
        self.orchestrator = Orchestrator(self.pipeline, on_update=self._record)

    @property
    def name(self) -> str:
        return self.pipeline.name

    def _alert(self, event: str, message: str, *, severity: Literal["info", "warning", "critical"] = "warning", **details: Any) -> None:
        if event in self.pipeline.config.monitoring.alert_on and self.alerts is not None:
            at = self._latest if self.options.clock == "data" and self._latest else self.clock.now()
            self.alerts.send(Alert(self.name, event, message, at, severity, details))

    def _record(self, outcome: UpdateResult | SkippedUpdate) -> None:
        kind = str(outcome.trigger.get("kind", ""))
        firing = outcome.trigger.get("firing_id")
        if isinstance(outcome, UpdateResult):
            self.updates.append({"version": outcome.version, "parent": outcome.parent, "mode": outcome.mode, "promoted": outcome.promoted,
                                 "trigger": kind, "firing_id": firing, "at": outcome.at.isoformat(), "reason": outcome.report["reason"]})
            kinds = {"drift" if part == "detector" else part for part in kind.split("+")}  # a detector firing is a drift
            for event in ("drift", "performance"):
                if event in kinds:
                    self._alert(event, f"retrained as {outcome.version}: {outcome.trigger.get('reason', '')}", version=outcome.version)
            verdict = "promoted" if outcome.promoted else "not promoted"
            self._alert("update", f"{outcome.version} {verdict}: {outcome.report['reason']}", severity="info", version=outcome.version)
            if outcome.failed:  # the others went on without them
                self.updates[-1]["failed"] = list(outcome.failed)
            for failure in outcome.failed:
                self._alert("failure", f"challenger {failure['name']} failed to train: {failure['error']}", severity="warning")
        else:
            self.updates.append({"skipped": outcome.reason, "trigger": kind, "firing_id": firing, "at": outcome.at.isoformat()})

    def _step(self, now: datetime) -> None:
        try:
            self.orchestrator.step(now)
            self._retain(now)
        except LifelongError as error:
            self._alert("failure", f"update at {now.isoformat()} failed: {error}", severity="critical")
            if not self.options.following:
                raise
            log.error("%s: update at %s failed: %s", self.name, now.isoformat(), error)

    def _retain(self, now: datetime) -> None:
        """Apply the spec's ``retention`` when it is due (every ``retention.every`` of loop time)."""
        retention = self.pipeline.config.retention
        if retention is None or (self._retained_at is not None and now - self._retained_at < retention.every):
            return
        from lifelong.events.retention import apply_retention

        report = apply_retention(self.pipeline.store, self.pipeline.registry, retention.older_than, now=now)
        self._retained_at = now
        deleted = sum(len(days) for days in report.deleted.values())
        if deleted:
            self.totals["retention_days_deleted"] = self.totals.get("retention_days_deleted", 0) + deleted
            log.info("%s: retention deleted %d day partition(s) older than %s", self.name, deleted, now - retention.older_than)

    def start(self) -> None:
        """Check the triggers at the present of the stored data (repeats a firing a crash interrupted)."""
        if self.options.clock == "wall":
            self._step(self.clock.now())
            return
        self._latest = latest_event_time(self.pipeline.store)
        if self._latest is not None:
            self._step(self._latest + _TICK)

    def poll(self, stop: threading.Event | None = None) -> int:
        """Store what the source has beyond its checkpoint, checking triggers as data time passes."""
        written = 0
        with open_source(self.pipeline) as source:
            for batch in source.read(since=load_checkpoint(self.pipeline)):
                counts = store_batch(self.pipeline, batch, source)
                written += counts["written"]
                self.totals["rows"] += counts["written"]
                self.totals["dead_letters"] += counts["dead_letters"]
                self.totals["duplicates"] += counts["duplicates"]
                if self.options.clock == "data" and batch.rows:
                    self._advance(batch.frame["event_time"].min().to_pydatetime(), batch.frame["event_time"].max().to_pydatetime())
                if stop is not None and stop.is_set():
                    return written
        if self.options.clock == "wall":
            self._step(self.clock.now())
        elif written and self._latest is not None:
            self._step(self._latest + _TICK)
        return written

    def _advance(self, first: datetime, last: datetime) -> None:
        previous = self._latest if self._latest is not None else first
        check = _grid_after(previous, self.options.step)
        while check <= last:
            self._step(check)
            check += self.options.step
        self._latest = max(previous, last)

    def summary(self) -> dict[str, Any]:
        champion = self.pipeline.registry.alias_version(self.name, "champion")
        return {**self.totals, "updates": list(self.updates), "champion": champion}


class Daemon:
    """Run the loops (and servers) of several pipelines until their sources end or :meth:`stop`.

    Examples
    --------
    >>> Daemon([], DaemonOptions()).models
    []
    """

    def __init__(self, pipelines: Sequence[Pipeline], options: DaemonOptions, *, clock: Clock | None = None) -> None:
        names = [p.name for p in pipelines]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ConfigError(f"-c: expected one spec per model, got {duplicated} more than once")
        if options.serve:
            taken: dict[tuple[str, int], str] = {}
            for pipeline in pipelines:
                address = (pipeline.config.serving.host, pipeline.config.serving.port)
                if address in taken:
                    raise ConfigError(
                        f"serving.port: expected a different address per served model, got {address[0]}:{address[1]} "
                        f"for both {taken[address]!r} and {pipeline.name!r}"
                    )
                taken[address] = pipeline.name
        self.options = options
        self.loops = [ModelLoop(p, options, clock=clock or SystemClock()) for p in pipelines]
        self._stop = threading.Event()
        self._servers: list[Any] = []

    @property
    def models(self) -> list[str]:
        return [loop.name for loop in self.loops]

    def stop(self) -> None:
        """Ask every loop and server to finish (after the batch or update in progress)."""
        self._stop.set()
        for server in self._servers:
            server.should_exit = True

    def _run_loop(self, loop: ModelLoop) -> None:
        loop.start()
        while not self._stop.is_set():
            loop.poll(self._stop)
            if not self.options.following:
                return
            self._stop.wait(self.options.poll)

    async def _serve(self, loop: ModelLoop) -> None:
        import uvicorn

        from lifelong.serving.registry_loader import build_app

        serving = loop.pipeline.config.serving
        app = build_app(loop.pipeline.registry, loop.pipeline.store, admin_token=self.options.admin_token,
                        api_token=self.options.api_token, allowed_hosts=serving.host_allow_list())
        server = uvicorn.Server(uvicorn.Config(app, host=serving.host, port=serving.port, log_level="warning", lifespan="on", ws="none"))
        self._servers.append(server)
        if self._stop.is_set():
            server.should_exit = True
        await server.serve()

    async def run(self) -> dict[str, dict[str, Any]]:
        """Run everything; return each model's summary (rows, updates, champion)."""
        running = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                running.add_signal_handler(sig, self.stop)
            except (NotImplementedError, RuntimeError):  # not the main thread, or no signals here
                pass
        servers = [asyncio.create_task(self._serve(loop)) for loop in self.loops] if self.options.serve else []
        try:
            await asyncio.gather(*(asyncio.to_thread(self._run_loop, loop) for loop in self.loops))
            if servers and not self._stop.is_set():
                await asyncio.to_thread(self._stop.wait)
        finally:
            self.stop()
            await asyncio.gather(*servers, return_exceptions=True)
        return {loop.name: loop.summary() for loop in self.loops}

    def run_forever(self) -> dict[str, dict[str, Any]]:
        """:meth:`run` in a fresh event loop."""
        return asyncio.run(self.run())


__all__ = ["ClockMode", "Daemon", "DaemonOptions", "ModelLoop", "build_sinks", "latest_event_time"]
