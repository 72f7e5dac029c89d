"""The models the server answers with, swapped atomically when the champion moves.

Readers call :meth:`ModelCatalog.get`, one dictionary lookup on an immutable mapping. A writer
(the polling thread, or :meth:`ModelCatalog.refresh` after an admin action) loads the new
version completely, then publishes a new mapping in one reference assignment: a request that
already holds the old :class:`ServedModel` finishes on it, and no request sees a half-loaded one.
An alias move made through the server (:meth:`ModelCatalog.swap`) loads the target first, then
holds new lookups of that model for the few milliseconds of the commit, so no request that
starts after the move is answered by the version it replaced.

Examples
--------
>>> from lifelong.testing.fakes import InMemoryModelLoader, logistic_served_model
>>> loader = InMemoryModelLoader()
>>> loader.add(logistic_served_model("churn", "1.0"), champion=True)
>>> loader.add(logistic_served_model("churn", "1.1", seed=1))
>>> catalog = ModelCatalog(loader)
>>> catalog.get("churn").version
'1.0'
>>> loader.set_champion("churn", "1.1")
>>> catalog.refresh("churn").version
'1.1'
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType, TracebackType
from typing import Self, TypeVar

from lifelong.clock import Clock, SystemClock
from lifelong.errors import ConfigError, NotFoundError
from lifelong.serving.model import ModelLoader, ServedModel

log = logging.getLogger(__name__)

_MAX_BACKOFF_SECONDS = 30.0
_RECENT_VERSIONS = 8
_MAX_SWAP_WAIT_SECONDS = 10.0
T = TypeVar("T")


@dataclass(frozen=True)
class LoadFailure:
    """A version that failed to load: how often, the last error, and when to try again."""

    version: str
    attempts: int
    error: str
    retry_at: float


class ModelCatalog:
    """Current :class:`ServedModel` per model, following the loader's champion.

    Parameters
    ----------
    loader
        Source of champion versions and loaded models.
    poll_interval
        Seconds between two checks of every model's champion by the background thread.
    clock
        Time source for the ``loaded_at`` records.

    Examples
    --------
    >>> from lifelong.testing.fakes import InMemoryModelLoader, logistic_served_model
    >>> loader = InMemoryModelLoader()
    >>> loader.add(logistic_served_model("churn", "1.0"), champion=True)
    >>> with ModelCatalog(loader, poll_interval=0.05) as catalog:
    ...     catalog.models()
    ['churn']
    """

    def __init__(
        self, loader: ModelLoader, *, poll_interval: float = 0.2, clock: Clock | None = None
    ) -> None:
        if (
            isinstance(poll_interval, bool)
            or not isinstance(poll_interval, (int, float))
            or not poll_interval > 0
        ):
            raise ConfigError(
                f"poll_interval: expected a number of seconds > 0, got {poll_interval!r}"
            )
        self._loader = loader
        self._poll_interval = float(poll_interval)
        self._clock = clock or SystemClock()
        self._entries: Mapping[str, ServedModel] = MappingProxyType({})
        self._loaded_at: Mapping[str, datetime] = MappingProxyType({})
        self._publish_lock = threading.Lock()
        self._locks_lock = threading.Lock()
        self._model_locks: dict[str, threading.Lock] = {}
        self._failures: dict[tuple[str, str], LoadFailure] = {}
        self._initialised = False
        self._listed: frozenset[str] = frozenset()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._recent: OrderedDict[tuple[str, str], ServedModel] = OrderedDict()
        self._held: frozenset[str] = frozenset()
        self._swapped = threading.Condition(threading.Lock())
        self.load_failures = 0
        self.swaps = 0

    # -- readers -------------------------------------------------------------------------------

    @property
    def loader(self) -> ModelLoader:
        """Where versions come from (challengers are loaded through it too)."""
        return self._loader

    def get(self, model: str) -> ServedModel:
        """The model version answering now; the error lists the models being served."""
        if model in self._held:
            self._wait_swap(model)
        served = self._entries.get(model)
        if served is not None:
            return served
        if not self._initialised:
            self.refresh_all()
            served = self._entries.get(model)
            if served is not None:
                return served
        if model in self._listed:
            raise NotFoundError(
                f"model {model!r}: expected a champion version to serve, got none (nothing promoted)"
            )
        raise NotFoundError(f"model: expected one of {sorted(self._entries)}, got {model!r}")

    def models(self) -> list[str]:
        """Names of the models being served, sorted."""
        if not self._initialised:
            self.refresh_all()
        return sorted(self._entries)

    def snapshot(self) -> Mapping[str, ServedModel]:
        """The current, immutable mapping of model name to served version."""
        return self._entries

    def loaded_at(self, model: str) -> datetime | None:
        """When the version now serving ``model`` was published."""
        return self._loaded_at.get(model)

    def failures(self) -> list[LoadFailure]:
        """Versions that failed to load and are being retried with backoff."""
        return list(self._failures.values())

    @property
    def running(self) -> bool:
        """Whether the polling thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    # -- writers -------------------------------------------------------------------------------

    def refresh(self, model: str) -> ServedModel | None:
        """Check ``model``'s champion now and swap to it; load errors are raised, not retried later.

        Returns the version serving after the check, or None when the model has no champion.
        """
        return self._check(model, force=True)

    def swap(self, model: str, commit: Callable[[], T], *, version: str | None = None) -> T:
        """Run ``commit`` (a move of the champion alias) and serve its result at once.

        ``version``, the expected new champion, is loaded before the move. While ``commit``
        runs and the new version is published, lookups of ``model`` wait (a few milliseconds;
        requests already answering finish on the old version), so every request that starts
        after the move is answered by the new champion. Load errors are logged and left to
        :meth:`refresh`, which the admin API calls next and which reports them.
        """
        if version is not None:
            try:
                self._remember(self._loader.load(model, version))
            except Exception:  # the commit will refuse an unknown version with a clear error
                log.debug("model catalog: preloading %r %s failed", model, version, exc_info=True)
        with self._swapped:
            self._held = self._held | {model}
        try:
            result = commit()
            try:
                self._check(model, force=False)
            except Exception:
                log.exception("model catalog: following the move of %r failed", model)
            return result
        finally:
            with self._swapped:
                self._held = self._held - {model}
                self._swapped.notify_all()

    def _wait_swap(self, model: str) -> None:
        with self._swapped:
            self._swapped.wait_for(lambda: model not in self._held, timeout=_MAX_SWAP_WAIT_SECONDS)

    def _remember(self, served: ServedModel) -> None:
        with self._publish_lock:
            self._recent[(served.model, served.version)] = served
            self._recent.move_to_end((served.model, served.version))
            while len(self._recent) > _RECENT_VERSIONS:
                self._recent.popitem(last=False)

    def refresh_all(self) -> None:
        """Check every model the loader lists; drop models it no longer lists."""
        names = list(self._loader.models())
        self._listed = frozenset(names)
        self._initialised = True
        for name in names:
            try:
                self._check(name, force=False)
            except Exception:  # one broken model never stops the others
                log.exception("model catalog: checking model %r failed", name)
        listed = set(names)
        gone = [name for name in self._entries if name not in listed]
        for name in gone:
            self._publish(name, None)

    def start(self) -> Self:
        """Load every champion now, then follow changes in a background thread."""
        if self.running:
            return self
        self.refresh_all()
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name="lifelong-model-catalog", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the polling thread (the served models stay)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals -----------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.wait(self._poll_interval):
            try:
                self.refresh_all()
            except Exception:
                log.exception("model catalog: polling the loader failed")

    def _lock_for(self, model: str) -> threading.Lock:
        with self._locks_lock:
            lock = self._model_locks.get(model)
            if lock is None:
                lock = self._model_locks[model] = threading.Lock()
            return lock

    def _check(self, model: str, *, force: bool) -> ServedModel | None:
        with self._lock_for(model):
            version = self._loader.champion_version(model)
            current = self._entries.get(model)
            if version is None:
                if current is not None:
                    log.warning(
                        "model catalog: %r has no champion any more; no longer served", model
                    )
                    self._publish(model, None)
                return None
            if current is not None and current.version == version:
                return current
            key = (model, version)
            failure = self._failures.get(key)
            if failure is not None and not force and time.monotonic() < failure.retry_at:
                return current
            try:
                with self._publish_lock:
                    recent = self._recent.get(key)
                served = recent if recent is not None else self._loader.load(model, version)
                if served.model != model or served.version != version:
                    raise NotFoundError(
                        f"loader.load({model!r}, {version!r}): expected that model and version, "
                        f"got {served.model!r} {served.version!r}"
                    )
            except Exception as exc:
                self._record_failure(key, exc, failure)
                if force:
                    raise
                return current
            self._failures.pop(key, None)
            self._publish(model, served)
            log.info(
                "model catalog: %r now served by version %s (was %s)",
                model,
                version,
                current.version if current is not None else None,
            )
            return served

    def _record_failure(
        self, key: tuple[str, str], exc: Exception, previous: LoadFailure | None
    ) -> None:
        attempts = 1 if previous is None else previous.attempts + 1
        delay = min(self._poll_interval * 2.0**attempts, _MAX_BACKOFF_SECONDS)
        self._failures[key] = LoadFailure(
            key[1], attempts, f"{type(exc).__name__}: {exc}", time.monotonic() + delay
        )
        self.load_failures += 1
        log.error(
            "model catalog: loading %r version %s failed (attempt %d, next try in %.1f s): %s",
            key[0],
            key[1],
            attempts,
            delay,
            exc,
        )

    def _publish(self, model: str, served: ServedModel | None) -> None:
        with self._publish_lock:
            entries = dict(self._entries)
            loaded = dict(self._loaded_at)
            if served is None:
                entries.pop(model, None)
                loaded.pop(model, None)
            else:
                entries[model] = served
                loaded[model] = self._clock.now()
                self.swaps += 1
                self._recent[(model, served.version)] = served  # a rollback returns at once
                self._recent.move_to_end((model, served.version))
                while len(self._recent) > _RECENT_VERSIONS:
                    self._recent.popitem(last=False)
            self._loaded_at = MappingProxyType(loaded)
            self._entries = MappingProxyType(entries)


__all__ = ["LoadFailure", "ModelCatalog"]
