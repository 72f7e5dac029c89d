"""Model iteration without starting cold: a new major version that starts from the champion.

A model iteration (new architecture, new features, hyperparameters that change the state's
shape) normally trains from scratch. With ``warm_start`` on the model spec, it starts from the
champion instead:

* ``distill``: the new learner is fitted from scratch on the training rows with the champion
  as teacher (:func:`lifelong.learners.distill.distill`); the champion reads the rows through
  its own features, so the features may change too.
* ``grow``: the champion's network is widened and deepened into the new ``hidden`` widths
  without changing its function (:func:`lifelong.learners.surgery.grow`), then fine-tuned on
  the training rows (``update_epochs``).

Examples
--------
>>> WarmStart.from_dict({"method": "distill", "alpha": 0.7}).to_dict()
{'method': 'distill', 'alpha': 0.7, 'temperature': 1.0, 'seed': 0}
>>> WarmStart.from_dict({"method": "copy"})
Traceback (most recent call last):
...
lifelong.errors.ConfigError: warm_start.method: expected 'distill' or 'grow', got 'copy'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from numpy.typing import NDArray

from lifelong.errors import ConfigError
from lifelong.learners.base import FloatArray, Learner

Method = Literal["distill", "grow"]


@dataclass(frozen=True)
class WarmStart:
    """How a model iteration starts from the champion (see the module docstring)."""

    method: Method
    alpha: float = 0.5
    temperature: float = 1.0
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WarmStart:
        method = data.get("method")
        if method not in ("distill", "grow"):
            raise ConfigError(f"warm_start.method: expected 'distill' or 'grow', got {method!r}")
        return cls(
            method=method,
            alpha=float(data.get("alpha", 0.5)),
            temperature=float(data.get("temperature", 1.0)),
            seed=int(data.get("seed", 0)),
        )

    @classmethod
    def of_model(cls, model: object) -> WarmStart | None:
        """The ``warm_start`` of a model config section, or ``None`` when it has none."""
        section = getattr(model, "warm_start", None)
        if section is None:
            return None
        fields = section.model_dump()
        fields["method"] = fields.pop("kind")
        return cls.from_dict(fields)


def warm_started(
    warm: WarmStart,
    *,
    teacher: Learner,
    teacher_rows: FloatArray,
    student: Learner,
    X: FloatArray,
    y: NDArray[Any],
    sample_weight: FloatArray | None,
) -> Learner:
    """``student`` trained on ``X``, ``y`` starting from ``teacher`` by ``warm.method``."""
    if warm.method == "distill":
        from lifelong.learners.distill import distill

        return distill(
            teacher,
            student,
            X,
            y,
            alpha=warm.alpha,
            temperature=warm.temperature,
            seed=warm.seed,
            teacher_X=teacher_rows,
        )
    from lifelong.learners.torch_common import TorchLearnerBase

    if not isinstance(teacher, TorchLearnerBase) or not isinstance(student, TorchLearnerBase):
        raise ConfigError(
            "model.warm_start.method: 'grow' needs a PyTorch champion and model (torch_mlp or "
            f"torch_embedding), got champion {teacher.kind!r} and model {student.kind!r}"
        )
    from lifelong.learners.surgery import grow

    grown = grow(teacher, student, seed=warm.seed)
    return grown.update(X, y, sample_weight=sample_weight)


__all__ = ["Method", "WarmStart", "warm_started"]
