"""Fixtures of the dashboard tests: a real registry made by the demo, a real server, a real browser.

The demo runs for a few simulated days (the real loop: prediction log, natural labels,
stateful updates, gates, promotions); the dashboard is served by uvicorn on a free loopback
port in a thread; Playwright drives Debian's Chromium from /usr/bin/chromium, headless.
Without Chromium the browser tests skip with the reason (and fail under CI=true, where
.ci/run installs it).
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from dashboard_support import (
    ADMIN_TOKEN,
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    Served,
    open_source,
    require,
)

from lifelong.dashboard import create_dashboard
from lifelong.demo import run_demo


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A few simulated days of the demo: a registry with model and data iterations, a prediction log."""
    workdir = tmp_path_factory.mktemp("dashboard-demo")
    summary = run_demo(workdir, days=5, impressions_per_day=600, shift_day=3, seed=3)
    return workdir, summary.to_dict()


@pytest.fixture
def demo_copy(demo_run: tuple[Path, dict[str, Any]], tmp_path: Path) -> Path:
    """A private copy of the demo's folder whose spec points at the copied home."""
    prepared, _ = demo_run
    target = tmp_path / "demo"
    shutil.copytree(prepared, target)
    spec = target / "lifelong.yaml"
    spec.write_text(spec.read_text().replace(str(prepared), str(target)))
    return target


@pytest.fixture(scope="session")
def served(demo_run: tuple[Path, dict[str, Any]]) -> Iterator[Served]:
    """The dashboard of the demo's registry, served by uvicorn on a free loopback port."""
    workdir, summary = demo_run
    source = open_source(workdir)
    app = create_dashboard(source, admin_token=ADMIN_TOKEN)
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", ws="none", lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, name="uvicorn-dashboard", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the dashboard did not start within 30 s")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Served(f"http://127.0.0.1:{port}", source, workdir, summary)
    finally:
        server.should_exit = True
        thread.join(15)
        source.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's, never a downloaded build) driven by Playwright.

    Module-scoped: Playwright's sync API keeps an event loop running in the main thread while it
    is open, which would break every later test that calls ``asyncio.run``.
    """
    require(
        CHROMIUM.is_file(), f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser tab, 1400×1000."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go (tests/artifacts, ignored by git)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
