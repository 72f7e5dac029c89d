"""The trigger protocol: look at the pipeline's state, decide whether to train, say why."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lifelong.monitoring.context import MonitorContext


@dataclass(frozen=True)
class TriggerState:
    """What a trigger may look at.

    ``last_trained_at`` is ``None`` before the first training; ``labeled_rows`` counts labeled
    rows available now and ``labeled_rows_at_last_training`` those the last training saw.
    """

    now: datetime
    last_trained_at: datetime | None
    labeled_rows: int
    labeled_rows_at_last_training: int
    last_fired_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """Whether to train, which trigger decided, and why (recorded on the version it produces).

    ``firing_id`` identifies the occasion a firing answers (see :mod:`lifelong.triggers.firing`):
    the loop trains at most one update per firing id, even across crashes and restarts.
    """

    fire: bool
    kind: str
    reason: str
    details: dict[str, Any] = field(default_factory=dict)
    firing_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {"fire": self.fire, "kind": self.kind, "reason": self.reason, "details": self.details}
        if self.firing_id is not None:
            data["firing_id"] = self.firing_id
        return data


class Trigger(ABC):
    """Decides when a model should update."""

    kind: str
    needs_labeled_rows: bool = False
    """Whether :meth:`check` reads ``labeled_rows`` (counting them costs a store scan)."""

    def observe(self, context: MonitorContext, now: datetime) -> dict[str, Any]:
        """Measurements this trigger needs in ``TriggerState.extra`` (drift, performance, costs).

        Called by the loop before :meth:`check`; triggers that need no data return ``{}``.
        """
        return {}

    @abstractmethod
    def check(self, state: TriggerState) -> Decision:
        """Return the decision for ``state``; must not change anything."""
