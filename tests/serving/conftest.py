"""Fixtures of the prediction server tests: an in-memory loader over real sklearn models."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from serving_support import ADMIN_TOKEN, TestClient, build_loader

from lifelong.serving import ModelCatalog, PredictionLogger, PredictionService, create_app
from lifelong.testing.fakes import InMemoryModelLoader, ListPredictionSink


@pytest.fixture
def loader() -> InMemoryModelLoader:
    return build_loader()


@pytest.fixture
def sink() -> ListPredictionSink:
    return ListPredictionSink()


@pytest.fixture
def service(loader: InMemoryModelLoader, sink: ListPredictionSink) -> PredictionService:
    return PredictionService(ModelCatalog(loader), PredictionLogger(sink, flush_seconds=0.05))


@pytest.fixture
def client(service: PredictionService, loader: InMemoryModelLoader) -> Iterator[TestClient]:
    app = create_app(service, admin=loader, admin_token=ADMIN_TOKEN)
    with TestClient(app) as test_client:
        yield test_client
