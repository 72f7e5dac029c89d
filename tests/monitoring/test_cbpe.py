"""CBPE: estimates close to the realized metric on calibrated data; the same numbers as NannyML's CBPE."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, roc_auc_score

from service_support import require

from lifelong.errors import ConfigError, DataError
from lifelong.monitoring.cbpe import CBPE
from lifelong.monitoring.drift import Impact

ROOT = Path(__file__).resolve().parents[2]
NANNYML_PYTHON = ROOT / ".bench-venvs" / "nannyml" / "bin" / "python"


def _scored(rng: np.random.Generator, n: int, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(shift, 1.0, size=n)
    p = 1 / (1 + np.exp(-2 * x))
    return (rng.uniform(size=n) < p).astype(int), p


@pytest.mark.parametrize("metric", ["roc_auc", "accuracy"])
def test_estimate_tracks_the_realized_metric_under_covariate_shift(metric: str) -> None:
    rng = np.random.default_rng(0)
    y_ref, p_ref = _scored(rng, 20_000)
    cbpe = CBPE(metric=metric).fit(y_ref, p_ref)  # type: ignore[arg-type]
    for shift in (0.0, 1.0, 2.0):
        y, p = _scored(rng, 5000, shift)
        realized = roc_auc_score(y, p) if metric == "roc_auc" else accuracy_score(y, p >= 0.5)
        estimate = cbpe.estimate(p)
        assert abs(estimate.value - realized) < 4 * estimate.standard_error + 0.005, (shift, estimate, realized)


def test_miscalibrated_scores_are_calibrated_on_the_reference() -> None:
    rng = np.random.default_rng(1)
    y, p = _scored(rng, 20_000)
    squashed = 0.5 + (p - 0.5) * 0.3  # honest ranking, badly calibrated
    cbpe = CBPE(metric="accuracy").fit(y, squashed)
    y2, p2 = _scored(rng, 5000)
    estimate = cbpe.estimate(0.5 + (p2 - 0.5) * 0.3)
    assert estimate.calibrated and abs(estimate.value - accuracy_score(y2, p2 >= 0.5)) < 0.02


@pytest.mark.parametrize("metric", ["roc_auc", "accuracy"])
def test_a_drop_is_estimate_against_estimate_so_the_estimators_bias_cancels(metric: str) -> None:
    """Uncalibrated, underconfident scores on a stationary stream: the estimate is off, its drop is not."""
    rng = np.random.default_rng(1)

    def underconfident(n: int) -> tuple[np.ndarray, np.ndarray]:
        y, p = _scored(rng, n)
        logit = np.log(p / (1 - p))
        return y, 1 / (1 + np.exp(-0.4 * logit))

    y, scores = underconfident(3000)
    estimate = CBPE(metric=metric, calibration="none").fit(y, scores).estimate(underconfident(3000)[1])
    impact = Impact(metric, estimate.reference_value, estimate, None)
    assert abs(estimate.reference_value - estimate.value) > 0.05  # the estimator's bias on this model
    assert impact.estimated_drop is not None and abs(impact.estimated_drop) < 0.02


def test_bad_input_is_refused() -> None:
    with pytest.raises(ConfigError, match="metric: expected 'roc_auc' or 'accuracy', got 'f2'"):
        CBPE(metric="f2")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="y: expected both classes"):
        CBPE().fit(np.zeros(10, dtype=int), np.linspace(0, 1, 10))
    with pytest.raises(DataError, match="scores: expected probabilities in \\[0, 1\\]"):
        CBPE().fit(np.array([0, 1]), np.array([0.2, 1.5]))
    with pytest.raises(ConfigError, match="expected fit\\(\\) on a labeled reference"):
        CBPE().estimate(np.array([0.5]))


PEER = """
import json, sys, nannyml as nml
out = sys.argv[1]
ref, ana, _ = nml.load_synthetic_binary_classification_dataset()
ref[["y_pred_proba", "y_pred", "work_home_actual"]].to_csv(out + "/reference.csv", index=False)
ana[["y_pred_proba", "y_pred"]].to_csv(out + "/analysis.csv", index=False)
estimator = nml.CBPE(y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="work_home_actual",
                     metrics=["roc_auc", "accuracy"], chunk_size=5000, problem_type="classification_binary")
estimator.fit(ref)
frame = estimator.estimate(ana).filter(period="analysis").to_df()
json.dump({m: frame[(m, "value")].tolist() for m in ("roc_auc", "accuracy")}, open(out + "/nannyml.json", "w"))
"""


def _nannyml_python() -> Path:
    """NannyML's own environment, made by ``make test`` and ``make bench`` (required under CI)."""
    require(NANNYML_PYTHON.exists(), f"NannyML's environment is absent: {NANNYML_PYTHON} (run `make test` or `make bench`)")
    return NANNYML_PYTHON


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_same_estimates_as_nannyml_on_its_synthetic_data(tmp_path: Path) -> None:
    """NannyML 0.13 runs in its own environment (it pins LightGBM < 4.6), as in ``make bench``."""
    python = _nannyml_python()
    script = tmp_path / "peer.py"
    script.write_text(PEER)
    subprocess.run([str(python), str(script), str(tmp_path)], check=True, capture_output=True, timeout=300)
    theirs = json.loads((tmp_path / "nannyml.json").read_text())
    reference, analysis = pd.read_csv(tmp_path / "reference.csv"), pd.read_csv(tmp_path / "analysis.csv")
    for metric in ("roc_auc", "accuracy"):
        cbpe = CBPE(metric=metric).fit(reference["work_home_actual"].to_numpy(), reference["y_pred_proba"].to_numpy())  # type: ignore[arg-type]
        ours = [
            cbpe.estimate(chunk["y_pred_proba"].to_numpy(), predictions=chunk["y_pred"].to_numpy()).value
            for chunk in (analysis.iloc[i : i + 5000] for i in range(0, len(analysis), 5000))
        ]
        assert np.max(np.abs(np.array(ours) - np.array(theirs[metric]))) < 1e-9, metric
