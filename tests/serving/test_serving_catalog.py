"""ModelCatalog: atomic swaps, forced refresh, polling, load failures with backoff."""

from __future__ import annotations

import threading
import time

import pytest
from serving_support import build_loader

from lifelong.errors import ArtifactError, ConfigError, NotFoundError
from lifelong.serving import ModelCatalog
from lifelong.testing.fakes import InMemoryModelLoader, logistic_served_model


def wait_for(condition: object, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


def test_get_loads_lazily_and_unknown_model_lists_known() -> None:
    catalog = ModelCatalog(build_loader())
    assert catalog.get("churn").version == "1.0"
    with pytest.raises(NotFoundError, match=r"model: expected one of \['churn'\], got 'nope'"):
        catalog.get("nope")


def test_refresh_follows_the_champion_at_once() -> None:
    loader = build_loader()
    catalog = ModelCatalog(loader)
    before = catalog.get("churn")
    loader.set_champion("churn", "2.0")
    assert catalog.get("churn") is before  # nothing moves until a check
    assert catalog.refresh("churn") is catalog.get("churn")
    assert catalog.get("churn").version == "2.0" and before.version == "1.0"
    assert catalog.refresh("churn") is catalog.get("churn")  # no reload when unchanged
    assert loader.loads == 2


def test_polling_thread_follows_the_champion() -> None:
    loader = build_loader()
    with ModelCatalog(loader, poll_interval=0.02) as catalog:
        assert catalog.running
        loader.set_champion("churn", "1.1")
        assert wait_for(lambda: catalog.get("churn").version == "1.1")
        loader.add(logistic_served_model("fraud", "1.0"), champion=True)
        assert wait_for(lambda: catalog.models() == ["churn", "fraud"])
    assert not catalog.running


def test_readers_keep_the_old_model_while_the_new_one_loads() -> None:
    loader = build_loader(load_delay=0.3)
    catalog = ModelCatalog(loader)
    catalog.refresh_all()
    loader.set_champion("churn", "1.1")
    swapper = threading.Thread(target=catalog.refresh, args=("churn",))
    swapper.start()
    time.sleep(0.05)
    seen = set()
    while swapper.is_alive():
        seen.add(catalog.get("churn").version)  # never blocks, never fails
        time.sleep(0.005)
    swapper.join()
    assert "1.0" in seen and catalog.get("churn").version == "1.1"


def test_load_failure_keeps_serving_and_backs_off() -> None:
    loader = build_loader()
    catalog = ModelCatalog(loader, poll_interval=0.5)
    catalog.refresh_all()
    loader.broken.add(("churn", "1.1"))
    loader.set_champion("churn", "1.1")
    catalog.refresh_all()
    assert catalog.get("churn").version == "1.0"
    assert [(f.version, f.attempts) for f in catalog.failures()] == [("1.1", 1)]
    catalog.refresh_all()  # within the backoff: not retried
    assert catalog.failures()[0].attempts == 1 and catalog.load_failures == 1
    with pytest.raises(ArtifactError):
        catalog.refresh("churn")  # forced: retried, and the error reaches the caller
    loader.broken.clear()
    assert catalog.refresh("churn") is not None
    assert catalog.get("churn").version == "1.1" and catalog.failures() == []


def test_model_without_champion_is_not_served() -> None:
    loader = build_loader()
    catalog = ModelCatalog(loader)
    catalog.refresh_all()
    loader.set_champion("churn", None)
    assert catalog.refresh("churn") is None
    with pytest.raises(NotFoundError, match="model 'churn': expected a champion version"):
        catalog.get("churn")


def test_loader_returning_another_version_is_refused() -> None:
    class Liar(InMemoryModelLoader):
        def load(self, model: str, version: str):  # type: ignore[no-untyped-def]
            return super().load(model, "1.0")

    loader = Liar()
    loader.add(logistic_served_model("m", "1.0"), champion=True)
    loader.add(logistic_served_model("m", "1.1"))
    catalog = ModelCatalog(loader)
    catalog.refresh_all()
    loader.set_champion("m", "1.1")
    with pytest.raises(NotFoundError, match="expected that model and version"):
        catalog.refresh("m")
    assert catalog.get("m").version == "1.0"


@pytest.mark.parametrize("interval", [0, -1.0, "1", True])
def test_poll_interval_is_validated(interval: object) -> None:
    with pytest.raises(ConfigError, match="poll_interval"):
        ModelCatalog(build_loader(), poll_interval=interval)  # type: ignore[arg-type]
