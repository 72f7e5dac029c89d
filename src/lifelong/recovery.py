"""Finishing an update that a crash interrupted, so a restarted loop neither loses nor repeats it.

An update registers each challenger together with its evaluation report in one transaction
(status ``evaluated``: judged, not yet decided), then records the verdicts and moves the aliases
in further writes. A process killed in between leaves the update's versions ``evaluated``, or a
version ``promoted`` that the champion alias never reached. :func:`finish_interrupted` completes
that update from what the registry holds — the choice and the alias moves the update would have
made — without training again and without firing the trigger again (the trigger reads the time
of the latest version, which the interrupted update already recorded).

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from lifelong.registry import Registry
>>> with Registry.open(Path(tempfile.mkdtemp())) as registry:
...     finish_interrupted(registry, "churn", promote_passing=True, actor="loop") is None
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from lifelong.errors import RegistryError
from lifelong.evaluation.selection import beats
from lifelong.registry import Registry
from lifelong.registry.types import ModelVersion

PENDING = "evaluated"
"""Status of a version whose evaluation is recorded and whose verdict is not decided yet."""

CHAMPION = "champion"
CHALLENGER = "challenger"


@dataclass(frozen=True)
class Recovered:
    """What :func:`finish_interrupted` completed: the update's trigger time and its outcome."""

    trigger_at: str
    versions: tuple[str, ...]
    chosen: str
    promoted: bool


def latest_update(registry: Registry, model: str) -> list[ModelVersion]:
    """The versions of the most recent orchestrated update (same trigger time), oldest first."""
    timed = [v for v in registry.versions(model) if isinstance(v.lineage.trigger.get("at"), str)]
    if not timed:
        return []
    latest = max(str(v.lineage.trigger["at"]) for v in timed)
    return [v for v in timed if v.lineage.trigger["at"] == latest]


def _passed(version: ModelVersion) -> bool:
    value = version.evaluation.get("challenger")
    return (
        bool(version.evaluation.get("passed"))
        and isinstance(value, (int, float))
        and not math.isnan(value)
    )


def _loss(version: ModelVersion) -> float | None:
    value = version.evaluation.get("log_loss")
    return float(value) if isinstance(value, (int, float)) else None


def choose(group: list[ModelVersion]) -> ModelVersion:
    """The passing version with the best metric (ties: lower log loss, then the first), else the first one.

    The rule of :func:`lifelong.evaluation.best_passing`, applied to recorded reports.
    """
    best: ModelVersion | None = None
    for version in group:
        if not _passed(version):
            continue
        if best is None:
            best = version
            continue
        if beats(
            float(version.evaluation["challenger"]),
            _loss(version),
            float(best.evaluation["challenger"]),
            _loss(best),
            higher_is_better=bool(version.evaluation.get("higher_is_better", True)),
        ):
            best = version
    return best if best is not None else group[0]


def _verdict(version: ModelVersion, *, selected: bool, promote: bool) -> str:
    if selected and promote:
        return "promoted"
    return "passed" if version.evaluation.get("passed") else "rejected"


def finish_interrupted(
    registry: Registry, model: str, *, promote_passing: bool, actor: str
) -> Recovered | None:
    """Complete the latest update of ``model`` if a crash left it undecided; None otherwise.

    Parameters
    ----------
    registry
        The model's registry.
    model
        Model name.
    promote_passing
        Whether the update would have promoted a passing challenger itself (direct deployment).
    actor
        Recorded on the alias moves.
    """
    group = latest_update(registry, model)
    pending = [v for v in group if v.status == PENDING]
    promoted = [v for v in group if v.status == "promoted"]
    if not pending and not promoted:
        return None
    chosen = promoted[0] if promoted else choose(group)
    promote = bool(promoted) or (promote_passing and bool(chosen.evaluation.get("passed")))
    for version in pending:
        selected = version.version == chosen.version
        record: dict[str, Any] = {**version.evaluation, "selected": selected}
        status = _verdict(version, selected=selected, promote=promote)
        registry.record_evaluation(model, version.version, record, status=status)
    moved = False
    if registry.alias_version(model, CHALLENGER) != chosen.version and pending:
        registry.set_alias(
            model, CHALLENGER, chosen.version, actor=actor, reason="finishing an interrupted update"
        )
    reached = any(
        change.to_version == chosen.version for change in registry.alias_history(model, CHAMPION)
    )
    if promote and not reached:
        try:
            registry.set_alias(
                model,
                CHAMPION,
                chosen.version,
                actor=actor,
                reason=f"gates passed: {chosen.evaluation.get('reason', '')} (finishing an interrupted update)",
                expected=chosen.parent,
            )
            moved = True
        except RegistryError:
            # The champion moved since (someone promoted by hand): keep it, record why.
            registry.set_status(model, chosen.version, "passed")
    if not pending and not moved:
        return None
    return Recovered(
        trigger_at=str(chosen.lineage.trigger["at"]),
        versions=tuple(v.version for v in group),
        chosen=chosen.version,
        promoted=moved or (promote and reached),
    )


__all__ = ["PENDING", "Recovered", "choose", "finish_interrupted", "latest_update"]
