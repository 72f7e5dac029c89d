"""Executors: the same job in this process, in a spawned worker and as Ray tasks gives the same model."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from service_support import require

from lifelong.errors import ConfigError, NotFoundError, TrainingError
from lifelong.registry import ArtifactStore
from lifelong.registry.types import TrainingMode
from lifelong.training import write_snapshot
from lifelong.training.executors import InProcessExecutor, LocalExecutor, TrainingJob, load_result
from lifelong.training.executors.worker import run_job


def _rows(seed: int, n: int = 400, flip: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    y = ((x[:, 0] * (-1 if flip else 1) + 0.5 * x[:, 1]) > 0).astype(int)
    return pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "label": y})


def _job(store: ArtifactStore, rows: pd.DataFrame, **changes: object) -> TrainingJob:
    snapshot = write_snapshot(store, rows, start=None, end=None, source="test")
    base: dict[str, object] = {
        "artifacts_root": str(store.root),
        "snapshot": snapshot,
        "learner_kind": "lightgbm",
        "learner_params": {"n_estimators": 20, "update_estimators": 5, "num_leaves": 7},
        "features": {"numeric": ["x1", "x2"]},
        "model_hash": "h",
        "mode": TrainingMode.STATELESS,
    }
    base.update(changes)
    return TrainingJob(**base)  # type: ignore[arg-type]


def test_local_worker_trains_like_this_process_continues_a_parent_and_reports_failures(
    tmp_path: Path,
) -> None:
    store = ArtifactStore(tmp_path / "artifacts")
    probe = _rows(9, n=50)
    first = _job(store, _rows(0))
    with LocalExecutor(workers=2, timeout=120) as local:
        here, there = InProcessExecutor().run([first])[0], local.run([first])[0]
        assert there.worker["pid"] != os.getpid() and there.worker["isolated"]
        assert here.bundle_sha256 == there.bundle_sha256  # byte-identical bundles
        parent = load_result(there, store)
        update = _job(
            store,
            _rows(1, flip=True),
            mode=TrainingMode.STATEFUL,
            parent_artifact=there.bundle_sha256,
            parent_version="1.0",
        )
        stateless = _job(store, _rows(1, flip=True))
        both = local.run([update, stateless])
        with pytest.raises(TrainingError, match="exactly 2 classes"):
            local.run([_job(store, _rows(0).assign(label=1))])
        local.timeout = 0.01
        with pytest.raises(
            TrainingError, match="to finish within 0.01 s, they did not; workers stopped"
        ):
            local.run([_job(store, _rows(0, n=20000), learner_params={"n_estimators": 400})])
        local.timeout = 120
        assert local.run([first])[0].bundle_sha256 == here.bundle_sha256  # a fresh worker took over
    assert [r.mode for r in both] == [TrainingMode.STATEFUL, TrainingMode.STATELESS]
    continued = load_result(both[0], store).bundle
    assert continued.learner.num_rounds == parent.bundle.learner.num_rounds + 5  # type: ignore[attr-defined]
    assert not np.array_equal(
        continued.predict_proba_frame(probe), parent.bundle.predict_proba_frame(probe)
    )
    assert both[0].cpu_seconds > 0 and both[0].rows == 400
    with pytest.raises(ConfigError, match="workers: expected an integer >= 1, got 0"):
        LocalExecutor(workers=0)
    with pytest.raises(ConfigError, match="job: expected a training job mapping"):
        run_job({"snapshot": None})


def test_ray_trains_and_scores_several_challengers_in_parallel(tmp_path: Path) -> None:
    try:
        import ray
    except ImportError:
        ray = None
    require(ray is not None, "ray is not installed (extra 'ray')")
    from lifelong.training.executors.ray import RayExecutor

    store = ArtifactStore(tmp_path / "artifacts")
    holdout = write_snapshot(store, _rows(5, n=300), start=None, end=None, source="holdout")
    jobs = [
        _job(
            store,
            _rows(0),
            learner_params={"n_estimators": 20, "num_leaves": leaves},
            holdout=holdout,
            metric="roc_auc",
            name=f"leaves-{leaves}",
        )
        for leaves in (3, 7, 15)
    ]
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        executor = RayExecutor()
        results = executor.run(jobs)
        executor.close()
        assert ray.is_initialized()  # a Ray the caller started is left running
    finally:
        ray.shutdown()
    assert [r.name for r in results] == ["leaves-3", "leaves-7", "leaves-15"]
    assert len({r.worker["pid"] for r in results}) >= 2 and all(
        r.worker["pid"] != os.getpid() for r in results
    )
    assert all(r.holdout_metric is not None and r.holdout_metric > 0.9 for r in results)
    local = InProcessExecutor().run([jobs[1]])[0]
    assert (
        local.bundle_sha256 == results[1].bundle_sha256
        and local.holdout_metric == results[1].holdout_metric
    )


def test_the_loop_trains_in_a_worker_process_and_registers_what_it_wrote(tmp_path: Path) -> None:
    from datetime import timedelta

    from pipeline_support import write_spec, write_stream

    from lifelong.config import load_config
    from lifelong.ingest import run_replay
    from lifelong.runtime import Pipeline
    from lifelong.training.reproduce import reproduce

    write_stream(tmp_path / "events.csv", days=3, per_hour=10)
    training = {
        "mode": "stateful",
        "window": "2d",
        "holdout": "6h",
        "min_rows": 50,
        "executor": {"kind": "local", "timeout": "2m"},
    }
    pipeline = Pipeline.open(load_config(write_spec(tmp_path, training=training)))
    try:
        assert isinstance(pipeline.executor, LocalExecutor)
        run_replay(pipeline, step=timedelta(hours=12))
        versions = pipeline.registry.versions("churn")
        assert len(versions) >= 2 and all(v.metrics["executor"] == "local" for v in versions)
        assert versions[-1].lineage.mode is TrainingMode.STATEFUL
        # Trained in this process from the same lineage, the model is bit-for-bit the one the worker wrote.
        report = reproduce(pipeline, "churn", versions[-1].version, executor=InProcessExecutor())
        assert report.matched and report.exact
    finally:
        pipeline.close()
    assert pipeline.executor._pool == []  # type: ignore[attr-defined]  # closing the pipeline stops its workers


def test_the_spec_selects_the_executor_and_names_bad_fields() -> None:
    from lifelong.config import parse_config
    from lifelong.training.executors import build_executor

    base = {
        "name": "x",
        "source": {"kind": "file", "path": "a.csv", "timestamp": "ts"},
        "labels": {"kind": "column", "column": "y"},
        "features": {"kind": "tabular", "numeric": ["a"]},
        "model": {"kind": "lightgbm"},
    }
    assert isinstance(build_executor(parse_config(base).training.executor), InProcessExecutor)
    local = build_executor(
        parse_config(
            {**base, "training": {"executor": {"kind": "local", "workers": 3, "timeout": "90s"}}}
        ).training.executor
    )
    assert isinstance(local, LocalExecutor) and local.workers == 3 and local.timeout == 90.0
    ray_spec = parse_config(
        {**base, "training": {"executor": {"kind": "ray", "address": "ray://head:10001"}}}
    )
    assert ray_spec.training.executor.address == "ray://head:10001"  # type: ignore[union-attr]
    with pytest.raises(
        ConfigError,
        match="training.executor.kind: expected one of 'inprocess', 'local', 'ray', got 'cluster'",
    ):
        parse_config({**base, "training": {"executor": {"kind": "cluster"}}})
    with pytest.raises(
        ConfigError,
        match="training.recalibration.every: expected greater than or equal to 1, got 0",
    ):
        parse_config({**base, "training": {"recalibration": {"every": 0}}})


def test_in_process_training_uses_the_rows_just_written_and_keeps_the_saved_bundle(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "artifacts")
    rows = _rows(3).assign(city=["a", "b"] * 200)
    job = _job(store, rows, features={"numeric": ["x1", "x2"], "categorical": {"city": ["a", "b"]}})
    reference = run_job(job.to_dict(), isolated=False)["bundle_sha256"]  # trained on the rows read back
    executor = InProcessExecutor()
    store.path_of(job.snapshot.sha256).unlink()  # a read of the snapshot would now fail
    with pytest.raises(NotFoundError, match=job.snapshot.sha256):
        executor.run([job])
    (result,) = executor.run_written([job], frames={job.snapshot.sha256: rows}, store=store)
    assert result.bundle_sha256 == reference  # the same bytes as training on the stored snapshot
    saved = executor.saved_bundle(result)
    assert saved is not None
    manifest = store.read_manifest(result.bundle_sha256)
    on_disk = {str(path.relative_to(saved)) for path in saved.rglob("*") if path.is_file()}
    assert on_disk == set(manifest)
    assert all(ArtifactStore._hash_path(saved / name) == entry["sha256"] for name, entry in manifest.items())
    assert executor.load(result, store).bundle is not None
    other = ArtifactStore(tmp_path / "elsewhere")  # a store the job was not written to: read as usual
    with pytest.raises(NotFoundError, match=job.snapshot.sha256):
        executor.run_written([job], frames={job.snapshot.sha256: rows}, store=other)
    assert not saved.exists()  # released with the next batch
    executor.close()
