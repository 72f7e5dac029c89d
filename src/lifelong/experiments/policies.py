"""Update policies a simulation compares, each a pipeline spec over the same stream.

Policy windows adapt to the stream's spacing: a training window is the longer of its nominal
duration and 2,000 rows' worth of time, so the same policy names work for a stream with one
row a minute and one with a row a day.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from lifelong.config import PipelineConfig, parse_config
from lifelong.durations import format_duration
from lifelong.errors import ConfigError
from lifelong.experiments.profile import StreamProfile

POLICIES: Mapping[str, dict[str, Any]] = {
    "static": {"mode": "stateless", "every": "36500d", "window": "30d"},
    "stateless-daily": {"mode": "stateless", "every": "1d", "window": "30d"},
    "stateless-weekly": {"mode": "stateless", "every": "7d", "window": "30d"},
    "stateful-hourly": {"mode": "stateful", "every": "1h", "window": "30d"},
    "stateful-daily": {"mode": "stateful", "every": "1d", "window": "30d"},
    "triggered": {"mode": "stateful", "volume": 0.2, "window": "30d"},
    "default": {"mode": "stateful", "volume_rows": True, "window": "30d"},
}


def _seconds(text: str) -> float:
    from lifelong.durations import parse_duration

    return parse_duration(text).total_seconds()


def policy_config(
    profile: StreamProfile,
    policy: str,
    *,
    home: Path,
    label_delay: timedelta = timedelta(0),
    batch_size: int = 100,
) -> PipelineConfig:
    """The pipeline spec of ``policy`` on ``profile``'s stream."""
    if policy not in POLICIES:
        raise ConfigError(f"--policy: expected one of {sorted(POLICIES)}, got {policy!r}")
    plan = POLICIES[policy]
    spacing = profile.spacing
    window = max(timedelta(seconds=_seconds(plan["window"])), spacing * 2000)
    holdout = max(spacing * 200, timedelta(seconds=1))
    min_rows = 100
    if "every" in plan:
        triggers: list[dict[str, Any]] = [{"kind": "interval", "every": plan["every"]}]
    elif plan.get("volume_rows"):
        rows = max(min_rows, min(1000, profile.rows // 200))
        triggers = [{"kind": "volume", "growth": 0.0001, "min_rows": rows}]
    else:
        triggers = [{"kind": "volume", "growth": float(plan["volume"]), "min_rows": 2 * min_rows}]
    objective = "binary" if len(profile.classes) == 2 else "multiclass"
    raw: dict[str, Any] = {
        "name": "stream",
        "home": str(home),
        "source": {"kind": "file", "path": str(profile.path), "timestamp": profile.timestamp, "batch_size": batch_size},
        "schema": {
            "fields": {
                **{name: {"type": "float", "required": False} for name in profile.numeric},
                **{name: {"type": "str", "required": False} for name in profile.categorical},
            },
            "max_future": None,
        },
        "labels": {"kind": "column", "column": profile.target, "delay": format_duration(label_delay)},
        "features": {
            "kind": "tabular",
            "numeric": list(profile.numeric),
            "categorical": {k: list(v) for k, v in profile.categorical.items()},
            "missing": "impute",
            "unseen": "ignore",
        },
        "model": {"kind": "lightgbm", "objective": objective, "n_estimators": 100, "update_estimators": 10,
                  "max_trees": 500, "num_leaves": 31, "learning_rate": 0.1},
        "training": {"mode": plan["mode"], "window": format_duration(window), "holdout": format_duration(holdout), "min_rows": min_rows},
        "evaluation": {"metric": "accuracy", "gates": [{"kind": "min_rows", "rows": 30}, {"kind": "not_worse", "tolerance": 0.01}]},
        "deployment": {"kind": "direct"},
        "triggers": {"triggers": triggers},
    }
    return parse_config(raw, origin=f"policy {policy}")


__all__ = ["POLICIES", "policy_config"]
