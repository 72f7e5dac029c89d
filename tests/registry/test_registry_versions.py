"""Version numbering, lineage and the metadata recorded with each version."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from lifelong.clock import ManualClock
from lifelong.errors import ConfigError, NotFoundError, ValidationError
from lifelong.registry import Iteration, Lineage, Registry, SnapshotRef, TrainingMode

MakeLineage = Callable[..., Lineage]


def test_version_numbering_data_and_model_iterations(
    registry: Registry, model_dir: Path, lineage: MakeLineage
) -> None:
    def register(parent: str | None, iteration: Iteration = Iteration.DATA) -> str:
        lin = lineage(parent, iteration=iteration)
        return registry.register("churn", model_dir, lineage=lin, learner_kind="sklearn").version

    assert register(None) == "1.0"
    assert register("1.0") == "1.1"
    assert register("1.1") == "1.2"
    assert register("1.2", Iteration.MODEL) == "2.0"
    # a data iteration from an older parent takes the next free MINOR of the parent's MAJOR
    assert register("1.1") == "1.3"
    assert register("2.0") == "2.1"
    assert register(None, Iteration.MODEL) == "3.0"
    assert register(None) == "3.1"  # the same model retrained from scratch, no parent: the latest MAJOR
    assert [v.version for v in registry.versions("churn")] == [
        "1.0", "1.1", "1.2", "1.3", "2.0", "2.1", "3.0", "3.1",
    ]  # fmt: skip
    latest = registry.latest("churn")
    assert latest is not None and latest.version == "3.1"
    assert registry.models() == ["churn"]
    assert registry.versions("unknown") == []
    assert registry.latest("unknown") is None


def test_lineage_chain_and_recorded_fields(
    registry: Registry, model_dir: Path, lineage: MakeLineage, clock: ManualClock
) -> None:
    start = datetime(2024, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=2)))
    snapshot = SnapshotRef(
        uri="file:///snapshots/abc.parquet",
        sha256="b" * 64,
        rows=1234,
        start=start,
        end=start + timedelta(days=1),
        source="events",
        stats={"positive_rate": 0.25},
    )
    root = registry.register("m", model_dir, lineage=lineage(None), learner_kind="river")
    clock.advance(timedelta(minutes=5))
    child = registry.register(
        "m",
        model_dir,
        lineage=lineage("1.0", snapshot=snapshot),
        learner_kind="river",
        metrics={"accuracy": 0.9, "nan_metric": float("nan")},
    )
    grandchild = registry.register("m", model_dir, lineage=lineage("1.1"), learner_kind="river")
    registry.register("m", model_dir, lineage=lineage("1.0"), learner_kind="river")  # sibling
    chain = registry.lineage("m", grandchild.version)
    assert [v.version for v in chain] == ["1.2", "1.1", "1.0"]
    assert chain[-1].parent is None and chain[0].parent == "1.1"
    assert [v.version for v in registry.lineage("m", "1.0")] == ["1.0"]

    got = registry.get("m", "1.1")
    assert got == child
    assert got.lineage.snapshot == snapshot
    assert got.lineage.snapshot is not None and got.lineage.snapshot.start is not None
    assert got.lineage.snapshot.start.tzinfo is not None
    assert got.lineage.mode is TrainingMode.STATEFUL
    assert got.lineage.trigger == {"kind": "volume", "rows": 1000}
    assert got.lineage.library_versions == {"scikit-learn": "1.9.1"}
    assert got.lineage.git_commit == "a" * 40
    assert got.metrics == {"accuracy": 0.9, "nan_metric": None}
    assert got.created_at == datetime(2024, 3, 4, 12, 5, tzinfo=UTC)
    assert got.created_at.utcoffset() == timedelta(0)
    assert root.created_at < got.created_at
    assert got.artifact_sha256 == root.artifact_sha256  # same content, same blob
    assert got.status == "registered" and got.learner_kind == "river"


def test_missing_parent_and_versions_are_not_found(
    registry: Registry, model_dir: Path, lineage: MakeLineage
) -> None:
    with pytest.raises(NotFoundError, match=r"'ghost'.*no such model"):
        registry.register("ghost", model_dir, lineage=lineage("1.0"), learner_kind="k")
    registry.register("m", model_dir, lineage=lineage(None), learner_kind="k")
    with pytest.raises(
        NotFoundError, match=r"model 'm': no version '4.2' \(1 versions, latest 1.0\)"
    ):
        registry.get("m", "4.2")
    with pytest.raises(NotFoundError, match="'7.0'"):
        registry.register("m", model_dir, lineage=lineage("7.0"), learner_kind="k")
    with pytest.raises(NotFoundError, match="'3.3'"):
        registry.lineage("m", "3.3")
    assert [v.version for v in registry.versions("m")] == ["1.0"]


def test_evaluation_metrics_and_status(
    registry: Registry, model_dir: Path, lineage: MakeLineage
) -> None:
    registry.register("m", model_dir, lineage=lineage(None), learner_kind="k", metrics={"a": 1})
    updated = registry.update_metrics("m", "1.0", {"b": 2.5, "a": 3})
    assert updated.metrics == {"a": 3, "b": 2.5}
    report = {"verdict": "passed", "gates": [{"name": "auc", "delta": 0.01}]}
    evaluated = registry.record_evaluation("m", "1.0", report, status="passed")
    assert evaluated.evaluation == report and evaluated.status == "passed"
    assert registry.get("m", "1.0").evaluation == report
    assert registry.set_status("m", "1.0", "rejected").status == "rejected"
    with pytest.raises(NotFoundError):
        registry.update_metrics("m", "9.9", {"x": 1})


def test_bad_arguments_name_the_parameter(
    sqlite_registry: Registry, model_dir: Path, lineage: MakeLineage
) -> None:
    reg = sqlite_registry
    with pytest.raises(ConfigError, match="model: expected"):
        reg.register("../etc", model_dir, lineage=lineage(None), learner_kind="k")
    with pytest.raises(ConfigError, match="lineage.parent: expected 'MAJOR.MINOR'"):
        reg.register("m", model_dir, lineage=lineage("1.x"), learner_kind="k")
    with pytest.raises(ConfigError, match="version: expected 'MAJOR.MINOR'"):
        reg.get("m", "01.0")
    with pytest.raises(ValidationError, match=r"metrics.when: expected JSON-compatible"):
        reg.register(
            "m", model_dir, lineage=lineage(None), learner_kind="k", metrics={"when": object()}
        )
    reg.register("m", model_dir, lineage=lineage(None), learner_kind="k")
    with pytest.raises(ConfigError, match="status: expected"):
        reg.record_evaluation("m", "1.0", {}, status="Not A Status")
    with pytest.raises(ConfigError, match="url: expected a database URL"):
        Registry("not a url", reg.artifacts)


def test_open_defaults_and_artifact_round_trip(
    tmp_path: Path, model_dir: Path, lineage: MakeLineage
) -> None:
    home = tmp_path / ".lifelong"
    with Registry.open(home) as reg:
        version = reg.register("m", model_dir, lineage=lineage(None), learner_kind="k")
        out = reg.load_artifact("m", version.version, tmp_path / "loaded")
        assert (out / "model.json").read_text() == '{"kind": "test"}'
        assert (out / "state" / "weights.bin").read_bytes() == bytes(range(256)) * 4
        assert reg.url == f"sqlite:///{home / 'registry.db'}"
    assert (home / "registry.db").is_file()
    assert (home / "artifacts" / "sha256").is_dir()
    with Registry.open(home) as again:  # reopening keeps everything
        assert again.get("m", "1.0") == version
