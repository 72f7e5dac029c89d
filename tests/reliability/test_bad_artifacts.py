"""A corpus of hostile artifacts: none is executed, written outside its folder, or served.

Pickle payloads (which would create a marker file if they were ever unpickled) planted where a
learner's state belongs; tampered and truncated blobs; path traversal in artifact references
(``../``, absolute paths, backslashes, drive letters and URL schemes in manifest names and in
stored references); a symlink escaping the artifact root. Each is refused with an error that
names the problem, and the champion keeps serving.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from pipeline_support import write_spec, write_stream
from reliability_support import PassedCases, Record

from lifelong.config import load_config
from lifelong.errors import ConfigError, IntegrityError, LifelongError, UnsafeArtifactError
from lifelong.ingest import run_replay
from lifelong.learners import build_learner
from lifelong.registry import Iteration, Lineage, Registry, TrainingMode
from lifelong.registry.schema import versions as versions_table
from lifelong.registry.signing import Signer
from lifelong.runtime import Pipeline
from lifelong.serving.registry_loader import RegistryModelLoader, build_app
from lifelong.training.snapshot import read_snapshot

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from starlette.testclient import TestClient

TOKEN = "artifact-admin"


class Payload:
    """Unpickling this runs ``touch marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def _lineage() -> Lineage:
    return Lineage(
        parent=None,
        mode=TrainingMode.STATELESS,
        iteration=Iteration.MODEL,
        snapshot=None,
        config_hash="c",
        code_version="0",
        git_commit=None,
        library_versions={},
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Pipeline, Path]]:
    folder = tmp_path_factory.mktemp("artifacts")
    write_stream(folder / "events.csv", days=3, seed=6)
    pipeline = Pipeline.open(load_config(write_spec(folder)))
    run_replay(pipeline, step=timedelta(hours=12))
    champion = pipeline.registry.alias_version("churn", "champion")
    assert champion is not None
    template = pipeline.registry.load_artifact("churn", champion, folder / "template")
    try:
        yield pipeline, template
    finally:
        pipeline.close()


def _variant(template: Path, folder: Path, name: str) -> Path:
    """A copy of the champion's bundle with a unique spec (so its blobs are its own)."""
    target = folder / name
    shutil.copytree(template, target)
    os.chmod(target, 0o755)
    for path in target.rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    spec = json.loads((target / "spec.json").read_text())
    (target / "spec.json").write_text(json.dumps({**spec, "note": name}))
    (target / "notes.txt").write_text(f"unique notes of {name}\n" * 100)
    return target


def _planted(template: Path, folder: Path, kind: str, payload: bytes) -> Path:
    """A bundle whose learner is a fitted ``kind`` learner with its state file replaced by ``payload``."""
    bundle = _variant(template, folder, f"planted-{kind}")
    learner_dir = bundle / "learner"
    shutil.rmtree(learner_dir)
    params = (
        {"estimator": "sklearn.linear_model.LogisticRegression"}
        if kind == "sklearn"
        else {"model": "hoeffding_adaptive_tree"}
    )
    learner = build_learner(kind, params)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 5))
    learner.fit(X, (X[:, 0] > 0).astype(int))
    if kind == "river":
        learner.save(learner_dir, signer=Signer(b"the-test-key-of-32-bytes-long!!!"))  # type: ignore[call-arg]
    else:
        learner.save(learner_dir)
    state = {"sklearn": "model.skops", "river": "model.signed"}[kind]
    assert (learner_dir / state).is_file()
    (learner_dir / state).write_bytes(payload)
    return bundle


def test_the_payload_would_run_if_unpickled(tmp_path: Path) -> None:
    """Control: the marker check works (the payload really executes under plain pickle)."""
    marker = tmp_path / "control-marker"
    payload = pickle.dumps(Payload(marker))
    subprocess.run(
        [sys.executable, "-c", "import pickle, sys; pickle.loads(sys.stdin.buffer.read())"],
        input=payload,
        check=True,
    )
    assert marker.exists()


@pytest.mark.parametrize(
    ("kind", "wrap"),
    [
        ("sklearn", lambda raw: raw),  # a raw pickle where the skops zip belongs
        ("river", lambda raw: raw),  # a raw pickle where the signed envelope belongs
        (
            "river",
            lambda raw: b"LIFELONG-SIGNED-PICKLE/1\n" + b"0" * 64 + b"\n" + raw,
        ),  # forged signature
    ],
    ids=["sklearn-raw-pickle", "river-raw-pickle", "river-forged-signature"],
)
def test_pickle_payload_never_executes(
    kind: str, wrap: Callable[[bytes], bytes], project: tuple[Pipeline, Path], tmp_path: Path
) -> None:
    pipeline, template = project
    marker = tmp_path / "pwned"
    bundle = _planted(template, tmp_path, kind, wrap(pickle.dumps(Payload(marker))))
    version = pipeline.registry.register(
        "churn", bundle, lineage=_lineage(), learner_kind=kind
    ).version
    with pytest.raises(LifelongError) as refused:  # ArtifactError; for River, no key: ConfigError
        RegistryModelLoader(pipeline.registry).load("churn", version)
    assert any(
        word in str(refused.value)
        for word in ("model.skops", "model.signed", "signature", "Signer")
    )
    champion = pipeline.registry.alias_version("churn", "champion")
    app = build_app(pipeline.registry, pipeline.store, admin_token=TOKEN)
    with TestClient(app) as client:
        response = client.post(
            "/admin/models/churn/promote",
            json={"version": version, "reason": "attack"},
            headers={"authorization": f"Bearer {TOKEN}"},
        )
        assert response.status_code == 200 and response.json()["serving"] == champion
        assert response.json()["serving_error"]  # the load error is reported, not hidden
        answer = client.post(
            "/predict",
            json={"model": "churn", "rows": [{"x1": 0, "x2": 0, "x3": 0, "segment": "a"}]},
        )
        assert answer.status_code == 200 and answer.headers["x-model-version"] == champion
    pipeline.registry.set_alias(
        "churn", "champion", champion, actor="test", reason="undo the attack"
    )
    assert not marker.exists(), "the pickle payload ran"


def test_skops_file_naming_an_untrusted_type_is_refused(
    project: tuple[Pipeline, Path], tmp_path: Path
) -> None:
    import skops.io as sio

    pipeline, template = project
    bundle = _planted(template, tmp_path, "sklearn", b"")
    sio.dump({"payload": Payload(tmp_path / "pwned")}, bundle / "learner" / "model.skops")
    version = pipeline.registry.register(
        "churn", bundle, lineage=_lineage(), learner_kind="sklearn"
    ).version
    with pytest.raises(UnsafeArtifactError, match="Payload"):
        RegistryModelLoader(pipeline.registry).load("churn", version)
    assert not (tmp_path / "pwned").exists()


def _blob_of(registry: Registry, version: str, name: str) -> Path:
    manifest = registry.artifacts.read_manifest(registry.get("churn", version).artifact_sha256)
    path = registry.artifacts.path_of(manifest[name]["sha256"])
    os.chmod(path, 0o644)
    return path


@pytest.mark.parametrize("damage", ["tampered", "truncated", "emptied"])
def test_damaged_blob_is_refused(
    damage: str, project: tuple[Pipeline, Path], tmp_path: Path
) -> None:
    pipeline, template = project
    bundle = _variant(template, tmp_path, f"damaged-{damage}")
    version = pipeline.registry.register(
        "churn", bundle, lineage=_lineage(), learner_kind="lightgbm"
    ).version
    blob = _blob_of(pipeline.registry, version, "notes.txt")
    data = blob.read_bytes()
    blob.write_bytes(
        {
            "tampered": data[:10] + b"X" + data[11:],
            "truncated": data[: len(data) // 2],
            "emptied": b"",
        }[damage]
    )
    with pytest.raises(IntegrityError, match="corrupt, truncated or was tampered"):
        pipeline.registry.load_artifact("churn", version, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing half-written


ESCAPES = [
    "../escaped.txt",
    "a/../../escaped.txt",
    "/tmp/escaped.txt",
    "a\\..\\escaped.txt",
    "C:/escaped.txt",
    "http://evil.example/escaped.txt",
    "file:///tmp/escaped.txt",
    "//server/share/escaped.txt",
    "a/./b",
    "",
]


@pytest.mark.parametrize("name", ESCAPES, ids=[repr(n) for n in ESCAPES])
def test_manifest_names_that_escape_are_refused(
    name: str, project: tuple[Pipeline, Path], tmp_path: Path
) -> None:
    pipeline, _ = project
    store = pipeline.registry.artifacts
    blob = store.put_bytes(b"escaped!")
    manifest = store.put_bytes(json.dumps({name: {"sha256": blob, "size": 8}}).encode())
    with pytest.raises(UnsafeArtifactError, match="refused|expected a non-empty"):
        store.materialize(manifest, tmp_path / "dest")
    assert not (tmp_path / "escaped.txt").exists() and not Path("/tmp/escaped.txt").exists()


def test_percent_encoded_names_stay_literal_and_inside(
    project: tuple[Pipeline, Path], tmp_path: Path
) -> None:
    store = project[0].registry.artifacts
    blob = store.put_bytes(b"literal")
    manifest = store.put_bytes(
        json.dumps({"..%2f..%2fescaped.txt": {"sha256": blob, "size": 7}}).encode()
    )
    out = store.materialize(manifest, tmp_path / "dest")
    assert [p.name for p in out.iterdir()] == ["..%2f..%2fescaped.txt"]


@pytest.mark.parametrize(
    "reference", ["../../../../etc/passwd", "/etc/passwd", "a" * 64 + "/../x", "http://evil/x"]
)
def test_stored_references_that_are_not_hashes_are_refused(
    reference: str, project: tuple[Pipeline, Path], tmp_path: Path
) -> None:
    """A registry row edited to point anywhere but a content hash (a tampered database)."""
    pipeline, template = project
    bundle = _variant(template, tmp_path, "reference")
    version = pipeline.registry.register(
        "churn", bundle, lineage=_lineage(), learner_kind="lightgbm"
    ).version
    engine = sa.create_engine(pipeline.registry.url)
    try:
        with engine.begin() as conn:
            conn.execute(
                versions_table.update()
                .where(versions_table.c.version == version)
                .values(artifact_sha256=reference)
            )
    finally:
        engine.dispose()
    with pytest.raises(ConfigError, match="expected 64 lowercase hex"):
        pipeline.registry.load_artifact("churn", version, tmp_path / "out")
    snapshot = pipeline.registry.get("churn", "1.0").lineage.snapshot
    assert snapshot is not None
    with pytest.raises(ConfigError, match="expected 64 lowercase hex"):
        read_snapshot(
            pipeline.registry.artifacts, type(snapshot)(uri=reference, sha256=reference, rows=1)
        )


def test_blob_replaced_by_a_symlink_out_of_the_store_is_refused(
    project: tuple[Pipeline, Path], tmp_path: Path
) -> None:
    pipeline, template = project
    bundle = _variant(template, tmp_path, "symlinked")
    version = pipeline.registry.register(
        "churn", bundle, lineage=_lineage(), learner_kind="lightgbm"
    ).version
    blob = _blob_of(pipeline.registry, version, "notes.txt")
    outside = tmp_path / "outside.txt"
    outside.write_bytes(blob.read_bytes())  # same bytes, so only the link itself is wrong
    blob.unlink()
    blob.symlink_to(outside)
    with pytest.raises(UnsafeArtifactError, match="symlink"):
        pipeline.registry.load_artifact("churn", version, tmp_path / "out")


def test_model_folder_with_a_symlink_escaping_it_is_refused(
    project: tuple[Pipeline, Path], tmp_path: Path
) -> None:
    pipeline, template = project
    bundle = _variant(template, tmp_path, "with-link")
    (bundle / "learner" / "passwd").symlink_to("/etc/passwd")
    before = len(pipeline.registry.versions("churn"))
    with pytest.raises(UnsafeArtifactError, match="symlinks are refused"):
        pipeline.registry.register("churn", bundle, lineage=_lineage(), learner_kind="lightgbm")
    assert len(pipeline.registry.versions("churn")) == before


CORPUS = (
    "test_pickle_payload_never_executes",
    "test_skops_file_naming_an_untrusted_type_is_refused",
    "test_damaged_blob_is_refused",
    "test_manifest_names_that_escape_are_refused",
    "test_percent_encoded_names_stay_literal_and_inside",
    "test_stored_references_that_are_not_hashes_are_refused",
    "test_blob_replaced_by_a_symlink_out_of_the_store_is_refused",
    "test_model_folder_with_a_symlink_escaping_it_is_refused",
)


def test_corpus_leaves_the_champion_serving(
    project: tuple[Pipeline, Path], tmp_path: Path, reliability: Record, passed_cases: PassedCases
) -> None:
    pipeline, _ = project
    champion = pipeline.registry.alias_version("churn", "champion")
    assert champion is not None
    loaded = RegistryModelLoader(pipeline.registry).load("churn", champion)
    assert loaded.version == champion
    reliability(
        "bad input: artifacts",
        cases_passed=passed_cases(*CORPUS),
        executed_payloads=0,
        escapes=0,
        champion_serving=True,
    )
