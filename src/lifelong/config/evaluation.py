"""Offline evaluation: metric, gates and the challengers scored side by side."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, model_validator

from lifelong.config.base import Duration, Strict
from lifelong.config.models import ModelConfig


class NotWorseGateConfig(Strict):
    """Reject a challenger worse than the champion by more than ``tolerance``."""

    kind: Literal["not_worse"]
    tolerance: float = Field(default=0.0, ge=0)


class MinimumRowsGateConfig(Strict):
    """Reject an evaluation made on too few held-out rows."""

    kind: Literal["min_rows"]
    rows: int = Field(default=100, gt=0)


class SignificanceGateConfig(Strict):
    """Require a gain over the champion of at least ``min_gain``, significant at ``alpha``.

    ``bootstrap``: the lower end of the paired, seeded percentile interval of the gain
    (confidence ``1 - 2 * alpha``, one-sided) must reach ``min_gain``. ``mcnemar`` (accuracy):
    the exact McNemar test must find the challenger right more often and the accuracy gain
    reach ``min_gain``. ``delong`` (ROC AUC): DeLong's one-sided test of ``gain > min_gain``.
    """

    kind: Literal["significance"]
    test: Literal["bootstrap", "mcnemar", "delong"] = "bootstrap"
    min_gain: float = Field(default=0.0, ge=-1.0, le=1.0)
    alpha: float = Field(default=0.05, gt=0.0, lt=0.5)
    resamples: int = Field(default=1000, ge=10, le=100_000)
    seed: int = 0


class SlicesGateConfig(Strict):
    """Reject a challenger that loses more than ``tolerance`` of the metric on any slice.

    Slices are the values of each column in ``columns`` (``device``, ``country``); slices with
    fewer than ``min_rows`` held-out rows are reported but not judged.
    """

    kind: Literal["slices"]
    columns: tuple[str, ...] = Field(min_length=1)
    tolerance: float = Field(default=0.02, ge=0)
    min_rows: int = Field(default=50, gt=0)
    max_slices: int = Field(default=50, gt=0)


class ForgettingGateConfig(Strict):
    """Reject a challenger that forgets: worse than the champion on an older labeled window.

    The window holds the labeled rows with event times in ``[now - start, now - end)``.
    """

    kind: Literal["forgetting"]
    start: Duration = timedelta(days=14)
    end: Duration = timedelta(days=7)
    tolerance: float = Field(default=0.01, ge=0)
    min_rows: int = Field(default=100, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> ForgettingGateConfig:
        if not self.end < self.start:
            raise ValueError(f"end: expected a duration shorter than start ({self.start}), got {self.end}")
        return self


class CalibrationGateConfig(Strict):
    """Limit the challenger's expected calibration error (binned), absolutely and against the champion."""

    kind: Literal["calibration"]
    bins: int = Field(default=10, ge=2, le=1000)
    max_ece: float | None = Field(default=0.1, ge=0, le=1)
    max_increase: float | None = Field(default=None, ge=0, le=1)


class InfraGateConfig(Strict):
    """Load the artifact in a fresh process, answer sample requests one row at a time, check limits."""

    kind: Literal["infra"]
    requests: int = Field(default=200, ge=1, le=100_000)
    max_p99_ms: float = Field(default=50.0, gt=0)
    max_artifact_mb: float = Field(default=200.0, gt=0)
    timeout: Duration = timedelta(seconds=120)


class PerturbCheckConfig(Strict):
    """Add a uniform draw from ``[low, high]`` to ``column``: the score may move at most ``max_change``."""

    kind: Literal["perturb"]
    column: str = Field(min_length=1)
    low: float
    high: float
    max_change: float = Field(ge=0)
    max_violations: float = Field(default=0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _range(self) -> PerturbCheckConfig:
        if not self.low <= self.high:
            raise ValueError(f"high: expected a number >= low ({self.low}), got {self.high}")
        return self


class DirectionalCheckConfig(Strict):
    """Add ``delta`` to ``column``: the score must move in the ``expect`` direction (up to ``tolerance``)."""

    kind: Literal["directional"]
    column: str = Field(min_length=1)
    delta: float
    expect: Literal["increase", "decrease"]
    tolerance: float = Field(default=0.0, ge=0)
    max_violations: float = Field(default=0.0, ge=0, le=1)


InvarianceCheckConfig = Annotated[
    PerturbCheckConfig | DirectionalCheckConfig, Field(discriminator="kind")
]


class InvarianceGateConfig(Strict):
    """Behavioural checks of the challenger on a seeded sample of held-out rows."""

    kind: Literal["invariance"]
    checks: tuple[InvarianceCheckConfig, ...] = Field(min_length=1)
    rows: int = Field(default=500, gt=0)
    seed: int = 0


class LabelQualityGateConfig(Strict):
    """Reject a challenger trained on labels from a source that suddenly disagrees; flag and throttle it.

    Per source (the column ``source_column``), the labels' disagreement with the champion's
    confident predictions is tested against the source's history and its peers. A convicted
    source is flagged: from then on only ``throttle`` of its events (chosen by a hash of the
    event id) is admitted to training and evaluation; the others are held back in the store
    until the flag is released (0 holds back every event of the source).
    """

    kind: Literal["label_quality"]
    source_column: str = Field(default="source", min_length=1)
    confidence: float = Field(default=0.8, ge=0.5, lt=1)
    alpha: float = Field(default=1e-3, gt=0, lt=1)
    min_rows: int = Field(default=30, gt=0)
    min_increase: float = Field(default=0.1, ge=0, lt=1)
    throttle: float = Field(default=0.1, ge=0, lt=1)


GateConfig = Annotated[
    NotWorseGateConfig
    | MinimumRowsGateConfig
    | SignificanceGateConfig
    | SlicesGateConfig
    | ForgettingGateConfig
    | CalibrationGateConfig
    | InfraGateConfig
    | InvarianceGateConfig
    | LabelQualityGateConfig,
    Field(discriminator="kind"),
]


class ChallengerConfig(Strict):
    """One challenger trained at each update: a training mode and, for a model iteration, a model.

    Without ``model`` it is the spec's model (a replica of the champion when stateful); with a
    model of another shape it is a model iteration, trained from scratch as a new major version.
    ``window`` replaces ``training.window`` for this challenger: challengers that differ only by
    how far back they learn, scored on the same held-out rows, let the loop pick the memory the
    stream needs now (short right after a change, long while the concept holds). ``features``
    keeps some of the pipeline's feature columns (a simple model on the raw inputs beside a
    richer one), a model iteration like another ``model``. ``every`` refits the challenger at
    every n-th update only; in between, its latest version stays a candidate and is scored again
    on the new held-out rows (a long window moves little from one update to the next).
    ``offset`` picks which of those updates: the k-th update (counting from 0) refits it when
    ``k % every == offset``, besides the first; two challengers with ``every: 2`` and offsets 0
    and 1 take turns.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    mode: Literal["stateless", "stateful"] | None = None
    model: ModelConfig | None = None
    window: Duration | None = None
    features: tuple[str, ...] | None = None
    every: int = Field(default=1, ge=1)
    offset: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _offset_within_every(self) -> ChallengerConfig:
        if self.offset >= self.every:
            raise ValueError(f"offset: expected an integer from 0 to every - 1 ({self.every - 1}), got {self.offset}")
        return self


class EvaluationConfig(Strict):
    """Metric and gates of the offline comparison against the champion, and the challengers."""

    metric: Literal["roc_auc", "accuracy", "log_loss", "f1"] = "roc_auc"
    gates: tuple[GateConfig, ...] = (NotWorseGateConfig(kind="not_worse", tolerance=0.0),)
    challengers: tuple[ChallengerConfig, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> EvaluationConfig:
        names = [challenger.name for challenger in self.challengers]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"challengers: expected unique names, got {repeated} more than once")
        if self.challengers and all(challenger.every > 1 for challenger in self.challengers):
            every = [challenger.every for challenger in self.challengers]
            raise ValueError(f"challengers: expected at least one refit at every update (every: 1), got every {every}")
        return self


__all__ = [
    "CalibrationGateConfig",
    "ChallengerConfig",
    "DirectionalCheckConfig",
    "EvaluationConfig",
    "ForgettingGateConfig",
    "GateConfig",
    "InfraGateConfig",
    "InvarianceCheckConfig",
    "InvarianceGateConfig",
    "LabelQualityGateConfig",
    "MinimumRowsGateConfig",
    "NotWorseGateConfig",
    "PerturbCheckConfig",
    "SignificanceGateConfig",
    "SlicesGateConfig",
]
