"""Features: the pipeline shared by training and serving."""

from __future__ import annotations

from lifelong.features.pipeline import Category, FeaturePipeline, MissingPolicy, UnseenPolicy

__all__ = ["Category", "FeaturePipeline", "MissingPolicy", "UnseenPolicy"]
