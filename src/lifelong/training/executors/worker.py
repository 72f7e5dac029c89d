"""The worker side of a training job: snapshot in, bundle into the artifact store out.

:func:`run_job` is a plain top-level function of JSON in, JSON out: Ray ships it as a task,
and ``python -m lifelong.training.executors`` serves it over stdin/stdout for the
local executor (JSON lines only: nothing is pickled across the process boundary).
``isolated=True`` (a subprocess or a Ray worker, never the serving process) also seeds the
global random generators, for libraries that draw from them.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import platform
import random
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController, threadpool_limits

from lifelong.evaluation.metrics import get_metric
from lifelong.features import FeaturePipeline
from lifelong.learners import build_learner
from lifelong.registry.artifacts import ArtifactStore
from lifelong.registry.signing import Signer
from lifelong.training.bundle import ModelBundle
from lifelong.training.executors.base import JobResult, TrainingJob
from lifelong.training.snapshot import read_snapshot
from lifelong.training.trainer import Trainer, TrainingSpec
from lifelong.training.trainer_warm_start import WarmStart


def _holdout_metric(job: TrainingJob, bundle: ModelBundle, store: ArtifactStore) -> float | None:
    if job.holdout is None or job.metric is None:
        return None
    frame = read_snapshot(store, job.holdout)
    labeled = frame[frame[job.label].notna()]
    if not len(labeled):
        return None
    return get_metric(job.metric).compute(
        labeled[job.label].to_numpy(), bundle.predict_proba_frame(labeled), bundle.classes_
    )


def execute(job: TrainingJob, *, isolated: bool) -> JobResult:
    """Train ``job`` and store its bundle; see :func:`run_job`."""
    return train_job(job, isolated=isolated)[0]


_CONTROLLER: dict[int, ThreadpoolController] = {}


def _controller() -> ThreadpoolController:
    """This process's thread pools, scanned again only after more modules were imported.

    Scanning the loaded libraries costs milliseconds per job; a library that brings its own
    pool (OpenMP, BLAS) is loaded by an import, which changes ``len(sys.modules)``.
    """
    loaded = len(sys.modules)
    found = _CONTROLLER.get(loaded)
    if found is None:
        _CONTROLLER.clear()
        found = _CONTROLLER[loaded] = ThreadpoolController()
    return found


def train_job(
    job: TrainingJob,
    *,
    isolated: bool,
    frame: pd.DataFrame | None = None,
    store: ArtifactStore | None = None,
    keep: Path | None = None,
) -> tuple[JobResult, ModelBundle]:
    """Train ``job``, store its bundle, and return the result with the trained bundle itself.

    In the process that wrote the snapshot, ``frame`` is its rows (not read back), ``store``
    the artifact store it was written to, and ``keep`` an absent folder where the saved
    bundle stays (the caller copies it into the version's artifact instead of saving again).
    """
    if isolated:
        random.seed(job.seed)
        np.random.seed(job.seed)
    if store is None:
        store = ArtifactStore(Path(job.artifacts_root))
    if frame is None:
        frame = read_snapshot(store, job.snapshot)
    spec = TrainingSpec(
        learner_factory=functools.partial(
            build_learner, job.learner_kind, dict(job.learner_params)
        ),
        features=FeaturePipeline.from_dict(job.features),
        model_hash=job.model_hash,
        label=job.label,
        passthrough=job.passthrough,
        min_rows=job.min_rows,
        weight=job.weight,
        warm_start=None if job.warm_start is None else WarmStart.from_dict(job.warm_start),
    )
    # Scratch space only for what is materialized or saved here (not for a bundle kept in ``keep``).
    teaching = job.warm_start is not None and job.teacher_artifact is not None
    scratch = keep is None or job.parent_artifact is not None or teaching
    with tempfile.TemporaryDirectory(prefix="lifelong-worker-") if scratch else contextlib.nullcontext("") as tmp:
        parent = None
        if job.parent_artifact is not None:
            parent = ModelBundle.load(
                store.materialize(job.parent_artifact, Path(tmp) / "parent"),
                signer=Signer.from_file(store.root.parent / "signing.key"),
            )
        teacher = None
        if job.warm_start is not None and job.teacher_artifact is not None:
            teacher = ModelBundle.load(
                store.materialize(job.teacher_artifact, Path(tmp) / "teacher"),
                signer=Signer.from_file(store.root.parent / "signing.key"),
            )
        limits = threadpool_limits(limits=job.threads) if isolated else _controller().limit(limits=job.threads)
        with limits:
            trained = Trainer().train(
                spec,
                frame,
                mode=job.mode,
                parent=parent,
                parent_version=job.parent_version,
                teacher=teacher,
                teacher_version=job.teacher_version,
            )
        out = keep if keep is not None else Path(tmp) / "bundle"
        trained.bundle.save(out)
        bundle_sha = store.put_directory(out)
    result = JobResult(
        name=job.name,
        bundle_sha256=bundle_sha,
        mode=trained.mode,
        iteration=trained.iteration,
        rows=trained.rows,
        cpu_seconds=trained.cpu_seconds,
        wall_seconds=trained.wall_seconds,
        holdout_metric=_holdout_metric(job, trained.bundle, store),
        worker={"pid": os.getpid(), "host": platform.node(), "isolated": isolated},
        warm_start=trained.warm_start,
    )
    return result, trained.bundle


def run_job(job: Mapping[str, Any], isolated: bool = True) -> dict[str, Any]:
    """Run the JSON job ``job`` and return the JSON :class:`JobResult`.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> from pathlib import Path
    >>> from lifelong.training.snapshot import write_snapshot
    >>> store = ArtifactStore(Path(tempfile.mkdtemp()))
    >>> rows = pd.DataFrame({"x": [0.1 * i for i in range(40)], "label": [i % 2 for i in range(40)]})
    >>> ref = write_snapshot(store, rows, start=None, end=None, source="doc")
    >>> job = TrainingJob(artifacts_root=str(store.root), snapshot=ref, learner_kind="sklearn",
    ...                   learner_params={"estimator": "sklearn.naive_bayes.GaussianNB", "params": {}},
    ...                   features={"numeric": ["x"]}, model_hash="m", mode="stateless")
    >>> result = run_job(job.to_dict(), isolated=False)
    >>> result["rows"], result["mode"], store.exists(result["bundle_sha256"])
    (40, 'stateless', True)
    """
    return execute(TrainingJob.from_dict(job), isolated=isolated).to_dict()


__all__ = ["execute", "main", "run_job", "serve", "train_job"]


def serve(commands: IO[str], answers: IO[str]) -> None:
    """Answer one JSON job per line of ``commands`` with one JSON line on ``answers``, until EOF."""
    for line in commands:
        if not line.strip():
            continue
        try:
            answer: dict[str, Any] = {"ok": True, "result": run_job(json.loads(line), True)}
        except Exception as exc:  # noqa: BLE001  # every failure goes back to the parent, named
            answer = {"ok": False, "error": type(exc).__name__, "message": str(exc)}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


def main() -> None:
    """``python -m lifelong.training.executors``: serve jobs on stdin/stdout.

    File descriptor 1 is pointed at stderr first, so that whatever a library prints (in
    Python or in C) cannot corrupt the answers, which go to a private copy of stdout.
    """
    answers_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    with os.fdopen(answers_fd, "w", encoding="utf-8") as answers:
        serve(sys.stdin, answers)
