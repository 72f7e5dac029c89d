"""The dashboard in a real browser: every page loads, charts draw offline, actions change the registry."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from dashboard_support import ADMIN_TOKEN, Served

from lifelong.dashboard import source_report, write_report


def _drawn(page: Any, name: str) -> Any:
    """Wait until the chart ``name`` is drawn by Plotly; return its element."""
    chart = page.locator(f"#chart-{name}[data-drawn='true']")
    chart.wait_for(state="visible")
    return chart


def _axis_titles(chart: Any) -> list[str]:
    return [
        text.strip() for text in chart.locator(".g-xtitle text, .g-ytitle text").all_text_contents()
    ]


def test_index_lists_the_demo_model(served: Served, page: Any, artifacts: Path) -> None:
    page.goto(served.url + "/")
    row = page.locator("#models-table tr[data-model='ctr']")
    row.wait_for()
    assert str(len(served.summary["versions"])) in row.inner_text()
    page.screenshot(path=str(artifacts / "dashboard-index.png"), full_page=True)


def test_model_page_draws_lineage_and_metrics_with_units_offline(
    served: Served, page: Any, artifacts: Path
) -> None:
    outside: list[str] = []
    page.on(
        "request",
        lambda request: None if request.url.startswith(served.url) else outside.append(request.url),
    )
    page.goto(served.url + "/models/ctr")
    lineage = _drawn(page, "lineage")
    names = set(lineage.locator("g.textpoint text").all_text_contents())
    assert names == {row["version"] for row in served.summary["versions"]}
    assert any("order of registration" in title for title in _axis_titles(lineage))
    for name, unit in (
        ("served_metric", "ROC AUC, 0–1"),
        ("served_accuracy", "fraction correct, 0–1"),
        ("holdout", "ROC AUC, 0–1"),
    ):
        titles = _axis_titles(_drawn(page, name))
        assert any(unit in title for title in titles), (name, titles)
        assert any("day" in title or "version" in title for title in titles), (name, titles)
    _drawn(page, "traffic")
    rows = page.locator("#versions-table tbody tr")
    assert rows.count() == len(served.summary["versions"])
    assert page.locator("#evaluations details").count() == len(served.summary["versions"])
    assert page.locator("#evaluations .gates td").first.is_visible()
    assert outside == [], outside
    page.screenshot(path=str(artifacts / "dashboard-model.png"), full_page=True)
    lineage.screenshot(path=str(artifacts / "dashboard-lineage.png"))


def test_monitoring_panels_fill_in_from_the_background(
    served: Served, page: Any, artifacts: Path
) -> None:
    page.goto(served.url + "/models/ctr")
    deadline = time.monotonic() + 60
    while not page.locator("#chart-panel_drift").count():
        assert time.monotonic() < deadline, page.locator("main").inner_text()[:2000]
        time.sleep(0.5)
        page.reload()
    estimated = _drawn(page, "panel_estimated_performance")
    assert "end of the window (UTC)" in _axis_titles(estimated)
    assert "roc_auc (ROC AUC, 0–1)" in _axis_titles(estimated)
    drift = _drawn(page, "panel_drift")
    assert {"end of the window (UTC)", "feature"} <= set(_axis_titles(drift))
    assert page.locator("#panel-drift tbody tr").count() >= 1
    page.locator("#panel-drift").screenshot(path=str(artifacts / "dashboard-drift.png"))
    page.screenshot(path=str(artifacts / "dashboard-model-monitoring.png"), full_page=True)
    page.locator("#panel-estimated_performance").screenshot(
        path=str(artifacts / "dashboard-estimated.png")
    )


def test_version_page_shows_lineage_and_each_gate(
    served: Served, page: Any, artifacts: Path
) -> None:
    version = served.summary["promotions"][-1]["version"]
    page.goto(f"{served.url}/models/ctr/versions/{version}")
    page.locator("#version-lineage").wait_for()
    assert "chain to the root" in page.locator("#version-lineage").inner_text()
    gates = page.locator("#evaluation .gates tbody tr")
    assert gates.count() == 2
    assert {"min_rows", "not_worse"} <= set(gates.locator("td:first-child").all_inner_texts())
    page.screenshot(path=str(artifacts / "dashboard-version.png"), full_page=True)


def test_unknown_model_page_is_a_404(served: Served, page: Any) -> None:
    response = page.goto(served.url + "/models/nope")
    assert response is not None and response.status == 404
    assert "nope" in page.locator("#error-message").inner_text()


def _act(page: Any, selector: str, *, expect: str) -> str:
    page.locator(selector).click()
    status = page.locator("#action-status")
    status.filter(has_text=expect).wait_for()
    return str(status.inner_text())


def test_actions_without_the_token_are_refused(served: Served, page: Any) -> None:
    registry = served.source.registry
    champion = registry.alias_version("ctr", "champion")
    history = len(registry.alias_history("ctr"))
    page.goto(served.url + "/models/ctr")
    page.fill("#admin-token", "")
    assert "refused (401)" in _act(page, "#rollback-button", expect="refused")
    page.fill("#admin-token", "not-the-token")
    assert "refused (403)" in _act(page, "#rollback-button", expect="refused")
    assert registry.alias_version("ctr", "champion") == champion
    assert len(registry.alias_history("ctr")) == history


def test_promote_then_rollback_from_the_page_move_the_champion(
    served: Served, page: Any, artifacts: Path
) -> None:
    registry = served.source.registry
    champion = registry.alias_version("ctr", "champion")
    candidates = [
        row["version"] for row in served.summary["promotions"] if row["version"] != champion
    ]
    assert candidates, served.summary
    target = candidates[0]
    page.goto(served.url + "/models/ctr")
    page.fill("#admin-token", ADMIN_TOKEN)
    page.fill("#action-reason", "browser test")
    _act(
        page,
        f"#versions-table tr[data-version='{target}'] button[data-action='promote']",
        expect="done",
    )
    assert registry.alias_version("ctr", "champion") == target
    last = registry.alias_history("ctr")[-1]
    assert (last.from_version, last.to_version, last.actor, last.reason) == (
        champion,
        target,
        "dashboard",
        "browser test",
    )

    page.locator("#champion-badge", has_text=target).wait_for()
    page.screenshot(path=str(artifacts / "dashboard-after-promote.png"))
    _act(page, "#rollback-button", expect="done")
    assert registry.alias_version("ctr", "champion") == champion
    page.locator("#champion-badge", has_text=champion).wait_for()


def test_start_and_stop_an_experiment_from_the_page(served: Served, page: Any) -> None:
    registry = served.source.registry
    champion = registry.alias_version("ctr", "champion")
    page.goto(served.url + "/models/ctr")
    page.fill("#admin-token", ADMIN_TOKEN)
    options = [
        value
        for value in page.locator("#experiment-version option").all_inner_texts()
        if value != champion
    ]
    assert options
    page.select_option("#experiment-version", options[0])
    _act(page, "#experiment-start", expect="done")
    assert registry.alias_version("ctr", "challenger") == options[0]
    page.locator("#experiment-status", has_text=options[0]).wait_for()
    _act(page, "#experiment-stop", expect="done")
    assert registry.alias_version("ctr", "challenger") is None
    assert registry.alias_history("ctr")[-1].to_version is None


def test_static_report_opens_offline_with_every_chart(
    served: Served, page: Any, artifacts: Path, tmp_path: Path
) -> None:
    report = write_report(
        tmp_path / "report.html", source_report(served.source, "ctr", summary=served.summary)
    )
    blocked: list[str] = []

    def refuse(route: Any) -> None:
        blocked.append(route.request.url)
        route.abort()

    page.route("http*://**/*", refuse)
    page.goto(report.as_uri())
    for name in ("demo", "lineage", "holdout", "served_metric", "served_accuracy"):
        _drawn(page, name)
    titles = _axis_titles(page.locator("#chart-demo"))
    assert "simulated day (1 = first day)" in titles and "roc_auc (ROC AUC, 0–1)" in titles
    assert blocked == []
    page.screenshot(path=str(artifacts / "report.png"), full_page=True)
