"""50 concurrent registrations and 50 alias moves, in threads and in processes, on SQLite and PostgreSQL.

Half of the writers register data iterations of 1.0 (each gets the next minor), the other half
move aliases (champion, canary) to versions that exist. Afterwards: versions are unique and
gap-free, every move is in the alias history, and no writer saw an error — in particular no
"database is locked" reaches the caller.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from reliability_support import Record

from lifelong.registry import ArtifactStore, Iteration, Lineage, Registry, TrainingMode

REGISTRATIONS = 50
OPERATIONS = 2 * REGISTRATIONS  # as many alias moves as registrations

WORKER = """
import random, sys
from pathlib import Path
from lifelong.registry import ArtifactStore, Iteration, Lineage, Registry, TrainingMode
url, root, model_dir, seed, count = sys.argv[1:6]
rng = random.Random(int(seed))
lineage = Lineage(parent="1.0", mode=TrainingMode.STATEFUL, iteration=Iteration.DATA, snapshot=None,
                  config_hash="c", code_version="0", git_commit=None, library_versions={})
with Registry(url, ArtifactStore(Path(root))) as registry:
    for n in range(int(count)):
        if n % 2 == 0:
            print("version", registry.register("m", Path(model_dir), lineage=lineage, learner_kind="k").version, flush=True)
        else:
            target = rng.choice([v.version for v in registry.versions("m")])
            alias = rng.choice(["champion", "canary"])
            registry.set_alias("m", alias, target, actor=f"p{seed}", reason="concurrency test")
            print("moved", alias, target, flush=True)
"""


def _lineage(parent: str | None) -> Lineage:
    return Lineage(
        parent=parent,
        mode=TrainingMode.STATEFUL if parent else TrainingMode.STATELESS,
        iteration=Iteration.DATA if parent else Iteration.MODEL,
        snapshot=None,
        config_hash="c",
        code_version="0",
        git_commit=None,
        library_versions={},
    )


@pytest.fixture
def seeded(database_url: str, tmp_path: Path) -> tuple[str, Path, Path]:
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "weights.txt").write_text("w")
    root = tmp_path / "artifacts"
    with Registry(database_url, ArtifactStore(root)) as registry:
        registry.register("m", model_dir, lineage=_lineage(None), learner_kind="k")
        registry.set_alias("m", "champion", "1.0", actor="setup", reason="first")
    return database_url, root, model_dir


def _check(url: str, root: Path, registered: int, moves: int) -> dict[str, int]:
    with Registry(url, ArtifactStore(root)) as registry:
        versions = [v.version for v in registry.versions("m")]
        history = registry.alias_history("m")
        aliases = registry.aliases("m")
    assert len(versions) == len(set(versions))
    assert versions == [f"1.{minor}" for minor in range(registered + 1)], (
        "versions are not gap-free"
    )
    assert len(history) == moves + 1  # plus the setup's first move
    assert set(aliases) <= {"champion", "canary"} and set(aliases.values()) <= set(versions)
    return {"versions": len(versions), "alias_moves": moves}


def test_threads(seeded: tuple[str, Path, Path], reliability: Record) -> None:
    url, root, model_dir = seeded
    barrier = threading.Barrier(OPERATIONS)
    errors: list[str] = []
    registered: list[str] = []
    moved: list[str] = []
    with Registry(url, ArtifactStore(root)) as registry:

        def work(n: int) -> None:
            try:
                barrier.wait()
                if n % 2 == 0:
                    registered.append(
                        registry.register(
                            "m", model_dir, lineage=_lineage("1.0"), learner_kind="k"
                        ).version
                    )
                else:
                    target = registry.versions("m")[-1].version
                    registry.set_alias(
                        "m",
                        "champion" if n % 4 == 1 else "canary",
                        target,
                        actor=f"t{n}",
                        reason="r",
                    )
                    moved.append(target)
            except Exception as exc:  # noqa: BLE001 - every error is a failure, reported below
                errors.append(f"{type(exc).__name__}: {exc}")

        threads = [threading.Thread(target=work, args=(n,)) for n in range(OPERATIONS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    assert not any("locked" in error for error in errors), errors
    assert errors == []
    assert len(registered) == REGISTRATIONS
    result = _check(url, root, len(registered), len(moved))
    backend = "postgres" if url.startswith("postgres") else "sqlite"
    reliability(f"concurrency: threads ({backend})", operations=OPERATIONS, errors=0, **result)


def test_processes(seeded: tuple[str, Path, Path], reliability: Record) -> None:
    url, root, model_dir = seeded
    processes, each = 5, OPERATIONS // 5
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, str(root), str(model_dir), str(seed), str(each)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in range(processes)
    ]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert "locked" not in err, err
        assert proc.returncode == 0, err
        outputs.extend(out.splitlines())
    registered = [line.split()[1] for line in outputs if line.startswith("version")]
    moves = [line for line in outputs if line.startswith("moved")]
    assert len(registered) == REGISTRATIONS and len(moves) == OPERATIONS - REGISTRATIONS
    result = _check(url, root, len(registered), len(moves))
    backend = "postgres" if url.startswith("postgres") else "sqlite"
    reliability(f"concurrency: processes ({backend})", operations=OPERATIONS, errors=0, **result)
