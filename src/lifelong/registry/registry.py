"""The model registry: versions with lineage, aliases with history, verified artifacts."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import sqlalchemy as sa

from lifelong.clock import Clock, SystemClock, utc
from lifelong.errors import ConfigError, RegistryError
from lifelong.registry.artifacts import ArtifactStore
from lifelong.registry.chain import VersionChain
from lifelong.registry.codec import (
    change_from_row,
    collector_paused,
    lineage_columns,
    mapping,
    record_columns,
    version_from_row,
    version_from_values,
)
from lifelong.registry.db import Database, upgrade
from lifelong.registry.names import (
    check_alias,
    check_model,
    check_status,
    check_text,
    parse_version,
)
from lifelong.registry.queries import (
    UNSET,
    current_alias,
    ensure_model,
    get_version,
    history_moves,
    insert_version,
    latest_major,
    lineage_segments,
    lock_model,
    move_alias,
    segment_records,
    undo_target,
    version_row,
)
from lifelong.registry.schema import alias_history, aliases, models, versions
from lifelong.registry.signing import Signer
from lifelong.registry.types import AliasChange, Iteration, Lineage, ModelVersion

RECORD = record_columns(versions)
_UPDATE_VERSION = versions.update().where(versions.c.id == sa.bindparam("row_id"))
_KNOWN_VERSIONS = 100_000


class Registry:
    """Model versions, their lineage and aliases, in SQLite or PostgreSQL.

    Opening a registry upgrades its schema to the latest migration. Writes are
    transactions that retry on locks and conflicts, so concurrent threads and processes
    get unique, gap-free versions.

    Parameters
    ----------
    url
        SQLAlchemy URL: ``sqlite:///path/registry.db`` or ``postgresql+psycopg://...``.
    artifacts
        Where model directories are stored, content-addressed.
    clock
        Source of ``created_at`` and alias-change times (default: the system clock).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from lifelong.registry.types import Iteration, Lineage, TrainingMode
    >>> tmp = tempfile.TemporaryDirectory()
    >>> model_dir = Path(tmp.name) / "model"
    >>> model_dir.mkdir()
    >>> _ = (model_dir / "weights.npz").write_bytes(b"...")
    >>> lineage = Lineage(parent=None, mode=TrainingMode.STATELESS, iteration=Iteration.MODEL,
    ...                   snapshot=None, config_hash="c0ffee", code_version="0.1.0",
    ...                   git_commit=None, library_versions={})
    >>> with Registry.open(Path(tmp.name) / ".lifelong") as registry:
    ...     first = registry.register("churn", model_dir, lineage=lineage, learner_kind="sklearn")
    ...     change = registry.set_alias(
    ...         "churn", "champion", first.version, actor="ana", reason="first deploy"
    ...     )
    ...     print(first.version, registry.alias_version("churn", "champion"))
    ...     same = registry.register(  # the stored artifact again: checked, not copied
    ...         "churn-eu", artifact_sha256=first.artifact_sha256, lineage=lineage,
    ...         learner_kind="sklearn",
    ...     )
    ...     print(same.version, same.artifact_sha256 == first.artifact_sha256)
    1.0 1.0
    1.0 True
    >>> tmp.cleanup()
    """

    def __init__(self, url: str, artifacts: ArtifactStore, *, clock: Clock | None = None) -> None:
        if not isinstance(artifacts, ArtifactStore):
            raise ConfigError(
                f"artifacts: expected an ArtifactStore, got {type(artifacts).__name__}"
            )
        self.artifacts = artifacts
        self._clock: Clock = clock if clock is not None else SystemClock()
        # (model, version) pairs seen to exist, to skip the parent pre-check of register.
        self._known: set[tuple[str, str]] = set()
        self._known_models: set[str] = set()  # models whose row exists
        self._db = Database(url)
        try:
            upgrade(self._db)
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def open(cls, home: Path, url: str | None = None, *, clock: Clock | None = None) -> Registry:
        """The registry of ``home``: ``home/registry.db`` (or ``url``), ``home/artifacts``."""
        home = Path(home)
        home.mkdir(parents=True, exist_ok=True)
        if url is None:
            url = f"sqlite:///{home / 'registry.db'}"
        return cls(url, ArtifactStore(home / "artifacts"), clock=clock)

    @property
    def url(self) -> str:
        """The database URL, with any password hidden."""
        return self._db.url

    def __repr__(self) -> str:
        return f"Registry(url={self.url!r}, artifacts={self.artifacts!r})"

    @property
    def signer(self) -> Signer:
        """The HMAC key of this installation (``signing.key`` beside the artifact root), for signed formats."""
        return Signer.from_file(self.artifacts.root.parent / "signing.key")

    def close(self) -> None:
        """Release the database connections and the artifact store's fsync threads."""
        self._db.close()
        self.artifacts.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -------------------------------------------------------------- versions
    def register(
        self,
        model: str,
        artifact_dir: Path | None = None,
        *,
        artifact_sha256: str | None = None,
        lineage: Lineage,
        learner_kind: str,
        metrics: dict[str, Any] | None = None,
        evaluation: dict[str, Any] | None = None,
        status: str = "registered",
    ) -> ModelVersion:
        """Record a new version of ``model`` with its artifact folder, stored or to store.

        The artifact is given one way: ``artifact_dir``, a folder to store; or
        ``artifact_sha256``, the manifest of a folder already in :attr:`artifacts` (stored by
        an earlier :meth:`ArtifactStore.put_directory`, as a training worker does, or the
        artifact of another version), which is checked complete, not copied
        (:meth:`ArtifactStore.stage_stored`).

        A data iteration with a parent keeps the parent's MAJOR and takes the next MINOR of
        that MAJOR (1.0 → 1.1 → 1.2); a data iteration without a parent (the same model
        retrained from scratch while nothing serves) takes the next MINOR of the latest MAJOR;
        a model iteration starts the next MAJOR at MINOR 0 (the first version is 1.0). ``evaluation`` and
        ``status`` are written in the same transaction (a report computed before registering
        is never lost to a crash).

        The artifacts are durable before the row exists: the folder is written (or its stored
        blobs checked), then its fsync round runs while the row is inserted, and the
        transaction commits only once the round has ended (:meth:`ArtifactStore.stage_directory`);
        a failed fsync rolls the insert back. No reader, and no database after a crash, ever
        sees a version whose artifact is not complete on disk. The number is allocated by the
        insert itself, under the model's write lock; the parent is checked by that same
        statement (and, unless this registry has seen it, before anything is stored).

        Once this returns, the version survives a crash of the process: SQLite runs in WAL mode
        with ``synchronous=NORMAL``, so the commit has reached the operating system, not
        necessarily the disk. A power loss or kernel crash may undo the last commits (whole
        transactions, never half of one); any version that survives it has its artifacts,
        which were fsynced before its commit. On PostgreSQL, the server's
        ``synchronous_commit`` decides.
        """
        model = check_model(model)
        if (artifact_dir is None) == (artifact_sha256 is None):
            given = "both" if artifact_dir is not None else "neither"
            raise ConfigError(
                f"artifact_dir, artifact_sha256: expected exactly one of them, got {given}"
            )
        columns = lineage_columns(lineage)
        learner_kind = check_text(learner_kind, field="learner_kind", max_length=100)
        metrics_json = mapping({} if metrics is None else metrics, field="metrics")
        evaluation_json = mapping({} if evaluation is None else evaluation, field="evaluation")
        status = check_status(status)
        parent = lineage.parent
        if parent is not None and (model, parent) not in self._known:
            self.get(model, parent)  # fail before storing anything (checked again on insert)
        # Durable before the row exists: the fsync round runs while the row is inserted, and
        # write() waits for it before returning, so before the transaction commits.
        staged = (
            self.artifacts.stage_directory(Path(artifact_dir))
            if artifact_dir is not None
            else self.artifacts.stage_stored(artifact_sha256 or "")
        )
        artifact_sha = staged.sha256
        data_iteration = Iteration(lineage.iteration) is Iteration.DATA
        major = parse_version(parent)[0] if parent is not None and data_iteration else None
        values = {
            **columns,
            "metrics": metrics_json,
            "evaluation": evaluation_json,
            "status": status,
            "artifact_sha256": artifact_sha,
            "learner_kind": learner_kind,
        }

        known_model = model in self._known_models

        def write(conn: sa.Connection) -> ModelVersion:
            now = self._clock.now()
            if not known_model:  # models, like versions, are never deleted
                ensure_model(conn, model, now)
            lock_model(conn, model)
            chosen = latest_major(conn, model) if major is None and data_iteration and parent is None else major
            created = insert_version(conn, model, chosen, {**values, "created_at": now})
            staged.wait()  # every blob durable before the row is committed
            return created

        created = self._db.run(write, write=True)
        self._remember(created)
        return created

    def _remember(self, version: ModelVersion) -> None:
        """Note that ``version`` exists: versions are never deleted, so it always will."""
        if len(self._known) >= _KNOWN_VERSIONS:
            self._known.clear()
        self._known.add((version.model, version.version))
        self._known_models.add(version.model)

    def get(self, model: str, version: str) -> ModelVersion:
        """The version ``version`` (``'MAJOR.MINOR'``) of ``model``; NotFoundError if absent."""
        model = check_model(model)
        parse_version(version)
        found = self._db.run(lambda conn: get_version(conn, model, version), write=False)
        self._remember(found)
        return found

    def versions(self, model: str) -> list[ModelVersion]:
        """Every version of ``model`` ordered by (major, minor); empty for an unknown model."""
        model = check_model(model)
        query = (
            sa.select(*RECORD)
            .where(versions.c.model == model)
            .order_by(versions.c.major, versions.c.minor)
        )
        with collector_paused():
            rows = self._db.run(lambda conn: conn.execute(query).all(), write=False)
            return [version_from_values(*row) for row in rows]

    def latest(self, model: str) -> ModelVersion | None:
        """The highest version of ``model``, or ``None`` when it has none."""
        model = check_model(model)
        query = (
            sa.select(*RECORD)
            .where(versions.c.model == model)
            .order_by(versions.c.major.desc(), versions.c.minor.desc())
            .limit(1)
        )
        row = self._db.run(lambda conn: conn.execute(query).first(), write=False)
        return None if row is None else version_from_row(row)

    def models(self) -> list[str]:
        """Names of the registered models, sorted."""
        query = sa.select(models.c.name).order_by(models.c.name)
        return list(self._db.run(lambda conn: conn.execute(query).scalars().all(), write=False))

    def lineage(self, model: str, version: str) -> VersionChain[ModelVersion]:
        """``version`` then its parent, grandparent... up to the root.

        One query settles which versions the chain holds (NotFoundError if ``version`` is
        absent): each version records its place in a lineage segment, a run of versions
        without a branch, so a chain of any length is a few ranges. The records are read when
        first accessed, 256 per query (see :class:`VersionChain`); ``list(...)`` reads them all.
        """
        model = check_model(model)
        parse_version(version)
        segments = self._db.run(lambda conn: lineage_segments(conn, model, version), write=False)

        def fetch(parts: list[tuple[int, int, int]]) -> list[ModelVersion]:
            return self._db.run(lambda conn: segment_records(conn, parts), write=False)

        return VersionChain(segments, fetch)

    def record_evaluation(
        self, model: str, version: str, report: dict[str, Any], *, status: str | None = None
    ) -> ModelVersion:
        """Store the evaluation report of a version (replacing any earlier one)."""
        model = check_model(model)
        report_json = mapping(report, field="report")
        values: dict[str, Any] = {"evaluation": report_json}
        if status is not None:
            values["status"] = check_status(status)
        return self._update(model, version, lambda row: values)

    def update_metrics(self, model: str, version: str, metrics: dict[str, Any]) -> ModelVersion:
        """Merge ``metrics`` into the version's metrics (new keys win)."""
        model = check_model(model)
        new = mapping(metrics, field="metrics")
        return self._update(model, version, lambda row: {"metrics": {**(row.metrics or {}), **new}})

    def set_status(self, model: str, version: str, status: str) -> ModelVersion:
        """Set the status of a version (``'registered'``, ``'passed'``, ``'rejected'``...)."""
        model = check_model(model)
        status = check_status(status)
        return self._update(model, version, lambda row: {"status": status})

    def _update(self, model: str, version: str, change: Any) -> ModelVersion:
        parse_version(version)

        def write(conn: sa.Connection) -> ModelVersion:
            row = version_row(conn, model, version, lock=True)
            conn.execute(_UPDATE_VERSION, {**change(row), "row_id": row.id})  # SET: the changed columns
            return get_version(conn, model, version)

        return self._db.run(write, write=True)

    # --------------------------------------------------------------- aliases
    def _who(self, actor: str, reason: str) -> tuple[str, str]:
        return (
            check_text(actor, field="actor", max_length=200),
            check_text(reason, field="reason", max_length=10_000, allow_empty=True),
        )

    def set_alias(
        self,
        model: str,
        alias: str,
        version: str,
        *,
        actor: str,
        reason: str,
        expected: str | None | object = UNSET,
    ) -> AliasChange:
        """Point ``alias`` at ``version`` and record who moved it, when and why.

        With ``expected`` (a version string, or ``None`` for "no alias yet"), the move is a
        compare-and-set: RegistryError if the alias points elsewhere.
        """
        model, alias = check_model(model), check_alias(alias)
        parse_version(version)
        if expected is not UNSET and expected is not None:
            parse_version(expected, field="expected")
        actor, reason = self._who(actor, reason)
        return self._db.run(
            lambda conn: move_alias(
                conn,
                model,
                alias,
                version,
                now=self._clock.now(),
                actor=actor,
                reason=reason,
                kind="set",
                expected=expected,
            ),
            write=True,
        )

    def delete_alias(self, model: str, alias: str, *, actor: str, reason: str) -> AliasChange:
        """Remove ``alias`` (recorded in the history); NotFoundError if it does not exist."""
        model, alias = check_model(model), check_alias(alias)
        actor, reason = self._who(actor, reason)
        return self._db.run(
            lambda conn: move_alias(
                conn,
                model,
                alias,
                None,
                now=self._clock.now(),
                actor=actor,
                reason=reason,
                kind="delete",
            ),
            write=True,
        )

    def rollback(
        self, model: str, alias: str = "champion", *, actor: str, reason: str
    ) -> AliasChange:
        """Undo the latest move of ``alias`` that is not undone yet.

        After 1.0 → 1.1 → 1.2, a rollback restores 1.1 and a second one 1.0: a rollback
        never returns to the version it replaced. RegistryError when nothing is left to undo.
        """
        model, alias = check_model(model), check_alias(alias)
        actor, reason = self._who(actor, reason)

        def write(conn: sa.Connection) -> AliasChange:
            current = current_alias(conn, model, alias, lock=True)
            target = undo_target(history_moves(conn, model, alias))
            if target is None:
                raise RegistryError(
                    f"alias {alias!r} of model {model!r}: no earlier version to roll back to "
                    f"(it points at {current!r})"
                )
            return move_alias(
                conn,
                model,
                alias,
                target,
                now=self._clock.now(),
                actor=actor,
                reason=reason,
                kind="rollback",
                expected=current,
            )

        return self._db.run(write, write=True)

    def get_alias(self, model: str, alias: str) -> ModelVersion | None:
        """The version ``alias`` points at, or ``None``."""
        model, alias = check_model(model), check_alias(alias)
        query = (
            sa.select(*RECORD)
            .select_from(aliases.join(versions, aliases.c.version_id == versions.c.id))
            .where(aliases.c.model == model, aliases.c.alias == alias)
        )
        row = self._db.run(lambda conn: conn.execute(query).first(), write=False)
        return None if row is None else version_from_row(row)

    def alias_version(self, model: str, alias: str) -> str | None:
        """The version string ``alias`` points at, or ``None`` (one indexed query)."""
        model, alias = check_model(model), check_alias(alias)
        return self._db.run(lambda conn: current_alias(conn, model, alias, lock=False), write=False)

    def aliases(self, model: str) -> dict[str, str]:
        """Every alias of ``model`` and the version it points at."""
        model = check_model(model)
        query = (
            sa.select(aliases.c.alias, versions.c.version)
            .select_from(aliases.join(versions, aliases.c.version_id == versions.c.id))
            .where(aliases.c.model == model)
            .order_by(aliases.c.alias)
        )
        rows = self._db.run(lambda conn: conn.execute(query).all(), write=False)
        return {str(alias): str(version) for alias, version in rows}

    def alias_history(self, model: str, alias: str | None = None) -> list[AliasChange]:
        """Alias moves of ``model`` (of one alias if given), oldest first."""
        model = check_model(model)
        query = sa.select(alias_history).where(alias_history.c.model == model)
        if alias is not None:
            query = query.where(alias_history.c.alias == check_alias(alias))
        query = query.order_by(alias_history.c.at, alias_history.c.id)
        rows = self._db.run(lambda conn: conn.execute(query).all(), write=False)
        return [change_from_row(row) for row in rows]

    def alias_at(self, model: str, alias: str, when: datetime) -> str | None:
        """The version ``alias`` pointed at, at time ``when`` (``None`` if it did not exist)."""
        model, alias = check_model(model), check_alias(alias)
        if not isinstance(when, datetime):
            raise ConfigError(f"when: expected a datetime, got {when!r}")
        query = (
            sa.select(alias_history.c.to_version)
            .where(
                alias_history.c.model == model,
                alias_history.c.alias == alias,
                alias_history.c.at <= utc(when),
            )
            .order_by(alias_history.c.at.desc(), alias_history.c.id.desc())
            .limit(1)
        )
        value = self._db.run(lambda conn: conn.execute(query).scalar_one_or_none(), write=False)
        return None if value is None else str(value)

    # ------------------------------------------------------------- artifacts
    def load_artifact(self, model: str, version: str, dest: Path) -> Path:
        """Write the verified artifact directory of a version to ``dest``; return ``dest``."""
        found = self.get(model, version)
        return self.artifacts.materialize(found.artifact_sha256, Path(dest))


__all__ = ["UNSET", "Registry"]
