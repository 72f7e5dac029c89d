"""Firing ids: one update per trigger firing, even across crashes and restarts.

A firing answers an occasion: *this* model, *these* trigger kinds, fired on top of *the last
training* (its time, or "never"). :func:`firing_id` hashes exactly that, so a loop that crashed
while training and checks its trigger again after a restart computes the same id — and
:func:`versions_for` finds the version if one was registered for it, so the loop does not train
twice. The id is stored in the version's lineage (``trigger.firing_id``). A
:class:`FiringJournal` additionally records, before training starts, which firing is being
trained (an append-only JSON-lines file next to the event store), so an interrupted firing is
visible to a person and to tests.

Examples
--------
>>> from datetime import datetime, timezone
>>> from lifelong.triggers.base import Decision, TriggerState
>>> at = datetime(2024, 1, 1, tzinfo=timezone.utc)
>>> state = TriggerState(now=at, last_trained_at=None, labeled_rows=0, labeled_rows_at_last_training=0)
>>> first = firing_id("churn", Decision(True, "interval", "never trained"), state)
>>> first == firing_id("churn", Decision(True, "interval", "never trained (again)"), state)
True
>>> len(first)
20
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from lifelong.registry import Registry
from lifelong.triggers.base import Decision, TriggerState


def firing_id(model: str, decision: Decision, state: TriggerState) -> str:
    """A stable id of the occasion: model, fired kinds, and the last training it builds on."""
    base = state.last_trained_at.isoformat() if state.last_trained_at is not None else "never"
    payload = json.dumps({"model": model, "kind": decision.kind, "base": base}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def with_firing_id(model: str, decision: Decision, state: TriggerState) -> Decision:
    """``decision`` carrying its firing id (unchanged when it does not fire or has one)."""
    if not decision.fire or decision.firing_id is not None:
        return decision
    return replace(decision, firing_id=firing_id(model, decision, state))


def versions_for(registry: Registry, model: str, firing: str) -> list[str]:
    """Versions of ``model`` registered for the firing ``firing``."""
    return [v.version for v in registry.versions(model) if v.lineage.trigger.get("firing_id") == firing]


class FiringJournal:
    """Append-only record of firings (``started``, then ``trained`` or ``skipped``), one JSON object a line.

    Examples
    --------
    >>> import tempfile
    >>> from datetime import datetime, timezone
    >>> journal = FiringJournal(Path(tempfile.mkdtemp()) / "firings.jsonl")
    >>> journal.record("abc", "started", at=datetime(2024, 1, 1, tzinfo=timezone.utc), kind="interval")
    >>> [entry["status"] for entry in journal.entries()]
    ['started']
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def record(self, firing: str, status: str, *, at: datetime, **fields: Any) -> None:
        """Append one entry and flush it to disk before returning."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"firing_id": firing, "status": status, "at": at.isoformat(), **fields}, default=str, sort_keys=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def entries(self) -> list[dict[str, Any]]:
        """Every complete entry, oldest first (a line cut by a crash is skipped)."""
        if not self.path.exists():
            return []
        found = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
        return found


__all__ = ["FiringJournal", "firing_id", "versions_for", "with_firing_id"]
