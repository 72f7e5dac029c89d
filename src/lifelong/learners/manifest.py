"""``learner.json``: the small manifest every saved learner carries beside its state.

It names the learner ``kind`` (so :func:`lifelong.learners.load_learner` can dispatch), the
hyperparameters to rebuild it, and family-specific fields (classes, feature count).

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> with tempfile.TemporaryDirectory() as tmp:
...     path = write_manifest(Path(tmp), kind="demo", params={"alpha": 1.0})
...     read_manifest(Path(tmp), kind="demo")["params"]
{'alpha': 1.0}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lifelong.errors import ArtifactError, NotFoundError

MANIFEST = "learner.json"
FORMAT_VERSION = 1


def write_manifest(directory: Path, *, kind: str, params: Mapping[str, Any], **extra: Any) -> Path:
    """Write ``learner.json`` into ``directory`` (created if absent); return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    body = {"format": FORMAT_VERSION, "kind": kind, "params": dict(params), **extra}
    path = directory / MANIFEST
    path.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def read_manifest(directory: Path, *, kind: str | None = None) -> dict[str, Any]:
    """Read ``learner.json`` from ``directory``; check its ``kind`` when one is given."""
    path = directory / MANIFEST
    if not path.is_file():
        raise NotFoundError(f"{MANIFEST}: expected a file in {directory}, found none")
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{path}: expected a JSON learner manifest, got {exc}") from exc
    if not isinstance(body, dict) or not isinstance(body.get("kind"), str):
        raise ArtifactError(f"{path}: expected an object with a string 'kind', got {body!r}")
    if body.get("format") != FORMAT_VERSION:
        raise ArtifactError(
            f"{path}: format: expected {FORMAT_VERSION}, got {body.get('format')!r}"
        )
    if not isinstance(body.get("params"), dict):
        raise ArtifactError(f"{path}: params: expected an object, got {body.get('params')!r}")
    if kind is not None and body["kind"] != kind:
        raise ArtifactError(f"{path}: kind: expected {kind!r}, got {body['kind']!r}")
    return body


__all__ = ["FORMAT_VERSION", "MANIFEST", "read_manifest", "write_manifest"]
