"""Run every benchmark (or those named) and regenerate BENCHMARKS.md.

Usage: ``python -m benchmarks.run [NAME ...] [--quick]``. On a terminal, stderr shows one progress
task per benchmark.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from pathlib import Path

from benchmarks.common import ROOT, read_result, write_result
from lifelong.cli.app import progress_display

ORDER = ("ingest", "stateful", "serving", "drift", "adaptation", "update_latency", "registry")
HEADER = """# Benchmarks

Measured by `make bench` (`python -m benchmarks.run`): each benchmark runs lifelong and its peers
side by side, in one run, on the same machine and data, and writes `benchmarks/results/<name>.json`.
These machines are noisy; ratios and medians are quoted. Goals that are missed are stated as missed.
"""


def available() -> list[str]:
    found = {path.stem for path in (ROOT / "benchmarks").glob("*.py")} - {"__init__", "common", "run"}
    return [name for name in ORDER if name in found] + sorted(found - set(ORDER))


def render() -> str:
    sections = [HEADER]
    for name in available():
        result = read_result(name)
        module = importlib.import_module(f"benchmarks.{name}")
        if result is None:
            sections.append(f"## {name}\n\nNot measured yet: run `make bench`.\n")
        else:
            sections.append(module.describe(result).rstrip() + "\n")
    return "\n".join(sections)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args(argv)
    names = args.names or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        parser.error(f"unknown benchmarks {unknown}; expected some of {available()}")
    failed = []
    with progress_display() as progress:  # on stderr, and only on a terminal
        tasks = {name: progress.add_task(f"{name}: waiting", total=1, start=False) for name in names}
        for name in names:
            print(f"== {name}", flush=True)
            progress.start_task(tasks[name])
            progress.update(tasks[name], description=f"{name}: running")
            module = importlib.import_module(f"benchmarks.{name}")
            try:
                result = module.run(quick=args.quick)
            except Exception:  # one broken benchmark must not hide the others' numbers
                traceback.print_exc()
                failed.append(name)
                progress.update(tasks[name], description=f"{name}: failed")
                progress.stop_task(tasks[name])
                continue
            write_result(name, result)
            progress.update(tasks[name], completed=1, description=f"{name}: done")
            progress.stop_task(tasks[name])
    (ROOT / "BENCHMARKS.md").write_text(render())
    print(f"wrote {Path('BENCHMARKS.md')}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
