"""Authentication and exposure: admin token, optional prediction token, Host allow-list, loopback.

The admin API (promote, roll back) and the dashboard's actions need the admin token (401 without,
403 with a wrong one, and nothing moves); the prediction API takes an optional token; a Host
header outside the allow-list is refused (DNS rebinding); ``lifelong serve`` binds 127.0.0.1
unless told otherwise — checked in the kernel's socket table of a real server process.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from pipeline_support import write_spec, write_stream
from reliability_support import Record, Zygote, child_env, free_port, wait_ready

from lifelong.config import ServingConfig, load_config
from lifelong.ingest import run_replay
from lifelong.runtime import Pipeline
from lifelong.serving.registry_loader import build_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from starlette.testclient import TestClient

ADMIN, API = "admin-secret-1", "api-secret-2"
ROW = {"x1": 0.1, "x2": 0.2, "x3": 0.3, "segment": "a"}
OIP = {
    "inputs": [
        {"name": "x1", "shape": [1], "datatype": "FP64", "data": [0.1]},
        {"name": "x2", "shape": [1], "datatype": "FP64", "data": [0.2]},
        {"name": "x3", "shape": [1], "datatype": "FP64", "data": [0.3]},
        {"name": "segment", "shape": [1], "datatype": "BYTES", "data": ["a"]},
    ]
}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    folder = tmp_path_factory.mktemp("auth")
    write_stream(folder / "events.csv", days=3, seed=8)
    opened = Pipeline.open(load_config(write_spec(folder)))
    run_replay(opened, step=timedelta(hours=12))
    assert len(opened.registry.versions("churn")) >= 2
    try:
        yield opened
    finally:
        opened.close()


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_admin_actions_need_the_admin_token(pipeline: Pipeline) -> None:
    registry = pipeline.registry
    champion = registry.alias_version("churn", "champion")
    other = next(
        v.version
        for v in registry.versions("churn")
        if v.version != champion and v.status != "rejected"
    )
    moves = len(registry.alias_history("churn"))
    with TestClient(build_app(registry, pipeline.store, admin_token=ADMIN)) as client:
        for headers, status in [
            ({}, 401),
            (_bearer("wrong"), 403),
            ({"authorization": "Basic YWRtaW4="}, 401),
            (_bearer(API), 403),
            ({"authorization": f"Bearer {ADMIN} "}, 200),
        ]:
            response = client.post(
                "/admin/models/churn/promote", json={"version": other}, headers=headers
            )
            assert response.status_code == status, response.text
            if status == 401:
                assert response.headers["www-authenticate"] == "Bearer"
            if status != 200:
                assert registry.alias_version("churn", "champion") == champion  # nothing moved
        response = client.post("/admin/models/churn/rollback", headers=_bearer("wrong"))
        assert response.status_code == 403 and registry.alias_version("churn", "champion") == other
        response = client.post("/admin/models/churn/rollback", headers=_bearer(ADMIN))
        assert (
            response.status_code == 200 and registry.alias_version("churn", "champion") == champion
        )
    assert len(registry.alias_history("churn")) == moves + 2


def test_without_an_admin_token_there_is_no_admin_api(pipeline: Pipeline) -> None:
    with TestClient(build_app(pipeline.registry, pipeline.store, admin_token=None)) as client:
        response = client.post(
            "/admin/models/churn/promote", json={"version": "1.0"}, headers=_bearer("anything")
        )
        assert response.status_code in (404, 405)


def test_prediction_token_is_optional_and_enforced_when_set(pipeline: Pipeline) -> None:
    with TestClient(build_app(pipeline.registry, pipeline.store, admin_token=ADMIN)) as open_client:
        assert (
            open_client.post("/predict", json={"model": "churn", "rows": [ROW]}).status_code == 200
        )
    app = build_app(pipeline.registry, pipeline.store, admin_token=ADMIN, api_token=API)
    with TestClient(app) as client:
        for path, body in [
            ("/predict", {"model": "churn", "rows": [ROW]}),
            ("/v2/models/churn/infer", OIP),
        ]:
            assert client.post(path, json=body).status_code == 401
            assert client.post(path, json=body, headers=_bearer("wrong")).status_code == 403
            assert (
                client.post(path, json=body, headers=_bearer(ADMIN)).status_code == 403
            )  # tokens are separate
            assert client.post(path, json=body, headers=_bearer(API)).status_code == 200
        assert client.get("/v2/models/churn").status_code == 401
        assert client.get("/v2/models/churn", headers=_bearer(API)).status_code == 200
        assert client.get("/v2/health/live").status_code == 200  # probes stay open


@pytest.mark.parametrize(
    "host", ["evil.example", "127.0.0.1.evil.example", "localhost.evil", "attacker:8000", ""]
)
def test_host_header_outside_the_allow_list_is_refused(host: str, pipeline: Pipeline) -> None:
    with TestClient(build_app(pipeline.registry, pipeline.store, admin_token=ADMIN)) as client:
        response = client.post(
            "/admin/models/churn/rollback", headers={**_bearer(ADMIN), "host": host}
        )
        assert response.status_code == 400 and "Host" in response.json()["error"]
        response = client.post(
            "/predict", json={"model": "churn", "rows": [ROW]}, headers={"host": host}
        )
        assert response.status_code == 400
        ok = client.post(
            "/predict", json={"model": "churn", "rows": [ROW]}, headers={"host": "127.0.0.1:8000"}
        )
        assert ok.status_code == 200


def test_dashboard_actions_need_the_admin_token(pipeline: Pipeline) -> None:
    dashboard = pytest.importorskip("lifelong.dashboard")
    source = dashboard.DashboardSource(pipeline.registry)
    registry = pipeline.registry
    champion = registry.alias_version("churn", "champion")
    other = next(
        v.version
        for v in registry.versions("churn")
        if v.version != champion and v.status != "rejected"
    )
    with TestClient(dashboard.create_dashboard(source, admin_token=ADMIN)) as client:
        assert client.post("/api/models/churn/promote", json={"version": other}).status_code == 401
        assert (
            client.post(
                "/api/models/churn/promote", json={"version": other}, headers=_bearer("no")
            ).status_code
            == 403
        )
        assert client.post("/api/models/churn/rollback", headers=_bearer("no")).status_code == 403
        assert registry.alias_version("churn", "champion") == champion
        bad_host = client.post(
            "/api/models/churn/promote",
            json={"version": other},
            headers={**_bearer(ADMIN), "host": "evil.example"},
        )
        assert (
            bad_host.status_code == 400 and registry.alias_version("churn", "champion") == champion
        )
        done = client.post(
            "/api/models/churn/promote", json={"version": other}, headers=_bearer(ADMIN)
        )
        assert done.status_code == 200 and registry.alias_version("churn", "champion") == other
        client.post("/api/models/churn/rollback", headers=_bearer(ADMIN))
    assert registry.alias_version("churn", "champion") == champion


def _listening(port: int) -> set[str]:
    """Local addresses with a socket listening on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def test_lifelong_serve_binds_the_loopback_by_default(
    pipeline: Pipeline, reliability: Record
) -> None:
    assert ServingConfig().host == "127.0.0.1"
    port = free_port()
    spec = Path(str(pipeline.config.home)).parent / "served.yaml"
    data = yaml.safe_load((spec.parent / "lifelong.yaml").read_text())
    spec.write_text(yaml.safe_dump({**data, "serving": {"allowed_hosts": ["models.internal"]}}))
    prelude = "import sys\nfrom lifelong.cli import main\n"
    body = 'sys.argv = ["lifelong", "serve", "-c", args[0], "--port", args[1]]\nmain()\n'
    with Zygote(prelude, body, env=child_env(LIFELONG_ADMIN_TOKEN=ADMIN)) as zygote:
        zygote.spawn(str(spec), str(port))
        try:
            try:
                wait_ready(f"http://127.0.0.1:{port}", timeout=120.0)
            except AssertionError as exc:
                raise AssertionError(f"{exc}: {zygote.child.output()}") from exc
            addresses = _listening(port)
            hosts = {
                name: httpx.get(f"http://127.0.0.1:{port}/v2/health/live", headers={"host": name}).status_code
                for name in ("models.internal", "evil.example", "localhost")
            }
        finally:
            zygote.kill_worker()
    assert addresses == {"0100007F"}, addresses  # 127.0.0.1 only: not 0.0.0.0, not ::
    assert hosts == {"models.internal": 200, "evil.example": 400, "localhost": 200}  # serving.allowed_hosts
    reliability(
        "auth and exposure",
        admin_token="401/403 enforced",
        api_token="optional, enforced when set",
        host_allow_list="enforced",
        serve_binds=min(addresses) + " (127.0.0.1)",
    )
