"""Signed pickles: the only way lifelong reads a pickle, for families that have no other format.

A signed file is one envelope: a magic line, the HMAC-SHA256 of the payload under the
registry's key (:class:`~lifelong.registry.signing.Signer`) and the pickle bytes. Reading
checks the magic, then verifies the signature over the payload — a file that does not verify
raises :class:`~lifelong.errors.IntegrityError` before a single pickle opcode runs. As a second
fence, the verified payload is unpickled with an allow-list of importable globals (module
prefixes such as ``river.``, and a few plain types); any other global raises
:class:`~lifelong.errors.UnsafeArtifactError`.

The envelope never starts with a pickle opcode, so nothing can mistake it for a raw pickle.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from lifelong.registry.signing import Signer
>>> signer = Signer(b"k" * 32)
>>> with tempfile.TemporaryDirectory() as tmp:
...     write_signed_pickle(Path(tmp) / "state.signed", {"w": [1.0, 2.0]}, signer)
...     read_signed_pickle(Path(tmp) / "state.signed", signer, allowed_modules=())
{'w': [1.0, 2.0]}
>>> with tempfile.TemporaryDirectory() as tmp:
...     write_signed_pickle(Path(tmp) / "state.signed", {"w": 1}, Signer(b"other-key" * 4))
...     read_signed_pickle(Path(tmp) / "state.signed", signer, allowed_modules=())
Traceback (most recent call last):
...
lifelong.errors.IntegrityError: state.signed: signature: does not match the data (HMAC-SHA256); refusing to unpickle it
"""

from __future__ import annotations

import io
import os
import pickle
import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import Any

from lifelong.errors import ArtifactError, IntegrityError, UnsafeArtifactError
from lifelong.registry.signing import Signer

MAGIC = b"LIFELONG-SIGNED-PICKLE/1\n"
SIGNATURE_CHARS = 64
PROTOCOL = 5
SAFE_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    [
        *(
            ("builtins", name)
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
                "object",
                "range",
                "set",
                "slice",
                "str",
                "tuple",
            )
        ),
        ("collections", "Counter"),
        ("collections", "OrderedDict"),
        ("collections", "defaultdict"),
        ("collections", "deque"),
        ("copyreg", "_reconstructor"),
        ("functools", "partial"),
        ("random", "Random"),
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
    ]
)


class _AllowListUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, allowed_modules: Collection[str]) -> None:
        super().__init__(io.BytesIO(data))
        self._allowed = tuple(allowed_modules)

    def find_class(self, module: str, name: str) -> Any:
        root = module.split(".", 1)[0]
        if (module, name) in SAFE_GLOBALS or root in self._allowed:
            return super().find_class(module, name)
        raise UnsafeArtifactError(
            f"pickle global: expected a type from {sorted(self._allowed)} or a plain type, "
            f"got {module}.{name}"
        )


def write_signed_pickle(path: Path, obj: object, signer: Signer) -> None:
    """Pickle ``obj``, sign it with ``signer`` and write the envelope atomically to ``path``."""
    try:
        payload = pickle.dumps(obj, protocol=PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise ArtifactError(f"{path.name}: could not pickle the state: {exc}") from exc
    body = MAGIC + signer.sign(payload).encode("ascii") + b"\n" + payload
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def read_signed_pickle(path: Path, signer: Signer, *, allowed_modules: Collection[str]) -> Any:
    """Verify the envelope at ``path`` under ``signer``, then unpickle it with the allow-list.

    ``allowed_modules`` are top-level package names whose globals the payload may import
    (for example ``("river",)``), besides :data:`SAFE_GLOBALS`.
    """
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise ArtifactError(f"{path}: could not read the signed state: {exc}") from exc
    header = len(MAGIC) + SIGNATURE_CHARS + 1
    if not body.startswith(MAGIC) or len(body) < header or body[header - 1 : header] != b"\n":
        raise IntegrityError(
            f"{path.name}: expected a signed envelope starting with {MAGIC!r}, got "
            f"{body[: len(MAGIC)]!r}; refusing to unpickle it"
        )
    signature = body[len(MAGIC) : header - 1].decode("ascii", errors="replace")
    payload = body[header:]
    try:
        signer.verify(payload, signature)
    except IntegrityError as exc:
        raise IntegrityError(f"{path.name}: {exc}; refusing to unpickle it") from exc
    try:
        return _AllowListUnpickler(payload, allowed_modules).load()
    except UnsafeArtifactError as exc:
        raise UnsafeArtifactError(f"{path.name}: {exc}") from exc
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError) as exc:
        raise ArtifactError(f"{path.name}: could not unpickle the signed state: {exc}") from exc


__all__ = ["MAGIC", "SAFE_GLOBALS", "read_signed_pickle", "write_signed_pickle"]
