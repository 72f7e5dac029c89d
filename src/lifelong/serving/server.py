"""Run a prediction server app with uvicorn, bound to 127.0.0.1 unless told otherwise.

Examples
--------
>>> import inspect
>>> inspect.signature(serve).parameters["host"].default
'127.0.0.1'
"""

from __future__ import annotations

from typing import Literal

import uvicorn
from fastapi import FastAPI

from lifelong.errors import ConfigError
from lifelong.serving.transport import CoalescingHttpToolsProtocol


def serve(
    app: FastAPI,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info",
    access_log: bool = False,
) -> None:
    """Serve ``app`` with uvicorn until interrupted; startup loads the champions, shutdown drains the log.

    Parameters
    ----------
    app
        From :func:`lifelong.serving.create_app`.
    host, port
        Address to bind; the default stays on the loopback interface. Binding elsewhere also
        needs the host name in the app's ``allowed_hosts``.
    log_level
        Uvicorn's log level.
    access_log
        One log line per request (off by default: every prediction is already logged with its
        request id, and counted in ``/metrics``).

    Notes
    -----
    Tuned for a process that only serves: the garbage collector freezes what startup loaded
    (:func:`gc.freeze`), so a full collection scans only what requests allocate; and each
    response reaches the socket in one write (:mod:`lifelong.serving.transport`).
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(f"port: expected an integer in [0, 65535], got {port!r}")
    # This process is the server: after startup, the collector skips what startup loaded.
    app.state.freeze_gc = True
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=access_log,
        lifespan="on",
        http=CoalescingHttpToolsProtocol,
        ws="none",
        server_header=False,
    )


__all__ = ["serve"]
