"""Concurrent writers (threads and processes) and schema migrations."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

from lifelong.errors import RegistryError
from lifelong.registry import ArtifactStore, Lineage, Registry
from lifelong.registry.db import MIGRATIONS, VERSION_TABLE
from lifelong.registry.schema import METADATA

MakeLineage = Callable[..., Lineage]

WORKER = """
import sys
from pathlib import Path
from lifelong.registry import ArtifactStore, Iteration, Lineage, Registry, TrainingMode
url, root, model_dir, parent, count = sys.argv[1:6]
lineage = Lineage(
    parent=None if parent == "-" else parent, mode=TrainingMode.STATELESS,
    iteration=Iteration.MODEL if parent == "-" else Iteration.DATA, snapshot=None,
    config_hash="c", code_version="0", git_commit=None, library_versions={},
)
with Registry(url, ArtifactStore(Path(root))) as registry:
    for _ in range(int(count)):
        print(registry.register("m", Path(model_dir), lineage=lineage, learner_kind="k").version)
"""


def _run_workers(
    url: str, root: Path, model_dir: Path, parent: str, *, processes: int, each: int
) -> list[str]:
    args = [str(root), str(model_dir), parent, str(each)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    versions: list[str] = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        versions.extend(out.split())
    return versions


def test_threads_register_unique_gap_free_minors(
    registry: Registry, model_dir: Path, lineage: MakeLineage
) -> None:
    registry.register("m", model_dir, lineage=lineage(None), learner_kind="k")
    barrier = threading.Barrier(16)
    results: list[str] = []
    errors: list[Exception] = []

    def work() -> None:
        try:
            barrier.wait()
            version = registry.register("m", model_dir, lineage=lineage("1.0"), learner_kind="k")
            results.append(version.version)
        except Exception as exc:  # noqa: BLE001 - collected and checked below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results, key=lambda v: int(v.split(".")[1])) == [f"1.{i}" for i in range(1, 17)]
    assert [v.version for v in registry.versions("m")] == [f"1.{i}" for i in range(17)]


def test_processes_register_unique_versions_and_migrate_once(
    database_url: str, tmp_path: Path, model_dir: Path
) -> None:
    root = tmp_path / "artifacts"
    # four processes open a fresh database at once: migrations and new-model rows race
    majors = _run_workers(database_url, root, model_dir, "-", processes=4, each=1)
    assert sorted(majors) == ["1.0", "2.0", "3.0", "4.0"]
    minors = _run_workers(database_url, root, model_dir, "1.0", processes=3, each=3)
    assert sorted(minors, key=lambda v: int(v.split(".")[1])) == [f"1.{i}" for i in range(1, 10)]


def test_concurrent_compare_and_set_has_one_winner(
    registry: Registry, model_dir: Path, lineage: MakeLineage
) -> None:
    for parent in (None, "1.0", "1.1", "1.2"):
        registry.register("m", model_dir, lineage=lineage(parent), learner_kind="k")
    registry.set_alias("m", "champion", "1.0", actor="a", reason="r")
    barrier = threading.Barrier(3)
    outcomes: list[str] = []

    def promote(version: str) -> None:
        barrier.wait()
        try:
            registry.set_alias("m", "champion", version, actor=version, reason="r", expected="1.0")
            outcomes.append(version)
        except RegistryError:
            outcomes.append("refused")

    threads = [threading.Thread(target=promote, args=(v,)) for v in ("1.1", "1.2", "1.3")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [o for o in outcomes if o != "refused"]
    assert len(outcomes) == 3 and len(winners) == 1
    assert registry.alias_version("m", "champion") == winners[0]
    assert len(registry.alias_history("m", "champion")) == 2


def test_migrations_are_idempotent_and_match_the_tables(database_url: str, tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    for _ in range(2):
        Registry(database_url, ArtifactStore(tmp_path / "artifacts")).close()
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    head = ScriptDirectory.from_config(config).get_current_head()
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
            assert [row[0] for row in rows] == [head] == ["0002"]
            context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            assert compare_metadata(context, METADATA) == []
    finally:
        engine.dispose()
