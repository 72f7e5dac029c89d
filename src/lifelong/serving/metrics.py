"""Prometheus metrics of one server app, in its own registry (never the global one).

Examples
--------
>>> metrics = ServingMetrics()
>>> metrics.observe("infer", "churn", "1.0", 200, 0.002, rows=3)
>>> b'lifelong_serving_requests_total{endpoint="infer",model="churn",status="200",version="1.0"} 1.0' in metrics.render()
True
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from lifelong.serving.catalog import ModelCatalog
from lifelong.serving.logger import PredictionLogger

CONTENT_TYPE = CONTENT_TYPE_LATEST
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class _StateCollector(Collector):
    """Reads the catalog and the prediction log at scrape time."""

    def __init__(self, catalog: ModelCatalog | None, logger: PredictionLogger | None) -> None:
        self._catalog = catalog
        self._logger = logger

    def collect(self) -> Iterator[Metric]:
        if self._catalog is not None:
            served = GaugeMetricFamily(
                "lifelong_serving_model_info",
                "The version serving each model (value 1).",
                labels=["model", "version"],
            )
            for name, model in sorted(self._catalog.snapshot().items()):
                served.add_metric([name, model.version], 1.0)
            yield served
            yield CounterMetricFamily(
                "lifelong_serving_model_load_failures",
                "Failed model loads.",
                value=self._catalog.load_failures,
            )
            yield CounterMetricFamily(
                "lifelong_serving_model_swaps",
                "Model versions published.",
                value=self._catalog.swaps,
            )
        if self._logger is not None:
            yield GaugeMetricFamily(
                "lifelong_prediction_log_pending_rows",
                "Rows waiting to be written.",
                value=self._logger.pending_rows,
            )
            yield CounterMetricFamily(
                "lifelong_prediction_log_written_rows",
                "Rows written to the sink.",
                value=self._logger.written_rows,
            )
            yield CounterMetricFamily(
                "lifelong_prediction_log_dropped_rows",
                "Rows dropped because the sink failed past max_buffer_rows.",
                value=self._logger.dropped_rows,
            )
            yield CounterMetricFamily(
                "lifelong_prediction_log_failed_flushes",
                "Failed appends to the sink.",
                value=self._logger.failed_flushes,
            )


class ServingMetrics:
    """Request counts and latency per endpoint, model and version, plus catalog and log state.

    Parameters
    ----------
    catalog, logger
        Read at scrape time for the served versions and the prediction log's state.
    """

    def __init__(
        self, *, catalog: ModelCatalog | None = None, logger: PredictionLogger | None = None
    ) -> None:
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "lifelong_serving_requests",
            "Prediction requests by endpoint, model, version and HTTP status.",
            ["endpoint", "model", "version", "status"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "lifelong_serving_request_seconds",
            "Prediction request latency in seconds.",
            ["endpoint", "model", "version"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self._rows = Counter(
            "lifelong_serving_predicted_rows",
            "Rows predicted.",
            ["model", "version"],
            registry=self.registry,
        )
        self.registry.register(_StateCollector(catalog, logger))
        self._series: dict[tuple[str, str, str, int], tuple[Counter, Histogram]] = {}
        self._row_series: dict[tuple[str, str], Counter] = {}

    def observe(
        self, endpoint: str, model: str, version: str, status: int, seconds: float, *, rows: int = 0
    ) -> None:
        """Count one request and its latency (the labelled series are looked up once, then kept)."""
        key = (endpoint, model, version, status)
        series = self._series.get(key)
        if series is None:
            series = (
                self._requests.labels(endpoint, model, version, str(status)),
                self._latency.labels(endpoint, model, version),
            )
            self._series[key] = series
        series[0].inc()
        series[1].observe(seconds)
        if rows:
            predicted = self._row_series.get((model, version))
            if predicted is None:
                predicted = self._rows.labels(model, version)
                self._row_series[(model, version)] = predicted
            predicted.inc(rows)

    def render(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)


__all__ = ["CONTENT_TYPE", "ServingMetrics"]
