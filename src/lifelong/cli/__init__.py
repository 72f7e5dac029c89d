"""The ``lifelong`` command line.

Exit codes: 0 success; 1 the operation failed (training, registry conflict, I/O);
2 bad input (invalid config or arguments, unknown model or version, invalid data).
"""

from __future__ import annotations

from lifelong.cli import core  # noqa: F401  # registers the commands
from lifelong.cli import dashboard  # noqa: F401
from lifelong.cli import experiments  # noqa: F401
from lifelong.cli import ingest  # noqa: F401
from lifelong.cli import labels  # noqa: F401
from lifelong.cli import quarantine  # noqa: F401
from lifelong.cli import report  # noqa: F401
from lifelong.cli import retention  # noqa: F401
from lifelong.cli import monitor  # noqa: F401
from lifelong.cli import run  # noqa: F401
from lifelong.cli import training  # noqa: F401
from lifelong.cli.app import app, document_exit_codes, main

document_exit_codes(app)

__all__ = ["app", "main"]
