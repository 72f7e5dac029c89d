"""Prometheus view of the routing table, read at scrape time.

Examples
--------
>>> from prometheus_client import CollectorRegistry, generate_latest
>>> from lifelong.serving.catalog import ModelCatalog
>>> from lifelong.serving.service import PredictionService
>>> from lifelong.serving.routing import RoutingTable
>>> from lifelong.testing.fakes import InMemoryModelLoader
>>> loader = InMemoryModelLoader()
>>> registry = CollectorRegistry()
>>> registry.register(RoutingCollector(RoutingTable(PredictionService(ModelCatalog(loader), None), loader=loader)))
>>> b"lifelong_routing_decisions_total" in generate_latest(registry)
True
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from lifelong.serving.routing import RoutingTable


class RoutingCollector(Collector):
    """Per running experiment and version: requests, errors, p99 latency, rewards; plus test statistics."""

    def __init__(self, table: RoutingTable) -> None:
        self._table = table

    def collect(self) -> Iterator[Metric]:
        labels = ["model", "kind", "version", "role"]
        requests = CounterMetricFamily("lifelong_routing_requests", "Requests answered per version during an experiment.", labels=labels)
        errors = CounterMetricFamily("lifelong_routing_errors", "Failed answers per version during an experiment.", labels=labels)
        p99 = GaugeMetricFamily("lifelong_routing_p99_seconds", "p99 latency of recent answers per version.", labels=labels)
        rewards = CounterMetricFamily("lifelong_routing_rewards", "Rewards credited per version.", labels=labels)
        reward_mean = GaugeMetricFamily("lifelong_routing_reward_mean", "Mean reward per version.", labels=labels)
        statistic = GaugeMetricFamily(
            "lifelong_routing_statistic", "Test statistics of running experiments (p-values, preference, agreement).", labels=["model", "kind", "name"]
        )
        for model, entry in self._table.status().items():
            running = entry["running"]
            if running is None:
                continue
            kind = running["kind"]
            for version, arm in running["arms"].items():
                role = "champion" if version == running["champion"] else "challenger"
                key = [model, kind, version, role]
                requests.add_metric(key, arm["requests"])
                errors.add_metric(key, arm["errors"])
                rewards.add_metric(key, arm["rewards"])
                if not math.isnan(arm["p99_ms"]):
                    p99.add_metric(key, arm["p99_ms"] / 1000.0)
                if not math.isnan(arm["reward_mean"]):
                    reward_mean.add_metric(key, arm["reward_mean"])
            for name in ("p_value", "effect", "preference"):
                if isinstance(running.get(name), (int, float)):
                    statistic.add_metric([model, kind, name], float(running[name]))
            for version, value in (running.get("probability_best") or {}).items():
                statistic.add_metric([model, kind, f"probability_best:{version}"], value)
            for version, record in (running.get("agreement") or {}).items():
                if record["agreement"] is not None:
                    statistic.add_metric([model, kind, f"agreement:{version}"], record["agreement"])
            if "dropped" in running:
                statistic.add_metric([model, kind, "shadow_dropped"], running["dropped"])
        yield from (requests, errors, p99, rewards, reward_mean, statistic)
        yield CounterMetricFamily("lifelong_routing_decisions", "Promotions and rollbacks decided by routers.", value=self._table.decisions)
        yield CounterMetricFamily(
            "lifelong_routing_fallbacks", "Requests a failing challenger left to the champion.", value=self._table.fallbacks
        )


__all__ = ["RoutingCollector"]
