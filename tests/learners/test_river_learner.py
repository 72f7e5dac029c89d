"""RiverLearner: online learning, signed checkpoints refused unless they verify, the key."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from learner_support import TEST_SIGNER

from lifelong.config import PipelineConfig
from lifelong.errors import (
    ArtifactError,
    ConfigError,
    IntegrityError,
    UnsafeArtifactError,
    ValidationError,
)
from lifelong.learners import RiverLearner, build_learner, load_learner
from lifelong.learners.river import STATE_FILE, home_signer
from lifelong.learners.signed_pickle import MAGIC
from lifelong.registry.signing import Signer
from lifelong.runtime import learner_params
from lifelong.testing import drifting_binary


class _TouchesMarker:
    """Unpickling this creates the marker file: it stands for code an attacker wants run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


def _saved(tmp_path: Path, **params: Any) -> tuple[RiverLearner, Path]:
    X, y = drifting_binary()
    learner = RiverLearner(signer=TEST_SIGNER, **params).fit(X, y)
    directory = tmp_path / "learner"
    learner.save(directory)
    return learner, directory


@pytest.mark.parametrize("model", ["hoeffding_adaptive_tree", "arf", "logistic_regression"])
def test_each_model_learns_and_continues(model: str) -> None:
    X, y = drifting_binary(n_rows=600)
    probe, truth = drifting_binary(seed=7, n_rows=300)
    learner = RiverLearner(model=model, n_models=3).fit(X, y)  # type: ignore[arg-type]
    assert np.mean(learner.predict(probe) == truth) > 0.75
    X2, y2 = drifting_binary(seed=1, n_rows=600, drift=1.0)
    probe2, truth2 = drifting_binary(seed=8, n_rows=300, drift=1.0)
    before = np.mean(learner.predict(probe2) == truth2)
    learner.update(X2, y2)
    assert learner.rows_seen == 1200
    assert np.mean(learner.predict(probe2) == truth2) > before


def test_update_is_learning_the_concatenated_stream() -> None:
    """Online learners: fit on A then update on B is exactly learning A followed by B."""
    X, y = drifting_binary()
    X2, y2 = drifting_binary(seed=1, drift=1.0)
    probe = drifting_binary(seed=9, n_rows=50)[0]
    for model in ("hoeffding_adaptive_tree", "logistic_regression"):
        stepwise = RiverLearner(model=model).fit(X, y).update(X2, y2)  # type: ignore[arg-type]
        at_once = RiverLearner(model=model).fit(np.vstack([X, X2]), np.concatenate([y, y2]))  # type: ignore[arg-type]
        np.testing.assert_array_equal(stepwise.predict_proba(probe), at_once.predict_proba(probe))


def test_the_checkpoint_is_a_signed_envelope_that_round_trips(tmp_path: Path) -> None:
    learner, directory = _saved(tmp_path, model="arf", n_models=3)
    body = (directory / STATE_FILE).read_bytes()
    assert body.startswith(MAGIC) and body[0] != 0x80
    manifest = json.loads((directory / "learner.json").read_text())
    assert "signer" not in manifest["params"] and "key" not in json.dumps(manifest)
    loaded = load_learner(directory, signer=TEST_SIGNER)
    X, _ = drifting_binary(seed=3, n_rows=40)
    np.testing.assert_array_equal(loaded.predict_proba(X), learner.predict_proba(X))
    # the loaded learner keeps the signer, so an update can be saved again
    X2, y2 = drifting_binary(seed=1, drift=1.0)
    loaded.update(X2, y2).save(tmp_path / "again")
    RiverLearner.load(tmp_path / "again", signer=TEST_SIGNER)


def test_a_tampered_checkpoint_is_refused_and_never_executed(tmp_path: Path) -> None:
    _, directory = _saved(tmp_path)
    marker = tmp_path / "executed.marker"
    payload = pickle.dumps(_TouchesMarker(marker), protocol=5)
    # the payload works: unpickling it does create the marker (so the test can fail)
    proof = tmp_path / "proof.marker"
    pickle.loads(pickle.dumps(_TouchesMarker(proof), protocol=5)).close()
    assert proof.exists()
    # keep the genuine signature, swap the payload
    body = (directory / STATE_FILE).read_bytes()
    header = len(MAGIC) + 65
    (directory / STATE_FILE).write_bytes(body[:header] + payload)
    with pytest.raises(IntegrityError, match="refusing to unpickle"):
        RiverLearner.load(directory, signer=TEST_SIGNER)
    assert not marker.exists()
    # an attacker's own key does not help either
    forged = Signer(b"attacker-key-0123456789abcdef012")
    (directory / STATE_FILE).write_bytes(MAGIC + forged.sign(payload).encode() + b"\n" + payload)
    with pytest.raises(IntegrityError, match="does not match"):
        load_learner(directory, signer=TEST_SIGNER)
    assert not marker.exists()
    # nor does a raw pickle put in place of the envelope
    (directory / STATE_FILE).write_bytes(payload)
    with pytest.raises(IntegrityError, match="signed envelope"):
        RiverLearner.load(directory, signer=TEST_SIGNER)
    assert not marker.exists()


def test_a_signed_payload_outside_the_allow_list_is_refused(tmp_path: Path) -> None:
    """Even a payload signed with the right key may only import River and plain types."""
    _, directory = _saved(tmp_path)
    marker = tmp_path / "executed.marker"
    payload = pickle.dumps({"model": _TouchesMarker(marker), "rows_seen": 1}, protocol=5)
    signed = MAGIC + TEST_SIGNER.sign(payload).encode() + b"\n" + payload
    (directory / STATE_FILE).write_bytes(signed)
    with pytest.raises(UnsafeArtifactError, match=r"got io\.open"):
        RiverLearner.load(directory, signer=TEST_SIGNER)
    assert not marker.exists()


def test_save_and_load_need_the_registry_signer(tmp_path: Path) -> None:
    X, y = drifting_binary()
    learner = RiverLearner().fit(X, y)
    with pytest.raises(ConfigError, match="signer: expected the registry's Signer to save"):
        learner.save(tmp_path / "a")
    learner.save(tmp_path / "a", signer=TEST_SIGNER)
    with pytest.raises(ConfigError, match="signer: expected the registry's Signer to load"):
        RiverLearner.load(tmp_path / "a")
    with pytest.raises(ConfigError, match="signer: expected the registry's Signer to load"):
        load_learner(tmp_path / "a")
    # an unfitted learner has no pickled state: nothing to sign
    RiverLearner().save(tmp_path / "b")
    assert not RiverLearner.load(tmp_path / "b").is_fitted


def test_another_river_version_is_refused_before_unpickling(tmp_path: Path) -> None:
    _, directory = _saved(tmp_path)
    manifest = json.loads((directory / "learner.json").read_text())
    (directory / "learner.json").write_text(json.dumps({**manifest, "river_version": "0.1.0"}))
    with pytest.raises(ArtifactError, match="river_version"):
        RiverLearner.load(directory, signer=TEST_SIGNER)


def test_home_signer_creates_a_private_key_once(tmp_path: Path) -> None:
    first = home_signer(tmp_path)
    assert (tmp_path / "signing.key").stat().st_mode & 0o777 == 0o600
    home_signer(tmp_path).verify(b"x", first.sign(b"x"))


def test_inputs_and_hyperparameters_are_validated() -> None:
    X, y = drifting_binary()
    dirty = X.copy()
    dirty[4, 0] = np.nan
    with pytest.raises(ValidationError, match="row 4, column 0"):
        RiverLearner().fit(dirty, y)
    with pytest.raises(ValidationError, match="no row weights"):
        RiverLearner(model="arf", n_models=2).fit(X, y, sample_weight=np.linspace(0.5, 1.5, len(y)))
    RiverLearner(model="hoeffding_adaptive_tree").fit(X, y, sample_weight=np.full(len(y), 2.0))
    with pytest.raises(ConfigError, match="batch_size: expected 1 for model 'arf'"):
        RiverLearner(model="arf", batch_size=8)
    with pytest.raises(ConfigError, match="model: expected one of"):
        build_learner("river", {"model": "svm"})
    learner = RiverLearner().fit(X, y)
    with pytest.raises(ValidationError, match="unseen label"):
        learner.update(X, np.where(y == 1, 5, y))


def test_multiclass_logistic_regression_is_one_vs_rest() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3))
    y = np.array(["low", "mid", "high"])[np.digitize(X[:, 0], [-0.5, 0.5])]
    learner = RiverLearner(model="logistic_regression", learning_rate=0.1).fit(X, y)
    assert learner.classes_.tolist() == ["high", "low", "mid"]
    proba = learner.predict_proba(X[:5])
    assert proba.shape == (5, 3) and np.allclose(proba.sum(axis=1), 1.0)
    assert np.mean(learner.predict(X) == y) > 0.7


def test_shape_hyperparameters_are_in_the_signature() -> None:
    assert RiverLearner(model="arf").signature() != RiverLearner().signature()
    assert (
        RiverLearner(model="arf", n_models=3).signature() != RiverLearner(model="arf").signature()
    )
    assert RiverLearner(seed=4, grace_period=9).signature() == RiverLearner().signature()


def test_config_kind_gets_the_home_signer(tmp_path: Path) -> None:
    config = PipelineConfig.model_validate(
        {
            "name": "m",
            "home": str(tmp_path / "home"),
            "source": {"kind": "file", "path": "x.csv", "timestamp": "ts"},
            "labels": {"kind": "column", "column": "y"},
            "features": {"kind": "tabular", "numeric": ["a", "b", "c", "d"]},
            "model": {"kind": "river", "model": "arf", "n_models": 2},
        }
    )
    kind, params = learner_params(config)
    learner = build_learner(kind, params)
    assert isinstance(learner, RiverLearner) and learner.n_models == 2
    X, y = drifting_binary()
    learner.fit(X, y).save(tmp_path / "saved")
    load_learner(tmp_path / "saved", signer=home_signer(tmp_path / "home"))
    with pytest.raises(IntegrityError):
        load_learner(tmp_path / "saved", signer=TEST_SIGNER)
