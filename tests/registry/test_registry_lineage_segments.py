"""Lineage segments: placed at insert, rebuilt by the migration, read as a lazy chain."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from lifelong.errors import NotFoundError
from lifelong.registry import ArtifactStore, Iteration, Lineage, Registry, VersionChain
from lifelong.registry.db import MIGRATIONS
from lifelong.registry.queries import LINEAGE_QUERY
from lifelong.registry.schema import versions

MakeLineage = Callable[..., Lineage]


def _register(registry: Registry, model_dir: Path, lineage: MakeLineage, parent: str | None) -> str:
    iteration = Iteration.DATA if parent is not None else Iteration.MODEL
    return registry.register(
        "m", model_dir, lineage=lineage(parent, iteration=iteration), learner_kind="k"
    ).version


def _places(url: str) -> dict[str, tuple[int | None, int | None, int | None]]:
    """``version: (parent_id, segment_id, segment_pos)`` read straight from the table."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    versions.c.version,
                    versions.c.parent_id,
                    versions.c.segment_id,
                    versions.c.segment_pos,
                )
            ).all()
    finally:
        engine.dispose()
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


def _segment_rows(registry: Registry, version: str) -> int:
    major, minor = (int(part) for part in version.split("."))
    return len(
        registry._db.run(
            lambda conn: conn.execute(
                LINEAGE_QUERY, {"model": "m", "major": major, "minor": minor}
            ).all(),
            write=False,
        )
    )


def test_a_linear_chain_is_one_segment_and_a_branch_starts_another(
    registry: Registry, model_dir: Path, lineage: MakeLineage
) -> None:
    parent = None
    for _ in range(6):  # 1.0 ... 1.5
        parent = _register(registry, model_dir, lineage, parent)
    branch = _register(registry, model_dir, lineage, "1.2")  # 1.6, child of 1.2
    tip = _register(registry, model_dir, lineage, branch)  # 1.7 extends the branch
    assert (branch, tip) == ("1.6", "1.7")
    assert _segment_rows(registry, "1.5") == 1
    assert _segment_rows(registry, "1.7") == 2
    assert [v.version for v in registry.lineage("m", "1.7")] == ["1.7", "1.6", "1.2", "1.1", "1.0"]
    assert [v.version for v in registry.lineage("m", "1.5")] == [
        "1.5", "1.4", "1.3", "1.2", "1.1", "1.0"
    ]
    second = registry.register(  # a new MAJOR from scratch: a root of its own
        "m", model_dir, lineage=lineage(None, iteration=Iteration.MODEL), learner_kind="k"
    )
    assert [v.version for v in registry.lineage("m", second.version)] == ["2.0"]


def test_the_chain_reads_records_in_blocks_on_access(
    registry: Registry, model_dir: Path, lineage: MakeLineage
) -> None:
    parent = None
    for _ in range(5):
        parent = _register(registry, model_dir, lineage, parent)
    chain = registry.lineage("m", "1.4")
    assert isinstance(chain, VersionChain) and len(chain) == 5
    registry.update_metrics("m", "1.0", {"auc": 0.9})  # read after the chain was made
    assert chain[-1].version == "1.0" and chain[-1].metrics == {"auc": 0.9}
    assert [v.version for v in chain[1:3]] == ["1.3", "1.2"]
    assert chain == list(registry.lineage("m", "1.4")) and chain != ["1.4"]
    with pytest.raises(IndexError, match="holds 5 versions"):
        chain[5]
    with pytest.raises(NotFoundError):
        registry.lineage("m", "1.9")


def test_blocks_span_segments() -> None:
    reads: list[list[tuple[int, int, int]]] = []

    def fetch(parts: list[tuple[int, int, int]]) -> list[str]:
        reads.append(parts)
        return [f"{s}:{p}" for s, low, high in parts for p in range(high, low - 1, -1)]

    chain = VersionChain([(9, 1), (5, 0), (1, 3)], fetch, block=4)
    assert list(chain) == ["9:1", "9:0", "5:0", "1:3", "1:2", "1:1", "1:0"]
    assert reads == [[(9, 0, 1), (5, 0, 0), (1, 3, 3)], [(1, 0, 2)]]
    assert chain[3] == "1:3" and len(reads) == 2  # cached
    reads.clear()
    long = VersionChain([(1, 99)], fetch, block=4)
    assert long[-1] == "1:0" and reads == [[(1, 0, 3)]]
    assert list(long) == [f"1:{p}" for p in range(99, -1, -1)]
    # Iterating reads runs of 1, 2, 4, 8 then the 9 blocks left but the last, cached already.
    assert [high - low + 1 for [(_, low, high)] in reads[1:]] == [4, 8, 16, 32, 36]
    with pytest.raises(ValueError, match="block"):
        VersionChain([], fetch, block=0)


def test_concurrent_children_of_one_parent_get_distinct_places(
    registry: Registry, model_dir: Path, lineage: MakeLineage
) -> None:
    _register(registry, model_dir, lineage, None)
    made: list[str] = []

    def child() -> None:
        made.append(_register(registry, model_dir, lineage, "1.0"))

    threads = [threading.Thread(target=child) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(made, key=lambda v: int(v.split(".")[1])) == [f"1.{n}" for n in range(1, 9)]
    for version in made:
        assert [v.version for v in registry.lineage("m", version)] == [version, "1.0"]


def test_the_migration_places_existing_versions(
    database_url: str, tmp_path: Path, model_dir: Path, lineage: MakeLineage
) -> None:
    root = tmp_path / "artifacts"
    with Registry(database_url, ArtifactStore(root)) as registry:
        parent = None
        for _ in range(4):  # 1.0 ... 1.3
            parent = _register(registry, model_dir, lineage, parent)
        _register(registry, model_dir, lineage, "1.1")  # 1.4
        _register(registry, model_dir, lineage, "1.4")  # 1.5
        placed = _places(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0001")
            columns = {column["name"] for column in sa.inspect(conn).get_columns("versions")}
            assert "segment_id" not in columns
    finally:
        engine.dispose()
    with Registry(database_url, ArtifactStore(root)) as registry:
        assert _places(database_url) == placed
        assert [v.version for v in registry.lineage("m", "1.5")] == ["1.5", "1.4", "1.1", "1.0"]
        assert _register(registry, model_dir, lineage, "1.5") == "1.6"
        assert [v.version for v in registry.lineage("m", "1.6")][:2] == ["1.6", "1.5"]
