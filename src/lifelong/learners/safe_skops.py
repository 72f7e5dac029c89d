"""Reading and writing scikit-learn estimators with skops, never with pickle.

Before loading, every type skops does not trust by default is checked against an
allow-list of module prefixes (``sklearn.``, ``numpy.``, ``scipy.sparse.``) and a few plain
built-in types; anything else is refused with :class:`~lifelong.errors.UnsafeArtifactError`
naming the type, and nothing from the file is constructed.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from sklearn.naive_bayes import GaussianNB
>>> with tempfile.TemporaryDirectory() as tmp:
...     dump_skops(GaussianNB(), Path(tmp) / "model.skops")
...     type(load_skops(Path(tmp) / "model.skops")).__name__
'GaussianNB'
>>> is_allowed_type("sklearn.tree._tree.Tree"), is_allowed_type("os.system")
(True, False)
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from lifelong.errors import ArtifactError, UnsafeArtifactError

ALLOWED_PREFIXES: tuple[str, ...] = ("sklearn.", "numpy.", "scipy.sparse.")
ALLOWED_BUILTINS: frozenset[str] = frozenset(
    f"builtins.{name}"
    for name in (
        "bool",
        "bytearray",
        "bytes",
        "complex",
        "dict",
        "float",
        "frozenset",
        "int",
        "list",
        "NoneType",
        "set",
        "slice",
        "str",
        "tuple",
    )
)


def is_allowed_type(name: str) -> bool:
    """Whether a fully qualified type name reported by skops may be loaded."""
    return name in ALLOWED_BUILTINS or name.startswith(ALLOWED_PREFIXES)


def dump_skops(obj: Any, path: Path) -> None:
    """Write ``obj`` to ``path`` in the skops format."""
    import skops.io as sio  # imported here: skops walks every installed estimator at import
    try:
        sio.dump(obj, path)
    except (TypeError, ValueError, OSError) as exc:
        raise ArtifactError(f"{path}: could not write a skops file: {exc}") from exc


def load_skops(path: Path) -> Any:
    """Read a skops file, refusing any type outside the allow-list."""
    import skops.io as sio
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ArtifactError(f"{path}: expected a skops file, got an unreadable one: {exc}") from exc
    refused = sorted(name for name in untrusted if not is_allowed_type(name))
    if refused:
        raise UnsafeArtifactError(
            f"{path.name}: refusing to load type(s) outside the allow-list "
            f"{list(ALLOWED_PREFIXES)} and plain built-ins: {refused}"
        )
    try:
        return sio.load(path, trusted=untrusted)
    except (zipfile.BadZipFile, KeyError, TypeError, ValueError, OSError) as exc:
        raise ArtifactError(f"{path}: could not load the skops file: {exc}") from exc


__all__ = ["ALLOWED_BUILTINS", "ALLOWED_PREFIXES", "dump_skops", "is_allowed_type", "load_skops"]
