"""The live display of ``lifelong run``: per model, the last trigger check, training, the last version and events."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from rich.markup import escape
from rich.progress import Progress, TaskID

from lifelong.daemon import ModelLoop
from lifelong.orchestrator import Orchestrator, SkippedUpdate, UpdateResult


@dataclass
class LoopStatus:
    """What the loop of one model is doing, as the live display shows it.

    Examples
    --------
    >>> status = LoopStatus("ctr")
    >>> status.describe(rows=1200, dead_letters=3, updates=[{"version": "1.1", "promoted": True}])
    'ctr: 1,200 events, 3 dead letters · checked never · idle · last 1.1 promoted'
    """

    model: str
    checked: datetime | None = None
    training_since: datetime | None = None

    def describe(self, *, rows: int, dead_letters: int, updates: list[dict[str, Any]]) -> str:
        """One line: events ingested, the last trigger check, training in progress, the last version."""
        checked = "never" if self.checked is None else f"{self.checked:%Y-%m-%d %H:%M}"
        since = self.training_since
        state = "idle" if since is None else f"training (fired {since:%Y-%m-%d %H:%M})"
        made = [update for update in updates if "version" in update]
        last = "none yet"
        if made:
            verdict = "promoted" if made[-1].get("promoted") else "not promoted"
            last = f"{made[-1]['version']} {verdict}"
        return f"{self.model}: {rows:,} events, {dead_letters:,} dead letters · checked {checked} · {state} · last {last}"


@dataclass
class WatchedOrchestrator(Orchestrator):
    """The loop's orchestrator, telling a :class:`LoopStatus` when it checks the triggers and trains."""

    status: LoopStatus | None = None

    def step(self, now: datetime | None = None) -> UpdateResult | SkippedUpdate | None:
        if self.status is not None:
            self.status.checked = now or self.pipeline.clock.now()
        return super().step(now)

    def update(self, *args: Any, **kwargs: Any) -> UpdateResult | SkippedUpdate:
        now = args[0] if args else kwargs.get("now")
        if self.status is not None and isinstance(now, datetime):
            self.status.training_since = now
        try:
            return super().update(*args, **kwargs)
        finally:
            if self.status is not None:
                self.status.training_since = None


def watch(loop: ModelLoop) -> LoopStatus:
    """Give ``loop`` an orchestrator that reports to a new :class:`LoopStatus` (before it runs)."""
    status = LoopStatus(loop.name)
    current = loop.orchestrator
    state = {item.name: getattr(current, item.name) for item in fields(current) if item.init}
    loop.orchestrator = WatchedOrchestrator(**state, status=status)
    return status


class RunDisplay:
    """One progress task per model loop; :meth:`refresh` redraws them from the loops' counters."""

    def __init__(self, progress: Progress, loops: list[ModelLoop]) -> None:
        self.progress = progress
        self.watched: list[tuple[ModelLoop, LoopStatus, TaskID]] = []
        for loop in loops:
            status = watch(loop)
            task = progress.add_task(escape(loop.name), total=None)
            self.watched.append((loop, status, task))

    def refresh(self) -> None:
        """Read every loop's events, dead letters and updates into its task."""
        for loop, status, task in self.watched:
            totals = dict(loop.totals)
            line = status.describe(rows=totals.get("rows", 0), dead_letters=totals.get("dead_letters", 0), updates=list(loop.updates))
            self.progress.update(task, completed=totals.get("rows", 0), description=escape(line))


__all__ = ["LoopStatus", "RunDisplay", "WatchedOrchestrator", "watch"]
