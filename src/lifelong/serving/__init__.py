"""Prediction server: the champion answers, every answer names its version and is logged.

The pieces, each usable alone:

- :class:`ModelCatalog` follows the loader's champion and swaps versions atomically;
- :class:`PredictionService` validates inputs, predicts and logs;
- :class:`PredictionLogger` buffers prediction rows for the event store;
- :func:`create_app` builds the FastAPI app (Open Inference Protocol v2, ``/predict``, admin,
  ``/metrics``) and :func:`serve` runs it with uvicorn.

Examples
--------
>>> from lifelong.testing.fakes import InMemoryModelLoader, ListPredictionSink, logistic_served_model
>>> loader = InMemoryModelLoader()
>>> loader.add(logistic_served_model("churn", "1.0"), champion=True)
>>> service = PredictionService(ModelCatalog(loader), PredictionLogger(ListPredictionSink()))
>>> app = create_app(service, admin=loader, admin_token="s3cret")
>>> app.title
'lifelong'
"""

from __future__ import annotations

from lifelong.serving.app import create_app
from lifelong.serving.catalog import LoadFailure, ModelCatalog
from lifelong.serving.logger import RESERVED_COLUMNS, PredictionLogger
from lifelong.serving.metrics import ServingMetrics
from lifelong.serving.model import (
    AdminActions,
    Datatype,
    InputSpec,
    ModelLoader,
    PredictionResult,
    PredictionSink,
    ServedModel,
    served_from_estimator,
)
from lifelong.serving.server import serve
from lifelong.serving.service import PredictionService

__all__ = [
    "RESERVED_COLUMNS",
    "AdminActions",
    "Datatype",
    "InputSpec",
    "LoadFailure",
    "ModelCatalog",
    "ModelLoader",
    "PredictionLogger",
    "PredictionResult",
    "PredictionService",
    "PredictionSink",
    "ServedModel",
    "ServingMetrics",
    "create_app",
    "serve",
    "served_from_estimator",
]
