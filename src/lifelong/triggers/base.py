"""The trigger protocol: look at the pipeline's state, decide whether to train, say why."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


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
    """Whether to train, which trigger decided, and why (recorded on the version it produces)."""

    fire: bool
    kind: str
    reason: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"fire": self.fire, "kind": self.kind, "reason": self.reason, "details": self.details}


class Trigger(ABC):
    """Decides when a model should update."""

    kind: str
    needs_labeled_rows: bool = False
    """Whether :meth:`check` reads ``labeled_rows`` (counting them costs a store scan)."""

    @abstractmethod
    def check(self, state: TriggerState) -> Decision:
        """Return the decision for ``state``; must not change anything."""
