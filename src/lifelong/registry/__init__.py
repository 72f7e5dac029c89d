"""Model registry: versions with lineage, aliases with history, content-addressed artifacts.

Examples
--------
>>> from lifelong.registry import Registry, ArtifactStore, Signer
>>> Signer(b"k" * 16).sign(b"")[:8]
'096c0463'
"""

from __future__ import annotations

from lifelong.registry.artifacts import ArtifactStore, check_relative_name, check_sha256
from lifelong.registry.chain import VersionChain
from lifelong.registry.registry import UNSET, Registry
from lifelong.registry.signing import Signer
from lifelong.registry.types import (
    AliasChange,
    Iteration,
    Lineage,
    ModelVersion,
    SnapshotRef,
    TrainingMode,
)

__all__ = [
    "UNSET",
    "AliasChange",
    "ArtifactStore",
    "Iteration",
    "Lineage",
    "ModelVersion",
    "Registry",
    "Signer",
    "SnapshotRef",
    "TrainingMode",
    "VersionChain",
    "check_relative_name",
    "check_sha256",
]
