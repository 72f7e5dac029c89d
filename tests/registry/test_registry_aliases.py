"""Aliases: moves with history, point-in-time answers, rollback, compare-and-set."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lifelong.clock import ManualClock
from lifelong.errors import NotFoundError, RegistryError
from lifelong.registry import Lineage, Registry

MakeLineage = Callable[..., Lineage]


@pytest.fixture
def three(registry: Registry, model_dir: Path, lineage: MakeLineage) -> Registry:
    """A model with versions 1.0, 1.1 and 1.2."""
    registry.register("m", model_dir, lineage=lineage(None), learner_kind="k")
    registry.register("m", model_dir, lineage=lineage("1.0"), learner_kind="k")
    registry.register("m", model_dir, lineage=lineage("1.1"), learner_kind="k")
    return registry


def test_alias_history_and_alias_at(three: Registry, clock: ManualClock) -> None:
    t0 = clock.now()
    assert three.alias_version("m", "champion") is None
    assert three.get_alias("m", "champion") is None
    first = three.set_alias("m", "champion", "1.0", actor="ana", reason="first deploy")
    assert (first.from_version, first.to_version, first.at) == (None, "1.0", t0)
    clock.advance(timedelta(hours=1))
    three.set_alias("m", "champion", "1.1", actor="bot", reason="gate passed")
    three.set_alias("m", "challenger", "1.2", actor="bot", reason="canary")
    clock.advance(timedelta(hours=1))
    three.set_alias("m", "champion", "1.2", actor="bot", reason="canary won")

    assert three.alias_version("m", "champion") == "1.2"
    found = three.get_alias("m", "champion")
    assert found is not None and found.version == "1.2"
    assert three.aliases("m") == {"challenger": "1.2", "champion": "1.2"}

    history = three.alias_history("m", "champion")
    assert [(c.from_version, c.to_version) for c in history] == [
        (None, "1.0"), ("1.0", "1.1"), ("1.1", "1.2"),
    ]  # fmt: skip
    assert [c.actor for c in history] == ["ana", "bot", "bot"]
    assert history[1].reason == "gate passed"
    assert all(c.at.tzinfo is not None and c.at.utcoffset() == timedelta(0) for c in history)
    assert len(three.alias_history("m")) == 4

    assert three.alias_at("m", "champion", t0 - timedelta(seconds=1)) is None
    assert three.alias_at("m", "champion", t0) == "1.0"
    assert three.alias_at("m", "champion", t0 + timedelta(minutes=59)) == "1.0"
    assert three.alias_at("m", "champion", t0 + timedelta(hours=1, minutes=5)) == "1.1"
    assert three.alias_at("m", "champion", t0 + timedelta(days=3)) == "1.2"
    # a naive datetime is read as UTC; another zone is converted
    naive = (t0 + timedelta(hours=1, minutes=5)).replace(tzinfo=None)
    assert three.alias_at("m", "champion", naive) == "1.1"
    assert three.alias_at("m", "challenger", datetime(2024, 3, 4, 13, 0, tzinfo=UTC)) == "1.2"


def test_rollback_undoes_moves_in_order(three: Registry, clock: ManualClock) -> None:
    with pytest.raises(RegistryError, match="no earlier version"):
        three.rollback("m", actor="ops", reason="nothing yet")
    for version in ("1.0", "1.1", "1.2"):
        three.set_alias("m", "champion", version, actor="bot", reason="promote")
        clock.advance(timedelta(minutes=1))
    change = three.rollback("m", actor="ops", reason="latency regression")
    assert (change.from_version, change.to_version) == ("1.2", "1.1")
    assert three.alias_version("m", "champion") == "1.1"
    # a second rollback goes further back; it never re-deploys the version it replaced
    assert three.rollback("m", actor="ops", reason="still bad").to_version == "1.0"
    with pytest.raises(RegistryError, match=r"'champion'.*no earlier version.*'1.0'"):
        three.rollback("m", actor="ops", reason="too far")
    assert three.alias_version("m", "champion") == "1.0"
    history = three.alias_history("m", "champion")
    assert [c.to_version for c in history] == ["1.0", "1.1", "1.2", "1.1", "1.0"]
    assert history[-2].reason == "latency regression"


def test_rollback_after_new_promotion_and_of_a_deletion(three: Registry) -> None:
    three.set_alias("m", "champion", "1.0", actor="a", reason="r")
    three.set_alias("m", "champion", "1.1", actor="a", reason="r")
    three.rollback("m", actor="a", reason="r")  # back to 1.0
    three.set_alias("m", "champion", "1.2", actor="a", reason="r")
    assert three.rollback("m", actor="a", reason="r").to_version == "1.0"
    three.delete_alias("m", "champion", actor="a", reason="retire")
    assert three.alias_version("m", "champion") is None
    assert three.alias_history("m", "champion")[-1].to_version is None
    restored = three.rollback("m", actor="a", reason="undo delete")
    assert (restored.from_version, restored.to_version) == (None, "1.0")


def test_compare_and_set(three: Registry) -> None:
    three.set_alias("m", "champion", "1.0", actor="a", reason="r", expected=None)
    with pytest.raises(RegistryError, match=r"expected it at None, found '1.0'"):
        three.set_alias("m", "champion", "1.1", actor="a", reason="r", expected=None)
    three.set_alias("m", "champion", "1.1", actor="a", reason="r", expected="1.0")
    with pytest.raises(RegistryError, match=r"expected it at '1.0', found '1.1'"):
        three.set_alias("m", "champion", "1.2", actor="b", reason="stale", expected="1.0")
    assert three.alias_version("m", "champion") == "1.1"
    assert len(three.alias_history("m", "champion")) == 2  # the refused move left no trace


def test_alias_errors(three: Registry) -> None:
    with pytest.raises(NotFoundError, match="'9.0'"):
        three.set_alias("m", "champion", "9.0", actor="a", reason="r")
    with pytest.raises(NotFoundError, match="no such model"):
        three.set_alias("other", "champion", "1.0", actor="a", reason="r")
    with pytest.raises(NotFoundError, match="no such alias"):
        three.delete_alias("m", "champion", actor="a", reason="r")
    assert three.alias_history("m") == []
