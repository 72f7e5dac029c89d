"""Helpers of the reliability suite: child processes killed with SIGKILL, servers, pipelines."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Self

import httpx
import uvicorn
from fastapi import FastAPI

ROOT = Path(__file__).resolve().parents[2]
LIFELONG = Path(sys.executable).parent / "lifelong"
READY = "ready"
Record = Callable[..., None]
"""The ``reliability`` fixture: ``reliability(case, **numbers)`` adds a row to the table."""
PassedCases = Callable[..., int]
"""The ``passed_cases`` fixture: ``passed_cases(*test_names)`` counts the cases that passed."""


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child process: this one's, plus ``extra``."""
    env = dict(os.environ)
    env.update(extra)
    return env


@dataclass
class Child:
    """A child process whose stdout is read line by line in a thread."""

    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    _reader: threading.Thread | None = None

    @classmethod
    def start(cls, args: Sequence[str], *, env: dict[str, str] | None = None) -> Child:
        proc = subprocess.Popen(
            list(args),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
            env=env or child_env(),
        )
        child = cls(proc)
        child._reader = threading.Thread(target=child._read, daemon=True)
        child._reader.start()
        return child

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 60.0) -> None:
        """Block until a line containing ``text`` was printed (AssertionError if it exits first)."""
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            if self.proc.poll() is not None:
                time.sleep(0.05)  # let the reader drain
                if any(text in line for line in self.lines):
                    return
                raise AssertionError(f"child exited {self.proc.returncode}: {self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"child printed no {text!r} in {timeout} s: {self.output()}")
            time.sleep(0.01)

    def kill(self) -> bool:
        """SIGKILL the child; True when it was still running (a real kill)."""
        alive = self.proc.poll() is None
        if alive:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        self._close()
        return alive

    def finish(self, timeout: float = 120.0) -> int:
        """Wait for the child to exit on its own; its exit code."""
        code = self.proc.wait(timeout)
        self._close()
        return code

    def _close(self) -> None:
        if self._reader is not None:
            self._reader.join(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def output(self) -> str:
        return "\n".join(self.lines[-40:])


def python_child(script: str, *args: str, env: dict[str, str] | None = None) -> Child:
    """Run ``python -c script args...`` with this interpreter."""
    return Child.start([sys.executable, "-c", script, *args], env=env)


ZYGOTE = """
import os, sys
{prelude}
print("{ready}", flush=True)
for line in sys.stdin:
    args = line.split()
    pid = os.fork()
    if pid == 0:
        sys.stdin.close()
        code = 0
        try:
{body}
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            import traceback
            traceback.print_exc()
            code = 3
        sys.stdout.flush()
        os._exit(code)
    print(f"child {{pid}}", flush=True)
    _, status = os.waitpid(pid, 0)
    print(f"reaped {{pid}} {{status}}", flush=True)
"""


class Zygote:
    """A process that imports lifelong once, then forks a worker per :meth:`spawn`.

    Restarting a worker costs a fork instead of seconds of imports, so a fast test can kill
    workers many times. Each worker is an ordinary process: SIGKILL stops it as abruptly as any.
    """

    def __init__(self, prelude: str, body: str, *, env: dict[str, str] | None = None) -> None:
        indented = "\n".join("            " + line for line in body.strip("\n").splitlines())
        script = ZYGOTE.format(prelude=prelude, ready=READY, body=indented)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
            env=env or child_env(),
        )
        self.child = Child(self.proc)
        self.child._reader = threading.Thread(target=self.child._read, daemon=True)
        self.child._reader.start()
        self.child.wait_for(READY)
        self.pid: int | None = None

    def spawn(self, *args: str) -> int:
        """Fork a worker with ``args`` (visible to the body as ``args``); its pid."""
        assert self.proc.stdin is not None
        seen = len(self.child.lines)
        self.proc.stdin.write(" ".join(args) + "\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + 30
        while True:
            for line in self.child.lines[seen:]:
                if line.startswith("child "):
                    self.pid = int(line.split()[1])
                    return self.pid
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"zygote did not fork: {self.child.output()}")
            time.sleep(0.005)

    def reaped(self, timeout: float = 120.0) -> int:
        """Wait until the current worker is gone; its raw wait status."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.child.lines:
                if line.startswith(f"reaped {self.pid} "):
                    return int(line.split()[2])
            if time.monotonic() > deadline:
                raise AssertionError(f"worker {self.pid} still running: {self.child.output()}")
            time.sleep(0.005)

    def kill_worker(self) -> bool:
        """SIGKILL the current worker; True when it was still running."""
        assert self.pid is not None
        try:
            os.kill(self.pid, signal.SIGKILL)
            alive = True
        except ProcessLookupError:
            alive = False
        status = self.reaped()
        return alive and os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.child.finish(30)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None and self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.close()


CLI_PRELUDE = """
from lifelong.cli import main
import lifelong.runtime, lifelong.ingest, lifelong.orchestrator
"""
CLI_BODY = """
out = os.open(args[0], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.dup2(out, 1)
os.dup2(out, 2)
sys.argv = ["lifelong", *args[1:]]
main()
"""


class Cli:
    """``lifelong`` commands in forked processes of one :class:`Zygote` (real exit codes and output)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.zygote = Zygote(CLI_PRELUDE, CLI_BODY)
        self.runs = 0

    def __call__(self, *args: str) -> tuple[int, str]:
        """Run ``lifelong ARGS``; its exit code and everything it printed."""
        self.runs += 1
        out = self.folder / f"cli-{self.runs}.out"
        self.zygote.spawn(str(out), *args)
        status = self.zygote.reaped()
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
        return code, out.read_text()

    def close(self) -> None:
        self.zygote.__exit__()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(url: str, timeout: float = 60.0) -> None:
    """Block until the server at ``url`` says it is ready."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"server at {url} not ready within {timeout} s")
        time.sleep(0.05)


@contextmanager
def uvicorn_thread(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with a real uvicorn on a free loopback port, in a thread; yields its URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", ws="none", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-reliability", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start within 30 s")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


def copy_home(prepared: Path, tmp_path: Path) -> Path:
    """A private copy of a prepared project folder (spec, events, registry)."""
    target = tmp_path / "project"
    shutil.copytree(prepared, target)
    spec = target / "lifelong.yaml"
    spec.write_text(spec.read_text().replace(str(prepared), str(target)))
    return target


STEP = timedelta(hours=1)

__all__ = [
    "LIFELONG",
    "READY",
    "ROOT",
    "STEP",
    "Child",
    "Cli",
    "Record",
    "Zygote",
    "child_env",
    "copy_home",
    "free_port",
    "python_child",
    "uvicorn_thread",
    "wait_ready",
]
