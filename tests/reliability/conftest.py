"""Reliability suite: the ``soak`` marker, and a table of what each case measured.

Every case has a fast variant that runs in ``make test`` and, where it makes sense, a heavier
one marked ``soak`` (more kills, more load) that runs only when ``-m soak`` is given
(``make soak``). Cases record their numbers with the ``reliability`` fixture; the table is
printed at the end of the run and, when ``LIFELONG_RELIABILITY_RESULTS`` names a file, written
there as JSON (``make soak`` does this; RELIABILITY.md quotes the numbers).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest

_RESULTS = pytest.StashKey[list[dict[str, Any]]]()
_PASSED = pytest.StashKey[Counter[str]]()

Record = Callable[..., None]


def pytest_configure(config: pytest.Config) -> None:
    # The ``soak`` marker itself is registered in pyproject.toml.
    config.stash[_RESULTS] = []
    config.stash[_PASSED] = Counter()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """Counts the passed runs of each test function (every parametrized case counts once)."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.passed:
        item.config.stash[_PASSED][item.nodeid.split("[", 1)[0]] += 1


def _soak_selected(config: pytest.Config) -> bool:
    expression = config.getoption("markexpr", default="") or ""
    return "soak" in expression and "not soak" not in expression


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _soak_selected(config):
        return
    skip = pytest.mark.skip(reason="soak variant: run with -m soak (make soak)")
    for item in items:
        if "soak" in item.keywords and item.path.is_relative_to(Path(__file__).parent):
            item.add_marker(skip)


@pytest.fixture
def reliability(request: pytest.FixtureRequest) -> Record:
    """``reliability(case, **numbers)`` records one row of the results table."""

    def record(case: str, **numbers: Any) -> None:
        variant = "soak" if request.node.get_closest_marker("soak") else "fast"
        request.config.stash[_RESULTS].append(
            {"case": case, "variant": variant, "test": request.node.name, **numbers}
        )

    return record


@pytest.fixture
def passed_cases(request: pytest.FixtureRequest) -> Callable[..., int]:
    """``passed_cases(*test_names)``: how many cases of these tests (in this module) passed so far.

    A summary row then quotes what ran in this session, not a count written by hand; when none
    of the cases ran (the summary was selected alone), the summary test is skipped.
    """
    module = request.node.nodeid.split("::", 1)[0]

    def count(*names: str) -> int:
        passed = sum(request.config.stash[_PASSED][f"{module}::{name}"] for name in names)
        if passed == 0:
            pytest.skip(f"none of {list(names)} ran in this session: nothing to summarize")
        return passed

    return count


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    results = config.stash.get(_RESULTS, [])
    if not results:
        return
    terminalreporter.section("reliability results")
    terminalreporter.write_line(f"{'case':<34} {'variant':<7} measured")
    for row in results:
        numbers = ", ".join(
            f"{key}={_cell(value)}"
            for key, value in row.items()
            if key not in {"case", "variant", "test"}
        )
        terminalreporter.write_line(f"{row['case']:<34} {row['variant']:<7} {numbers}")
    target = os.environ.get("LIFELONG_RELIABILITY_RESULTS")
    if target:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        Path(target).write_text(json.dumps(results, indent=2, default=str) + "\n")
        terminalreporter.write_line(f"results written to {target}")
