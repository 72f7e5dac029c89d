"""The dashboard's data, JSON API, actions, static report and commands, without a browser."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dashboard_support import ADMIN_TOKEN, open_source
from typer.testing import CliRunner, Result

from lifelong.cli import app
from lifelong.dashboard import (
    DashboardSource,
    build_report,
    create_dashboard,
    source_report,
    write_report,
)
from lifelong.dashboard.render import inline_assets
from lifelong.dashboard.served import ALL, latest_event_time, served_daily
from lifelong.dashboard.source import DEFAULT_PROVIDERS

LIVE = next(entry for entry in DEFAULT_PROVIDERS if entry.title == "live numbers")

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from starlette.testclient import TestClient

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def source(demo_copy: Path) -> Iterator[DashboardSource]:
    """Without the monitoring panels (the browser tests cover them): fast pages and reports."""
    opened = open_source(demo_copy, providers=(LIVE,))
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def client(source: DashboardSource) -> Iterator[TestClient]:
    with TestClient(create_dashboard(source, admin_token=ADMIN_TOKEN)) as test_client:
        yield test_client


def run_cli(*args: str) -> Result:
    """The command line in-process (exit code and everything printed, errors included)."""
    return CliRunner().invoke(app, list(args), catch_exceptions=False, terminal_width=400)


def test_served_accuracy_per_day_is_the_labeled_prediction_log(source: DashboardSource) -> None:
    assert source.store is not None and source.labeler is not None
    now = latest_event_time(source.store)
    assert now is not None
    served = served_daily(source.store, source.labeler, "ctr", metric="roc_auc", now=now)
    labeled = source.labeler.label(source.store, None, None, now=now).frame
    labeled = labeled[labeled["model_version"].notna()]
    days = labeled["event_time"].dt.strftime("%Y-%m-%d")
    totals = [row for row in served.rows if row.version == ALL]
    assert [row.day for row in totals] == sorted(days.unique())
    assert sum(row.rows for row in totals) == len(labeled) == served.labeled
    for row in totals:
        chosen = labeled[days == row.day]
        assert row.accuracy == round(
            float(np.mean(chosen["prediction"].to_numpy() == chosen["label"].to_numpy())), 4
        )
        per_version = [item for item in served.rows if item.day == row.day and item.version != ALL]
        assert sum(item.rows for item in per_version) == row.rows
        assert {item.version for item in per_version} == set(chosen["model_version"])
    assert any(row.metric is not None and 0.5 < row.metric <= 1.0 for row in totals)


def test_model_json_has_lineage_promotions_gates_and_served_days(
    client: TestClient, demo_run: tuple[Path, dict[str, Any]]
) -> None:
    _, summary = demo_run
    listed = client.get("/api/models").json()
    assert [item["model"] for item in listed] == ["ctr"]
    data = client.get("/api/models/ctr").json()
    assert [row["version"] for row in data["versions"]] == [
        row["version"] for row in summary["versions"]
    ]
    promoted = {row["version"] for row in summary["promotions"]}
    for row in data["versions"]:
        assert row["ever_champion"] == (row["version"] in promoted)
        assert all(p["actor"] and p["at"] for p in row["promotions"])
        assert row["verdict"] in {"passed", "rejected"}
        assert [gate["gate"] for gate in row["evaluation"]["gates"]] == ["min_rows", "not_worse"]
    assert data["champion"] == summary["promotions"][-1]["version"]
    assert data["served"]["rows"] and data["traffic"]
    assert abs(sum(item["share"] for item in data["traffic"]) - 1.0) < 1e-3
    assert client.get("/api/models/nope").status_code == 404


def test_actions_without_a_valid_token_are_refused_and_change_nothing(
    source: DashboardSource, client: TestClient
) -> None:
    before = source.registry.alias_history("ctr")
    body = {"version": source.registry.versions("ctr")[0].version}
    missing = client.post("/api/models/ctr/promote", json=body)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert (
        client.post(
            "/api/models/ctr/rollback", headers={"Authorization": "Bearer wrong"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/api/models/ctr/experiment/start", json=body, headers={"Authorization": "Basic x"}
        ).status_code
        == 401
    )
    with TestClient(create_dashboard(source, admin_token=None)) as disabled:
        refused = disabled.post("/api/models/ctr/rollback", headers=AUTH)
        assert refused.status_code == 403 and "disabled" in refused.json()["error"]
    assert source.registry.alias_history("ctr") == before


def test_actions_check_their_input(
    source: DashboardSource, client: TestClient, demo_run: tuple[Path, dict[str, Any]]
) -> None:
    _, summary = demo_run
    rejected = summary["rejections"][0]["version"]
    champion = source.registry.alias_version("ctr", "champion")
    extra = client.post(
        "/api/models/ctr/promote", json={"version": champion, "force": True}, headers=AUTH
    )
    assert extra.status_code == 422 and extra.json()["field"] == "force"
    assert (
        client.post("/api/models/ctr/promote", json={"version": "9.9"}, headers=AUTH).status_code
        == 404
    )
    assert (
        client.post("/api/models/ctr/promote", json={"version": rejected}, headers=AUTH).status_code
        == 409
    )
    assert (
        client.post(
            "/api/models/ctr/experiment/start", json={"version": rejected}, headers=AUTH
        ).status_code
        == 409
    )
    assert (
        client.post(
            "/api/models/ctr/experiment/start", json={"version": champion}, headers=AUTH
        ).status_code
        == 409
    )
    weight = client.post(
        "/api/models/ctr/experiment/start", json={"version": champion, "weight": 1.5}, headers=AUTH
    )
    assert weight.status_code == 422 and weight.json()["field"] == "weight"
    assert (
        client.post("/api/models/ctr/promote", content=b"[" * 50, headers=AUTH).status_code == 400
    )
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400
    assert source.registry.alias_version("ctr", "champion") == champion


def test_promote_rollback_and_experiments_move_aliases_with_history(
    source: DashboardSource, client: TestClient
) -> None:
    registry = source.registry
    champion = registry.alias_version("ctr", "champion")
    target = next(
        v.version
        for v in registry.versions("ctr")
        if v.status != "rejected" and v.version != champion
    )
    moved = client.post(
        "/api/models/ctr/promote",
        json={"version": target, "reason": "api test"},
        headers={**AUTH, "X-Actor": "ana"},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["from"] == champion and registry.alias_version("ctr", "champion") == target
    last = registry.alias_history("ctr")[-1]
    assert (last.actor, last.reason) == ("ana", "api test")
    assert client.post("/api/models/ctr/rollback", headers=AUTH).json()["to"] == champion
    started = client.post(
        "/api/models/ctr/experiment/start", json={"version": target}, headers=AUTH
    )
    assert started.status_code == 200 and "no prediction server linked" in started.json()["message"]
    assert registry.alias_version("ctr", "challenger") == target
    assert client.post("/api/models/ctr/experiment/stop", headers=AUTH).status_code == 200
    assert registry.alias_version("ctr", "challenger") is None
    assert client.post("/api/models/ctr/experiment/stop", headers=AUTH).status_code == 404


def test_static_report_is_one_self_contained_file(
    source: DashboardSource, demo_run: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    _, summary = demo_run
    html = source_report(source, "ctr", summary=summary)
    plotly_js = str(inline_assets()["plotly_js"])
    assert plotly_js in html and len(plotly_js) > 1_000_000
    ours = html.replace(plotly_js, "")
    for external in ("<script src=", "<link ", "@import", "http://", "https://"):
        assert external not in ours
    assert html.count('type="application/json"') >= 5
    assert "static (first version, frozen)" in html and "Promotions and rejections" in html
    for row in summary["versions"]:
        assert f'data-version="{row["version"]}"' in html
    path = write_report(tmp_path / "out" / "report.html", html)
    assert path.read_text(encoding="utf-8") == html
    assert [item.name for item in path.parent.iterdir()] == ["report.html"]
    with pytest.raises(ValueError, match="summary: expected the keys"):
        build_report(summary={"metric": "roc_auc"})


def test_report_command_writes_the_file_and_rejects_a_bad_summary(
    demo_copy: Path, tmp_path: Path
) -> None:
    spec = str(demo_copy / "lifelong.yaml")
    summary = tmp_path / "summary.json"
    summary.write_text(
        json.dumps({"metric": "roc_auc", "shift_day": 1, "daily": [], "versions": []})
    )
    done = run_cli(
        "report-html", "-c", spec, "-o", str(tmp_path / "r.html"), "--summary", str(summary)
    )
    assert done.exit_code == 0, done.output
    assert f"report: {tmp_path / 'r.html'}" in done.output.replace("\n", "")
    assert "lineage of ctr" in (tmp_path / "r.html").read_text(encoding="utf-8").lower()
    broken = run_cli("report-html", "-c", spec, "--summary", str(tmp_path / "missing.json"))
    assert broken.exit_code == 2 and "--summary" in broken.output
    unknown = run_cli("report-html", "-c", spec, "--model", "nope")
    assert unknown.exit_code == 2 and "nope" in unknown.output
    helped = run_cli("dashboard", "--help")
    assert helped.exit_code == 0 and "--server" in helped.output and "--port" in helped.output


def test_demo_writes_its_report_and_prints_the_path(tmp_path: Path) -> None:
    report = tmp_path / "d" / "report.html"
    done = run_cli(
        "demo",
        "--workdir",
        str(tmp_path / "d"),
        "--days",
        "3",
        "--impressions-per-day",
        "240",
        "--shift-day",
        "1",
        "--report",
        str(report),
    )
    assert done.exit_code == 0, done.output
    assert f"report: {report}" in done.output.replace("\n", "")
    assert "lifelong demo: ctr" in report.read_text(encoding="utf-8")


def test_a_simulation_report_needs_no_spec(tmp_path: Path) -> None:
    timeline = [
        {"until": f"2024-03-0{day}T00:00:00+00:00", "accuracy": 0.7 + 0.01 * day}
        for day in range(1, 6)
    ]
    policies = {
        name: {
            "accuracy": accuracy,
            "samples_per_s": 900.0,
            "train_cpu_s": 1.5,
            "versions": 4,
            "promotions": 3,
            "timeline": [*timeline, {"until": "end", "accuracy": accuracy}],
        }
        for name, accuracy in (("static", 0.61), ("stateful-daily", 0.74))
    }
    simulation = tmp_path / "simulation.json"
    simulation.write_text(
        json.dumps({"rows": 5000, "features": {}, "label_delay_s": 1800.0, "policies": policies})
    )
    done = run_cli(
        "report-html",
        "-c",
        str(tmp_path / "absent.yaml"),
        "--simulation",
        str(simulation),
        "-o",
        str(tmp_path / "sim.html"),
    )
    assert done.exit_code == 0, done.output
    html = (tmp_path / "sim.html").read_text(encoding="utf-8")
    assert 'id="figure-simulation"' in html and "stateful-daily" in html and "0.7400" in html
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"rows": 1, "policies": {}}))
    refused = run_cli(
        "report-html", "-c", str(tmp_path / "absent.yaml"), "--simulation", str(empty)
    )
    assert refused.exit_code == 2 and "simulation" in refused.output
