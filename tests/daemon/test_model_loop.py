"""The daemon's model loop in-process: the wall clock (a ManualClock here) and alerts to a real webhook."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pipeline_support import write_spec, write_stream

from lifelong.clock import ManualClock
from lifelong.config import load_config
from lifelong.daemon import Daemon, DaemonOptions, ModelLoop
from lifelong.errors import ConfigError
from lifelong.runtime import Pipeline
from lifelong.triggers import Decision

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


class _Hooks(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[dict[str, Any]] = []


class _Handler(BaseHTTPRequestHandler):
    server: _Hooks

    def do_POST(self) -> None:
        self.server.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def hooks() -> Iterator[_Hooks]:
    server = _Hooks()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_wall_clock_loop_trains_when_the_trigger_fires_and_alerts_the_webhook(tmp_path: Path, hooks: _Hooks) -> None:
    write_stream(tmp_path / "events.csv", days=2)
    url = f"http://127.0.0.1:{hooks.server_address[1]}/alerts"
    monitoring = {"alerts": [{"kind": "webhook", "url": url, "backoff": 0.01}, {"kind": "log"}], "alert_on": ["update", "failure"]}
    pipeline = Pipeline.open(load_config(write_spec(tmp_path, monitoring=monitoring)))
    try:
        clock = ManualClock(T0 + timedelta(days=1))
        loop = ModelLoop(pipeline, DaemonOptions(clock="wall"), clock=clock)
        loop.start()  # nothing stored yet: the trigger fires, but there are no rows to train on
        assert loop.updates[0]["skipped"].startswith("training rows: expected at least 100")
        assert loop.poll() == 2 * 24 * 20
        assert [u.get("version") for u in loop.updates] == [None, "1.0"] and loop.updates[1]["at"] == clock.now().isoformat()
        clock.advance(timedelta(hours=6))
        loop.poll()  # nothing new, the interval (1d) has not passed
        clock.advance(timedelta(hours=18))
        loop.poll()
        assert [u.get("version") for u in loop.updates] == [None, "1.0", "1.1"]
        assert [a["kind"] for a in hooks.received] == ["update", "update"]
        assert hooks.received[0]["model"] == "churn" and "1.0 promoted" in hooks.received[0]["message"]
        assert loop.summary()["champion"] == "1.1"
    finally:
        pipeline.close()


def test_a_performance_alert_reaches_the_log_sink_with_its_reason(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The concept turns over at day 3: the performance trigger fires, and the log sink records why."""
    write_stream(tmp_path / "events.csv", days=4, shift_day=3)
    triggers = {"triggers": [{"kind": "performance", "window": "12h", "loss": "log_loss", "min_rows": 100}]}
    monitoring = {"alerts": [{"kind": "log"}], "alert_on": ["drift", "performance"]}
    spec = write_spec(tmp_path, triggers=triggers, monitoring=monitoring, training={"mode": "stateless", "window": "2d", "holdout": "12h", "min_rows": 100})
    pipeline = Pipeline.open(load_config(spec))
    try:
        clock = ManualClock(T0 + timedelta(days=2))
        loop = ModelLoop(pipeline, DaemonOptions(clock="wall"), clock=clock)
        with caplog.at_level(logging.WARNING, logger="lifelong.alerts"):
            loop.poll()  # stores the stream; no champion yet, so the performance trigger has nothing to judge
            loop.orchestrator.update(clock.now(), Decision(True, "manual", "first version"))
            assert not [r for r in caplog.records if r.name == "lifelong.alerts"]
            clock.advance(timedelta(days=2))
            loop.poll()
        records = [r for r in caplog.records if r.name == "lifelong.alerts"]
        assert [(u.get("version"), u["trigger"]) for u in loop.updates] == [("1.0", "manual"), ("1.1", "performance")]
        assert len(records) == 1 and records[0].levelno == logging.WARNING
        message = records[0].getMessage()
        assert message.startswith("churn performance: retrained as 1.1: performance dropped: log_loss "), message
        alert = records[0].alert  # type: ignore[attr-defined]
        assert alert["kind"] == "performance" and alert["details"] == {"version": "1.1"}
        assert alert["message"] in message and "one-sided Welch t-test p=" in alert["message"]
    finally:
        pipeline.close()


def test_options_and_duplicate_models_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--step: expected a duration > 0"):
        DaemonOptions(step=timedelta(0))
    with pytest.raises(ConfigError, match="--clock: expected 'data' or 'wall', got 'lunar'"):
        DaemonOptions(clock="lunar")  # type: ignore[arg-type]
    write_stream(tmp_path / "events.csv", days=1)
    pipeline = Pipeline.open(load_config(write_spec(tmp_path)))
    try:
        with pytest.raises(ConfigError, match="-c: expected one spec per model, got \\['churn'\\] more than once"):
            Daemon([pipeline, pipeline], DaemonOptions())
        other = Pipeline.open(pipeline.config.model_copy(update={"name": "ctr", "home": tmp_path / "home-ctr"}))
        try:
            with pytest.raises(ConfigError, match="serving.port: expected a different address per served model, got 127.0.0.1:8000"):
                Daemon([pipeline, other], DaemonOptions(serve=True))
        finally:
            other.close()
    finally:
        pipeline.close()
