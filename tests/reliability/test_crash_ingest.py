"""kill -9 of ingest at random points: afterwards no event is lost or stored twice.

A folder source receives new CSV files (each written under a dot-name, then renamed, as a
producer would) while an ingest process loops over it; the process is killed with SIGKILL at
random moments and restarted. Files re-send some earlier events (at-least-once producers) and
carry some invalid rows. At the end ``lifelong ingest`` (the CLI) catches up, and the store must
hold every valid event exactly once and every invalid row exactly once in the dead letters.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from reliability_support import LIFELONG, Child, Record, Zygote

from lifelong.config import load_config
from lifelong.events import ParquetEventStore

PRELUDE = """
import time
from pathlib import Path
from lifelong.config import load_config
from lifelong.ingest import ingest_once
from lifelong.runtime import Pipeline
"""
INGEST_LOOP = """
pipeline = Pipeline.open(load_config(Path(args[0])))
while True:
    ingest_once(pipeline)
    time.sleep(0.02)
"""

ROWS_PER_FILE = 300


def _spec(tmp_path: Path) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    data = {
        "name": "churn",
        "home": str(tmp_path / "home"),
        "source": {
            "kind": "file",
            "path": str(inbox),
            "timestamp": "ts",
            "id_column": "id",
            "batch_size": 40,
        },
        "labels": {"kind": "column", "column": "y"},
        "features": {"kind": "tabular", "numeric": ["x1", "x2"], "categorical": {}},
        "model": {"kind": "lightgbm", "n_estimators": 10},
        "schema": {
            "fields": {"x1": {"type": "float"}, "x2": {"type": "float"}, "y": {"type": "int"}},
            "max_future": None,
        },
    }
    path = tmp_path / "lifelong.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


class Producer:
    """Drops CSV files into the source folder; remembers what a correct store must hold."""

    def __init__(self, inbox: Path, seed: int) -> None:
        self.inbox = inbox
        self.rng = np.random.default_rng(seed)
        self.files = 0
        self.next_id = 0
        self.valid: set[str] = set()
        self.invalid: set[str] = set()
        self.sent = 0

    def drop(self) -> None:
        n = ROWS_PER_FILE
        ids = [f"e{self.next_id + i}" for i in range(n)]
        start = pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(minutes=self.next_id)
        times = pd.date_range(start, periods=n, freq="1min")
        frame = pd.DataFrame(
            {
                "ts": times.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "id": ids,
                "x1": self.rng.normal(size=n).round(6).astype(object),
                "x2": self.rng.normal(size=n).round(6),
                "y": self.rng.integers(0, 2, size=n),
            }
        )
        resent = 10 if self.valid else 0
        bad = {int(i) for i in self.rng.choice(np.arange(resent, n), size=5, replace=False)}
        frame.loc[sorted(bad), "x1"] = "not-a-number"
        if resent:  # an at-least-once producer re-sends a few events it already sent
            frame.loc[: resent - 1, "id"] = sorted(
                self.rng.choice(sorted(self.valid), size=resent, replace=False)
            )
        for position, event_id in enumerate(frame["id"]):
            (self.invalid if position in bad else self.valid).add(event_id)
        self.next_id += n
        self.sent += n
        hidden = self.inbox / f".part-{self.files:05d}.csv"
        frame.to_csv(hidden, index=False)
        hidden.rename(self.inbox / f"f{self.files:05d}.csv")
        self.files += 1


def _crash_loop(tmp_path: Path, *, kills: int, seed: int) -> dict[str, object]:
    spec = _spec(tmp_path)
    producer = Producer(tmp_path / "inbox", seed)
    rng = random.Random(seed)
    real_kills = mid_work = 0
    home = load_config(spec).home / "events"
    with Zygote(PRELUDE, INGEST_LOOP) as zygote:
        for _ in range(kills):
            for _ in range(rng.randint(1, 3)):
                producer.drop()
            zygote.spawn(str(spec))
            # Random points: mostly while batches are being written, sometimes while idle.
            time.sleep(rng.uniform(0.0, 1.0))
            real_kills += zygote.kill_worker()
            with ParquetEventStore(home) as store:
                mid_work += store.count("events") < len(producer.valid)
    final = Child.start([str(LIFELONG), "ingest", "-c", str(spec)])
    assert final.finish() == 0, final.output()
    config = load_config(spec)
    with ParquetEventStore(config.home / "events") as store:
        events = store.window("events", columns=["event_id"])
        letters = store.dead_letters("events")
    stored = list(events["event_id"])
    assert len(stored) == len(set(stored)), "an event was stored twice"
    assert set(stored) == producer.valid, (
        f"lost {len(producer.valid - set(stored))}, unexpected {len(set(stored) - producer.valid)}"
    )
    dead = list(letters["event_id"])
    assert len(dead) == len(set(dead)) and set(dead) == producer.invalid
    assert all("x1" in reason and "not-a-number" in reason for reason in letters["reason"])
    return {
        "kills": real_kills,
        "kills_mid_work": mid_work,
        "files": producer.files,
        "rows_sent": producer.sent,
        "stored": len(stored),
        "dead_letters": len(dead),
        "lost": 0,
        "duplicated": 0,
    }


def test_ingest_survives_kill_9(tmp_path: Path, reliability: Record) -> None:
    result = _crash_loop(tmp_path, kills=5, seed=1)
    assert result["kills"] == 5  # the loop never exits on its own: every kill is real
    assert result["kills_mid_work"] >= 1  # at least one kill interrupted unfinished ingest
    reliability("crash: ingest kill -9", **result)


@pytest.mark.soak
def test_ingest_survives_many_kills(tmp_path: Path, reliability: Record) -> None:
    result = _crash_loop(tmp_path, kills=25, seed=2)
    assert result["kills"] == 25 and result["kills_mid_work"] >= 10
    reliability("crash: ingest kill -9", **result)
