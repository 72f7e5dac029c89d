"""`lifelong reproduce`: rebuild versions from parent, snapshot and the recorded spec; detect mismatches."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from pipeline_support import write_spec, write_stream

from lifelong.config import load_config
from lifelong.errors import DataError
from lifelong.ingest import run_replay
from lifelong.registry.types import TrainingMode
from lifelong.runtime import Pipeline
from lifelong.training.reproduce import RECORDED_SPEC, read_recorded_spec, reproduce


def lifelong(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from lifelong.cli import main; main()", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four days replayed: 1.0 from scratch, then stateful 1.1, 1.2... (a spec file in the folder)."""
    tmp = tmp_path_factory.mktemp("reproduce")
    write_stream(tmp / "events.csv", days=4)
    path = write_spec(tmp)
    pipeline = Pipeline.open(load_config(path), project_dir=tmp)
    try:
        run_replay(pipeline, step=timedelta(hours=12))
    finally:
        pipeline.close()
    return tmp


def test_versions_reproduce_bit_for_bit_from_their_lineage(replayed: Path) -> None:
    pipeline = Pipeline.open(load_config(replayed / "lifelong.yaml"))
    try:
        versions = pipeline.registry.versions("churn")
        stateful = [v for v in versions if v.lineage.mode is TrainingMode.STATEFUL]
        assert versions[0].lineage.mode is TrainingMode.STATELESS and len(stateful) >= 2
        for version in (versions[0], stateful[-1]):
            report = reproduce(pipeline, "churn", version.version)
            assert report.matched and report.exact and report.max_abs_diff == 0.0, report.lines()
            assert report.rows == version.lineage.snapshot.rows  # type: ignore[union-attr]
            assert report.spec_source.startswith("recorded") and not report.notes
        assert report.parent == stateful[-1].lineage.parent and report.mode == "stateful"
        recorded = read_recorded_spec(
            pipeline.registry.load_artifact("churn", versions[0].version, replayed / "artifact")
        )
        assert recorded is not None and recorded["config_hash"] == versions[0].lineage.config_hash
    finally:
        pipeline.close()


def test_recorded_spec_wins_over_an_edited_file_and_a_tampered_version_is_reported(
    replayed: Path,
) -> None:
    edited = yaml.safe_load((replayed / "lifelong.yaml").read_text())
    edited["model"]["n_estimators"] = 5  # the file changed since the versions were trained
    (replayed / "edited.yaml").write_text(yaml.safe_dump(edited))
    pipeline = Pipeline.open(load_config(replayed / "edited.yaml"))
    try:
        v11 = pipeline.registry.get("churn", "1.1")
        report = reproduce(pipeline, "churn", "1.1")
        assert report.matched and "differs from the recorded" in report.notes[0]
        assert report.recorded_config_hash != report.current_config_hash
        # A version whose artifact is not what its lineage says (trained on other rows) must not pass.
        other = pipeline.registry.load_artifact("churn", "1.0", replayed / "other")
        (other / RECORDED_SPEC).write_text(
            (
                pipeline.registry.load_artifact("churn", "1.1", replayed / "spec-of-1.1")
                / RECORDED_SPEC
            ).read_text()
        )
        forged = pipeline.registry.register(
            "churn", other, lineage=v11.lineage, learner_kind="lightgbm"
        )
    finally:
        pipeline.close()
    result = lifelong("reproduce", "churn", forged.version, "-c", "lifelong.yaml", cwd=replayed)
    assert result.returncode == 1, result.stderr
    assert (
        f"churn {forged.version}: MISMATCH" in result.stdout and "rows that differ" in result.stdout
    )


def test_a_version_without_a_recorded_spec_needs_the_same_file(replayed: Path) -> None:
    pipeline = Pipeline.open(load_config(replayed / "edited.yaml"))
    try:
        bare = pipeline.registry.load_artifact("churn", "1.0", replayed / "bare")
        (bare / RECORDED_SPEC).unlink()
        old = pipeline.registry.register(
            "churn",
            bare,
            lineage=pipeline.registry.get("churn", "1.0").lineage,
            learner_kind="lightgbm",
        )
        with pytest.raises(DataError, match="records no spec .* differs from the recorded"):
            reproduce(pipeline, "churn", old.version)
    finally:
        pipeline.close()
    same = Pipeline.open(load_config(replayed / "lifelong.yaml"))
    try:
        report = reproduce(same, "churn", old.version)
        assert report.matched and report.spec_source.startswith("current file")
    finally:
        same.close()
