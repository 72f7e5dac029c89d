"""Live tests of challengers through the server: canary, A/B, bandit, interleaving, shadow."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from routing_support import AUTH, broken, oip
from serving_support import ADMIN_TOKEN, TestClient, build_loader

from lifelong.serving import ModelCatalog, PredictionLogger, PredictionService, create_app
from lifelong.serving.routing import RoutingTable
from lifelong.serving.shadow import ShadowExecutor, ShadowSink
from lifelong.testing.fakes import InMemoryModelLoader, ListPredictionSink

ROW = [[0.3, -0.2, 1.1]]


@pytest.fixture
def setup() -> Iterator[tuple[TestClient, InMemoryModelLoader, RoutingTable, ListPredictionSink]]:
    loader = build_loader(("1.0", "1.1", "2.0"))
    loader.add(broken(loader.load("churn", "1.1"), "1.3"))
    sink = ListPredictionSink()
    catalog = ModelCatalog(loader)
    service = PredictionService(catalog, PredictionLogger(sink, flush_seconds=0.05))
    shadow = ShadowExecutor(
        PredictionService(catalog, None, extra="ignore"),
        PredictionLogger(ShadowSink(sink), stream="predictions_shadow", flush_seconds=0.05),
        queue_size=10_000,
    )
    table = RoutingTable(service, loader=loader, actions=loader, shadow=shadow, interval=3600)
    app = create_app(service, admin=loader, admin_token=ADMIN_TOKEN, routing=table)
    with TestClient(app) as client:
        yield client, loader, table, sink


def infer(client: TestClient, n: int, **kwargs: str) -> list[str]:
    versions = []
    for i in range(n):
        response = client.post("/v2/models/churn/infer", json=oip(ROW, request_id=f"r{i}", **kwargs))
        assert response.status_code == 200, response.text
        versions.append(response.headers["x-model-version"])
    return versions


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "canary", "weight": 1.5}, "weight"),
        ({"kind": "canary", "weight": -0.1}, "weight"),
        ({"kind": "canary", "weight": "half"}, "weight"),
        ({"kind": "ab", "weight": 1.0}, "weight"),
        ({"kind": "sometimes"}, None),
        ({"kind": "canary", "versions": "1.1"}, "versions"),
    ],
)
def test_bad_routing_requests_are_4xx_naming_the_field(setup: tuple[TestClient, ...], body: dict[str, object], field: str | None) -> None:
    client = setup[0]
    response = client.put("/admin/models/churn/routing", json={**body, "versions": body.get("versions", ["1.1"])}, headers=AUTH)
    assert response.status_code == 422, response.text
    if field is not None:
        assert response.json()["field"] == field and field in response.json()["error"]
    assert client.put("/admin/models/churn/routing", json={"kind": "canary"}).status_code == 401
    assert client.put("/admin/models/nope/routing", json={"kind": "canary", "versions": ["1.1"]}, headers=AUTH).status_code == 404
    assert client.put("/admin/models/churn/routing", json={"kind": "canary", "versions": ["1.0"]}, headers=AUTH).status_code == 422


def test_a_broken_canary_is_rolled_back_automatically_and_clients_never_see_it(setup: tuple[TestClient, ...]) -> None:
    client, loader, table, _ = setup
    started = client.put(
        "/admin/models/churn/routing", json={"kind": "canary", "weight": 0.5, "min_requests": 20, "versions": ["1.3"]}, headers=AUTH
    )
    assert started.status_code == 201 and started.json()["kind"] == "canary"
    answered = infer(client, 80)  # all 200: the champion answers for the failing challenger
    assert set(answered) == {"1.0"} and table.fallbacks > 20
    live = client.get("/routing/churn").json()["churn"]["running"]
    assert live["arms"]["1.3"]["errors"] > 20 and live["breaches"]
    decisions = table.check()
    assert [d.action for d in decisions] == ["rollback"] and "error rate" in decisions[0].reason
    status = client.get("/routing/churn").json()["churn"]
    assert status["running"] is None and status["finished"][-1]["outcome"]["action"] == "rollback"
    assert loader.champion_version("churn") == "1.0" and set(infer(client, 10)) == {"1.0"}
    metrics = client.get("/metrics").text
    assert "lifelong_routing_decisions_total 1.0" in metrics and "lifelong_routing_fallbacks_total" in metrics


def test_a_healthy_canary_is_promoted_after_its_bake_time(setup: tuple[TestClient, ...]) -> None:
    client, loader, table, _ = setup
    body = {"kind": "canary", "weight": 0.3, "bake": "0s", "min_requests": 15, "max_latency_ratio": 1000.0, "versions": ["1.1"]}
    assert client.put("/admin/models/churn/routing", json=body, headers=AUTH).status_code == 201
    answered = infer(client, 120)
    assert 15 <= answered.count("1.1") <= 60 and answered.count("1.0") > 50
    metrics = client.get("/metrics").text
    assert 'lifelong_routing_requests_total{kind="canary",model="churn",role="challenger",version="1.1"}' in metrics
    assert [d.action for d in table.check()] == ["promote"]
    assert loader.champion_version("churn") == "1.1" and set(infer(client, 5)) == {"1.1"}


def test_ab_routing_is_sticky_and_feedback_reaches_the_arm(setup: tuple[TestClient, ...]) -> None:
    client, _, table, _ = setup
    body = {"kind": "ab", "weight": 0.5, "min_samples": 10, "versions": ["1.1"]}
    assert client.put("/admin/models/churn/routing", json=body, headers=AUTH).status_code == 201
    first = {f"u{i}": infer(client, 1, unit=f"u{i}")[0] for i in range(40)}
    again = {f"u{i}": client.post("/v2/models/churn/infer", json=oip(ROW, unit=f"u{i}")).headers["x-model-version"] for i in range(40)}
    assert first == again and set(first.values()) == {"1.0", "1.1"}
    header = client.post("/predict", json={"model": "churn", "rows": [{"x1": 1.0, "x2": 0.0, "x3": 0.0}]}, headers={"X-Unit-Id": "u3"})
    assert header.headers["x-model-version"] == first["u3"]
    response = client.post("/v2/models/churn/infer", json=oip(ROW, request_id="conv-1", unit="u5"))
    credited = client.post("/routing/churn/feedback", json={"request_id": "conv-1", "reward": 1.0})
    assert credited.status_code == 200 and credited.json()["version"] == response.headers["x-model-version"]
    assert table.status("churn")["churn"]["running"]["arms"][first["u5"]]["rewards"] == 1
    assert client.post("/routing/churn/feedback", json={"request_id": "nope", "reward": 1.0}).status_code == 404
    assert client.post("/routing/churn/feedback", json={"request_id": "conv-1", "reward": "yes"}).status_code == 422
    stopped = client.delete("/admin/models/churn/routing", headers=AUTH)
    assert stopped.status_code == 200 and client.delete("/admin/models/churn/routing", headers=AUTH).status_code == 404


def test_bandit_routes_by_thompson_sampling_with_feedback(setup: tuple[TestClient, ...]) -> None:
    client, loader, table, _ = setup
    body = {"kind": "bandit", "min_samples": 60, "versions": ["1.1", "2.0"]}
    assert client.put("/admin/models/churn/routing", json=body, headers=AUTH).status_code == 201
    for i in range(200):
        response = client.post("/v2/models/churn/infer", json=oip(ROW, request_id=f"b{i}"))
        reward = 1.0 if response.headers["x-model-version"] == "2.0" else 0.0
        assert client.post("/routing/churn/feedback", json={"request_id": f"b{i}", "reward": reward}).status_code == 200
        if table.check():
            break
    assert loader.champion_version("churn") == "2.0"
    finished = table.status("churn")["churn"]["finished"][-1]
    assert finished["outcome"]["action"] == "promote" and finished["probability_best"]["2.0"] >= 0.95


def test_interleaved_ranking_and_clicks(setup: tuple[TestClient, ...]) -> None:
    client, _, table, _ = setup
    items = [{"x1": x / 10, "x2": -x / 20, "x3": (x % 3) / 3} for x in range(12)]
    plain = client.post("/rank/churn", json={"items": items, "length": 5})
    assert plain.status_code == 200 and not plain.json()["interleaved"] and len(plain.json()["ranking"]) == 5
    assert client.put("/admin/models/churn/routing", json={"kind": "interleaving", "versions": ["2.0"]}, headers=AUTH).status_code == 201
    ranked = client.post("/rank/churn", json={"items": items, "request_id": "q1"}).json()
    assert ranked["interleaved"] and sorted(ranked["ranking"]) == list(range(12))
    clicked = client.post("/routing/churn/feedback", json={"request_id": "q1", "clicks": [0]})
    assert clicked.status_code == 200 and clicked.json()["winner"] in {"champion", "challenger"}
    status = client.get("/routing/churn").json()["churn"]["running"]
    assert status["champion_wins"] + status["challenger_wins"] == 1
    assert client.post("/routing/churn/feedback", json={"request_id": "q1", "reward": 1.0}).status_code == 422


def test_shadow_challengers_get_copies_logged_with_a_shadow_flag_never_returned(setup: tuple[TestClient, ...]) -> None:
    client, _, table, sink = setup
    body = {"kind": "shadow", "versions": ["1.1", "2.0"]}
    assert client.put("/admin/models/churn/routing", json=body, headers=AUTH).status_code == 201
    assert set(infer(client, 30)) == {"1.0"}
    assert table._shadow is not None
    table._shadow.drain()
    live = client.get("/routing/churn").json()["churn"]["running"]
    assert live["arms"]["1.1"]["requests"] == live["arms"]["2.0"]["requests"] == 30
    assert live["agreement"]["1.1"]["rows"] == 30 and 0 <= live["agreement"]["1.1"]["agreement"] <= 1
    assert table._shadow is not None
    table._shadow.stop()
    shadow_rows = sink.rows("predictions_shadow")
    assert len(shadow_rows) == 60 and shadow_rows["shadow"].all()
    assert set(shadow_rows["model_version"]) == {"1.1", "2.0"}
    assert set(shadow_rows["request_id"]) == {f"r{i}" for i in range(30)}
    assert shadow_rows["event_id"].str.endswith(("@1.1", "@2.0")).all()
    assert table.service.logger is not None
    table.service.logger.flush()  # the served rows may still be buffered for the next timed flush
    served = sink.rows("predictions")
    assert len(served) == 30 and "shadow" not in served.columns and set(served["model_version"]) == {"1.0"}
