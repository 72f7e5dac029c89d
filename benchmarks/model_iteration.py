"""Model iteration without starting cold: rows and epochs to reach the champion's accuracy.

A champion MLP (one hidden layer of 16) is trained on 2,000 rows of a nonlinear problem (a
circle in two of four columns, 5% label noise). The next model iteration is a bigger network
(two hidden layers of 32). On ``n`` recent rows it is trained three ways and its accuracy on
4,000 held-out rows is measured after each number of epochs:

* ``scratch``: fresh weights, true labels;
* ``distill``: fresh weights, targets ``0.2 * onehot(y) + 0.8 * champion probabilities``
  (:func:`lifelong.learners.distill.distill`), one training run per epoch budget;
* ``grown``: Net2Net surgery of the champion (:func:`~lifelong.learners.surgery.widen` to 32,
  then :func:`~lifelong.learners.surgery.deepen`), fine-tuned at learning rate 0.001.

"Reached" means an accuracy at least the champion's minus ``tolerance``. Needs the ``torch``
extra. Run with ``python -m benchmarks.run model_iteration``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

TOLERANCE = 0.01
ROWS = (100, 200, 400, 800, 1600)
EPOCHS = (0, 1, 2, 5, 10, 20, 40)
HIDDEN = (32, 32)


def circle(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Inside a circle in the first two of four columns, with 5% label noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] ** 2 + X[:, 1] ** 2 < 1.4).astype(np.int64)
    return X, np.where(rng.random(n) < 0.05, 1 - y, y)


def _accuracy(learner: Any, X: np.ndarray, y: np.ndarray) -> float:
    return round(float(np.mean(learner.predict(X) == y)), 4)


def _curves(
    champion: Any, X: np.ndarray, y: np.ndarray, epochs: tuple[int, ...], test: Any
) -> dict[str, dict[int, float]]:
    from lifelong.learners.distill import distill
    from lifelong.learners.surgery import deepen, widen
    from lifelong.learners.torch_mlp import TorchMLPLearner

    last = max(epochs)
    curves: dict[str, dict[int, float]] = {"scratch": {}, "distill": {}, "grown": {}}
    scratch = TorchMLPLearner(hidden=HIDDEN, epochs=1, update_epochs=1, batch_size=32).fit(X, y)
    grown = deepen(widen(champion, layer=0, width=HIDDEN[0]), after=0, learning_rate=0.001)
    grown.update_epochs = 1
    curves["grown"][0] = _accuracy(grown, *test)
    for epoch in range(1, last + 1):
        if epoch > 1:
            scratch.update(X, y)
        grown.update(X, y)
        if epoch in epochs:
            curves["scratch"][epoch] = _accuracy(scratch, *test)
            curves["grown"][epoch] = _accuracy(grown, *test)
    for epoch in epochs:
        if epoch:
            student = TorchMLPLearner(hidden=HIDDEN, epochs=epoch, batch_size=32)
            curves["distill"][epoch] = _accuracy(distill(champion, student, X, y, alpha=0.8), *test)
    return curves


def run(quick: bool) -> dict[str, Any]:
    """Measure the three ways on each number of recent rows."""
    from lifelong.learners.torch_mlp import TorchMLPLearner

    rows = (100, 400) if quick else ROWS
    epochs = (0, 1, 5, 20) if quick else EPOCHS
    start = time.process_time()
    champion = TorchMLPLearner(hidden=(16,), epochs=40).fit(*circle(0, 2000))
    test = circle(99, 4000)
    target = _accuracy(champion, *test)
    results: dict[str, Any] = {"champion_accuracy": target, "tolerance": TOLERANCE, "rows": {}}
    for n in rows:
        curves = _curves(champion, *circle(1000 + n, n), epochs, test)
        reached = {
            method: next((e for e, acc in sorted(curve.items()) if acc >= target - TOLERANCE), None)
            for method, curve in curves.items()
        }
        results["rows"][str(n)] = {"curves": curves, "epochs_to_reach": reached}
    results["fewest_rows_to_reach"] = {
        method: next(
            (
                int(n)
                for n, row in results["rows"].items()
                if row["epochs_to_reach"][method] is not None
            ),
            None,
        )
        for method in ("scratch", "distill", "grown")
    }
    results["cpu_seconds"] = round(time.process_time() - start, 1)
    results["quick"] = quick
    return results


def describe(result: dict[str, Any]) -> str:
    """Markdown: epochs to reach the champion per row count, and the accuracy curves."""
    target, tol = result["champion_accuracy"], result["tolerance"]
    lines = [
        "## model_iteration",
        "",
        (
            f"Champion MLP (16) accuracy {target:.3f}. A (32, 32) MLP trained on n recent rows: "
            f"epochs until its held-out accuracy is within {tol} of the champion's ('-' = not "
            "within the budget), and accuracy at the largest budget."
        ),
        "",
        "| rows | scratch | distill | grown (Net2Net) |",
        "|---:|---:|---:|---:|",
    ]
    for n, row in result["rows"].items():
        cells = []
        for method in ("scratch", "distill", "grown"):
            curve = row["curves"][method]
            reached = row["epochs_to_reach"][method]
            best_epoch = max(int(e) for e in curve)
            final = curve[str(best_epoch)] if str(best_epoch) in curve else curve[best_epoch]
            cells.append(f"{'-' if reached is None else reached} ep, {final:.3f} at {best_epoch}")
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    fewest = result["fewest_rows_to_reach"]
    lines += [
        "",
        "Fewest recent rows that reach the champion: "
        + ", ".join(f"{m} {'never' if v is None else v}" for m, v in fewest.items())
        + f". The grown network equals the champion at epoch 0 (function-preserving); "
        "fine-tuning it on few rows can lose some of that (overfitting the recent rows). "
        f"CPU {result['cpu_seconds']} s{' (quick run)' if result.get('quick') else ''}.",
    ]
    return "\n".join(lines) + "\n"
