"""A real uvicorn server over a real registry: rollback followed in under a second, config-driven canary."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from routing_support import oip, register_bundle, run_server
from typer.testing import CliRunner

from lifelong.cli import app as cli
from lifelong.config import CanaryDeploymentConfig, DirectDeploymentConfig, load_config
from lifelong.registry import Registry
from lifelong.serving.routed_app import build_routed_app
from lifelong.testing.fakes import ListPredictionSink
from pipeline_support import write_spec


def test_cli_rollback_is_followed_by_the_running_server_in_under_a_second(tmp_path: Path) -> None:
    config = write_spec(tmp_path)
    registry = Registry.open(load_config(config).home)
    first = register_bundle(registry, 1)
    second = register_bundle(registry, 2, parent=first)
    registry.set_alias("churn", "champion", first, actor="test", reason="first")
    registry.set_alias("churn", "champion", second, actor="test", reason="second")
    server, thread, url = run_server(
        build_routed_app(registry, ListPredictionSink(), deployment=DirectDeploymentConfig(kind="direct"), admin_token=None, poll_interval=0.05)
    )
    try:
        with httpx.Client(base_url=url, timeout=5.0) as client:
            assert client.post("/v2/models/churn/infer", json=oip([[0.1, 0.2, 0.3]])).headers["x-model-version"] == second
            runner = CliRunner()
            # Imports are warmed first (a `lifelong` process has them before its command runs):
            # the clock measures the command itself and the server following it.
            assert runner.invoke(cli, ["versions", "churn", "-c", str(config)]).exit_code == 0
            started = time.perf_counter()
            result = runner.invoke(cli, ["rollback", "churn", "-c", str(config), "--reason", "bad canary"])
            command_s = time.perf_counter() - started
            assert result.exit_code == 0, result.output
            followed = None
            while time.perf_counter() - started < 5:
                response = client.post("/v2/models/churn/infer", json=oip([[0.1, 0.2, 0.3]]))
                assert response.status_code == 200
                if response.headers["x-model-version"] == first:
                    followed = time.perf_counter() - started
                    break
                time.sleep(0.005)
        assert followed is not None and followed < 1.0, (command_s, followed)
        history = registry.alias_history("churn")
        assert history[-1].to_version == first and history[-1].reason == "bad canary"
    finally:
        server.should_exit = True
        thread.join(10)
        registry.close()


def test_the_server_canaries_a_passed_challenger_from_the_spec_and_promotes_it(tmp_path: Path) -> None:
    registry = Registry.open(tmp_path / "home")
    champion = register_bundle(registry, 1)
    challenger = register_bundle(registry, 2, parent=champion)
    rejected = register_bundle(registry, 3, parent=champion)
    registry.set_alias("churn", "champion", champion, actor="test", reason="first")
    registry.record_evaluation("churn", rejected, {"passed": False}, status="rejected")
    registry.set_alias("churn", "challenger", rejected, actor="test", reason="rejected one")
    deployment = CanaryDeploymentConfig(kind="canary", weight=0.5, bake="0s", min_requests=10, max_latency_ratio=1000.0)
    app = build_routed_app(registry, ListPredictionSink(), deployment=deployment, admin_token="t0k3n", poll_interval=0.05)
    server, thread, url = run_server(app)
    try:
        with httpx.Client(base_url=url, timeout=5.0) as client:
            time.sleep(0.4)
            assert client.get("/routing").json() == {}  # a rejected challenger never gets traffic
            registry.record_evaluation("churn", challenger, {"passed": True}, status="passed")
            registry.set_alias("churn", "challenger", challenger, actor="test", reason="passed its gates")
            seen: set[str] = set()
            deadline = time.monotonic() + 10
            while registry.alias_version("churn", "champion") != challenger:
                assert time.monotonic() < deadline, client.get("/routing").json()
                response = client.post("/v2/models/churn/infer", json=oip([[0.5, -0.5, 0.1]]))
                assert response.status_code == 200
                seen.add(response.headers["x-model-version"])
            assert seen == {champion, challenger}
            while not (finished := client.get("/routing/churn").json().get("churn", {}).get("finished")):
                assert time.monotonic() < deadline
                time.sleep(0.01)
            status = finished[-1]
            assert status["origin"] == "config" and status["outcome"]["action"] == "promote"
        live = registry.get("churn", challenger).metrics["live_test"]
        assert live["action"] == "promote" and live["live"]["arms"][challenger]["requests"] >= 10
        assert registry.alias_history("churn")[-1].actor == "lifelong-router"
    finally:
        server.should_exit = True
        thread.join(10)
        registry.close()
