"""Rebuild a version from its lineage and check that it predicts as recorded.

A version records its parent, its training snapshot (content-addressed) and the hash of the
spec it was trained under; at registration the orchestrator also stores that spec itself as
``pipeline.json`` inside the version's artifact (:func:`write_recorded_spec`, secrets
redacted), so the *recorded* spec is used even after the file changed. :func:`reproduce`
trains again — the parent's artifact updated on the snapshot for a stateful version, a fresh
learner fitted on it otherwise, or, for a version whose lineage names a warm start, the same
distillation or growth from the recorded champion — through the pipeline's executor, then compares both models'
probabilities on the snapshot rows: bit-for-bit for LightGBM and XGBoost (seeded, fixed
threads, deterministic mode), within ``tolerance`` for other families.

Examples
--------
>>> from lifelong.config import parse_config
>>> spec = parse_config({"name": "ctr", "registry_url": "postgresql+psycopg://u:secret@db/x",
...     "source": {"kind": "file", "path": "c.csv", "timestamp": "ts"},
...     "labels": {"kind": "column", "column": "y"},
...     "features": {"kind": "tabular", "numeric": ["x"]}, "model": {"kind": "lightgbm"}})
>>> recorded = recorded_spec(spec)
>>> recorded["config"]["registry_url"], recorded["config_hash"] == spec.config_hash()
('postgresql+psycopg://u:***@db/x', True)
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from lifelong.config import PipelineConfig
from lifelong.errors import ArtifactError, DataError, IntegrityError
from lifelong.provenance import library_versions
from lifelong.registry.types import TrainingMode
from lifelong.training.bundle import ModelBundle
from lifelong.training.executors import Executor, TrainingJob, load_result
from lifelong.training.snapshot import read_snapshot

if TYPE_CHECKING:
    from lifelong.runtime import Pipeline

RECORDED_SPEC = "pipeline.json"
EXACT_FAMILIES = frozenset({"lightgbm", "xgboost"})
DEFAULT_TOLERANCE = 1e-6


def _redact(url: str | None) -> str | None:
    if url is None:
        return None
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "***"


def recorded_spec(config: PipelineConfig) -> dict[str, Any]:
    """The spec as stored beside a version: its hash and its JSON (database password hidden)."""
    body = config.model_dump(mode="json", by_alias=True)
    body["registry_url"] = _redact(config.registry_url)
    return {"config_hash": config.config_hash(), "config": body}


_RECORDED_TEXT: dict[int, tuple[PipelineConfig, str]] = {}  # the last spec written, by identity


def write_recorded_spec(directory: Path, config: PipelineConfig) -> Path:
    """Write ``pipeline.json`` into a bundle directory before it is registered.

    A loop writes the same spec beside every version: its text is built once per config object.
    """
    path = Path(directory) / RECORDED_SPEC
    held = _RECORDED_TEXT.get(id(config))
    if held is None or held[0] is not config:
        held = (config, json.dumps(recorded_spec(config), indent=1, sort_keys=True))
        _RECORDED_TEXT.clear()
        _RECORDED_TEXT[id(config)] = held
    path.write_text(held[1], encoding="utf-8")
    return path


def read_recorded_spec(directory: Path) -> dict[str, Any] | None:
    """The spec a bundle directory recorded, or ``None`` for versions registered without one."""
    path = Path(directory) / RECORDED_SPEC
    if not path.is_file():
        return None
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{path}: expected the recorded spec as JSON: {exc}") from exc
    if not isinstance(body, dict) or not isinstance(body.get("config"), dict):
        raise ArtifactError(
            f"{path}: expected an object with a 'config' mapping, got {type(body).__name__}"
        )
    return body


@dataclass(frozen=True)
class ReproductionReport:
    """What was rebuilt, how it compares, and why it might legitimately differ."""

    model: str
    version: str
    matched: bool
    exact: bool
    tolerance: float
    rows: int
    max_abs_diff: float
    mismatched_rows: int
    mode: str
    parent: str | None
    spec_source: str
    recorded_config_hash: str
    current_config_hash: str
    notes: tuple[str, ...] = ()
    library_differences: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["notes"] = list(self.notes)
        data["library_differences"] = {k: list(v) for k, v in self.library_differences.items()}
        return data

    def lines(self) -> list[str]:
        """A readable report, verdict first."""
        rule = (
            "bit-for-bit"
            if self.exact
            else f"within {self.tolerance:g} (absolute, on probabilities)"
        )
        verdict = "reproduced" if self.matched else "MISMATCH"
        out = [
            f"{self.model} {self.version}: {verdict} — predictions compared {rule} on {self.rows} snapshot rows",
            f"  max |difference| {self.max_abs_diff:.3g}; rows that differ {self.mismatched_rows}",
            f"  rebuilt {self.mode} from {'parent ' + self.parent if self.parent else 'scratch'}; spec: {self.spec_source}",
        ]
        out += [f"  note: {note}" for note in self.notes]
        for name, (then, now) in sorted(self.library_differences.items()):
            out.append(f"  library {name}: recorded {then or '-'}, installed {now or '-'}")
        return out


def _spec_for(
    pipeline: Pipeline, recorded: dict[str, Any] | None, lineage_hash: str, version: str
) -> tuple[PipelineConfig, str, list[str]]:
    current_hash = pipeline.config.config_hash()
    notes: list[str] = []
    if recorded is None:
        if current_hash != lineage_hash:
            raise DataError(
                f"version {version}: records no spec (registered before specs were stored) and the current "
                f"file's config hash {current_hash[:12]} differs from the recorded {lineage_hash[:12]}; "
                "cannot rebuild it from the spec it was trained under"
            )
        return pipeline.config, "current file (its hash matches the recorded one)", notes
    if recorded.get("config_hash") != lineage_hash:
        raise IntegrityError(
            f"version {version}: {RECORDED_SPEC}: config_hash: expected the lineage's {lineage_hash[:12]}, "
            f"got {str(recorded.get('config_hash'))[:12]}"
        )
    config = PipelineConfig.model_validate(recorded["config"])
    if current_hash != lineage_hash:
        notes.append(
            f"the current file's config hash {current_hash[:12]} differs from the recorded {lineage_hash[:12]}; "
            f"the recorded spec ({RECORDED_SPEC} in the version's artifact) was used"
        )
    return config, f"recorded ({RECORDED_SPEC}, hash {lineage_hash[:12]})", notes


def reproduce(
    pipeline: Pipeline,
    model: str,
    version: str,
    *,
    tolerance: float | None = None,
    executor: Executor | None = None,
) -> ReproductionReport:
    """Rebuild ``model`` ``version`` from its parent, snapshot and recorded spec; compare predictions."""
    registry = pipeline.registry
    found = registry.get(model, version)
    lineage = found.lineage
    if lineage.snapshot is None:
        raise DataError(
            f"version {version}: records no training snapshot; there is nothing to rebuild it from"
        )
    with tempfile.TemporaryDirectory(prefix="lifelong-reproduce-") as tmp:
        artifact = registry.load_artifact(model, version, Path(tmp) / "recorded")
        recorded_bundle = ModelBundle.load(artifact, signer=registry.signer)
        recorded = read_recorded_spec(artifact)
    config, source, notes = _spec_for(pipeline, recorded, lineage.config_hash, version)
    challenger = lineage.trigger.get("challenger")
    model_config = None
    columns = None
    if challenger is not None:
        chosen = [c for c in config.evaluation.challengers if c.name == challenger]
        if not chosen:
            raise DataError(
                f"version {version}: challenger {challenger!r}: expected it in the recorded spec's evaluation.challengers, got none"
            )
        model_config, columns = chosen[0].model, chosen[0].features
    from lifelong.runtime import build_features

    rebuilt = dataclasses.replace(pipeline, config=config, features=build_features(config))
    mode = TrainingMode(lineage.mode)
    warm = lineage.trigger.get("warm_start")  # a model iteration started from this champion
    teacher = registry.get(model, str(warm["from"])) if isinstance(warm, dict) and warm.get("from") else None
    parent = (
        registry.get(model, lineage.parent)
        if mode is TrainingMode.STATEFUL and lineage.parent and teacher is None
        else None
    )
    job = TrainingJob.for_pipeline(
        rebuilt,
        lineage.snapshot,
        mode=mode,
        parent=parent,
        model=model_config,
        name=f"reproduce-{version}",
        teacher=teacher,
        columns=columns,
    )
    if job.model_hash != recorded_bundle.model_hash:
        notes.append(
            f"model hash of the rebuilt spec {job.model_hash[:12]} differs from the version's {recorded_bundle.model_hash[:12]}"
        )
    runner = executor or pipeline.executor
    (result,) = runner.run([job])
    rebuilt_bundle = load_result(result, registry.artifacts).bundle
    if result.mode is not mode:
        notes.append(f"the rebuild trained {result.mode.value}, the version was {mode.value}")
    rows = read_snapshot(registry.artifacts, lineage.snapshot)
    expected = recorded_bundle.predict_proba_frame(rows)
    actual = rebuilt_bundle.predict_proba_frame(rows)
    exact = recorded_bundle.learner.kind in EXACT_FAMILIES
    limit = 0.0 if exact else (DEFAULT_TOLERANCE if tolerance is None else float(tolerance))
    if expected.shape != actual.shape:
        notes.append(
            f"probability shapes differ: recorded {expected.shape}, rebuilt {actual.shape}"
        )
        difference, mismatched, matched = float("inf"), len(rows), False
    else:
        gap = np.abs(expected - actual)
        difference = float(gap.max()) if gap.size else 0.0
        mismatched = int(np.count_nonzero((gap > limit).any(axis=1))) if gap.size else 0
        matched = bool(np.array_equal(expected, actual)) if exact else difference <= limit
    then, now = dict(lineage.library_versions), library_versions()
    differences = {
        name: (then.get(name), now.get(name))
        for name in sorted(set(then) | set(now))
        if then.get(name) != now.get(name)
    }
    if differences and not matched:
        notes.append(
            "installed library versions differ from the recorded ones (listed below); that alone can explain a mismatch"
        )
    return ReproductionReport(
        model=model,
        version=version,
        matched=matched,
        exact=exact,
        tolerance=limit,
        rows=len(rows),
        max_abs_diff=difference,
        mismatched_rows=mismatched,
        mode=mode.value,
        parent=parent.version if parent is not None else None,
        spec_source=source,
        recorded_config_hash=lineage.config_hash,
        current_config_hash=pipeline.config.config_hash(),
        notes=tuple(notes),
        library_differences=differences,
    )


__all__ = [
    "DEFAULT_TOLERANCE",
    "EXACT_FAMILIES",
    "RECORDED_SPEC",
    "ReproductionReport",
    "read_recorded_spec",
    "recorded_spec",
    "reproduce",
    "write_recorded_spec",
]
