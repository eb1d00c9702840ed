"""Child processes of a benchmark run: started in their own process group, always stopped."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import psutil

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
# extra environment for every MCP server a run starts (``python -m bench --server-env K=V``):
# settings (ONTRAPORT_*), or PYTHONPATH pointing at a patched copy to measure a change.
SERVER_ENV: dict[str, str] = {}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def ontraport_mcp_command() -> list[str]:
    """The ``ontraport-mcp`` console script next to this interpreter (else the same via -c)."""
    script = Path(sys.executable).parent / "ontraport-mcp"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from ontraport_mcp.cli import main; main()"]


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM if the benchmark itself is killed (no orphans)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Child:
    """One subprocess in its own session (process group); ``stop()`` ends the whole group."""

    def __init__(
        self, name: str, argv: list[str], *, env: dict[str, str] | None = None, cwd: Path = REPO
    ) -> None:
        self.name = name
        self.argv = argv
        self._stderr: IO[bytes] = tempfile.TemporaryFile()
        self.popen = subprocess.Popen(
            argv,
            cwd=str(cwd),
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        self.pid = self.popen.pid
        self.ps = psutil.Process(self.pid)

    def stderr_tail(self, limit: int = 2000) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")[-limit:]

    def alive(self) -> bool:
        return self.popen.poll() is None

    def read_line(self, timeout_s: float) -> str:
        """One stdout line (the upstream prints its port), bounded in time."""
        assert self.popen.stdout is not None
        import selectors

        sel = selectors.DefaultSelector()
        sel.register(self.popen.stdout, selectors.EVENT_READ)
        try:
            if not sel.select(timeout_s):
                raise RuntimeError(f"{self.name}: no output in {timeout_s} s\n{self.stderr_tail()}")
            return self.popen.stdout.readline().decode("utf-8", "replace")
        finally:
            sel.close()

    def stop(self) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=8)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait(timeout=5)
        else:
            # the leader is gone; make sure nothing it started lingers in its group
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
        if self.popen.stdout is not None:
            self.popen.stdout.close()
        self._stderr.close()

    # --- measurements of the process --------------------------------------------------------

    def cpu_s(self) -> float:
        """CPU seconds of the process and of every live process under it (``serve --workers``
        does its work in child processes)."""
        t = self.ps.cpu_times()
        total = float(t.user + t.system)
        with contextlib.suppress(psutil.Error):
            for child in self.ps.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    c = child.cpu_times()
                    total += float(c.user + c.system)
        return total

    def rss(self) -> int:
        return int(self.ps.memory_info().rss)


def wait_http(port: int, path: str, child: Child, timeout_s: float = 30.0) -> None:
    """Until ``GET path`` answers (any status) or the child dies / the time is up."""
    deadline = time.monotonic() + timeout_s
    request = f"GET {path} HTTP/1.1\r\nhost: {HOST}:{port}\r\nconnection: close\r\n\r\n".encode()
    while time.monotonic() < deadline:
        if not child.alive():
            raise RuntimeError(f"{child.name} exited early:\n{child.stderr_tail()}")
        try:
            with socket.create_connection((HOST, port), timeout=1) as s:
                s.sendall(request)
                if s.recv(16).startswith(b"HTTP/1."):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{child.name} did not answer in {timeout_s} s:\n{child.stderr_tail()}")


@contextlib.contextmanager
def upstream(delay_ms: float = 0.0) -> Iterator[tuple[Child, int]]:
    child = Child(
        "canned upstream",
        [sys.executable, "-m", "bench.upstream", "--port", "0", "--delay-ms", str(delay_ms)],
    )
    try:
        line = child.read_line(20)
        if not line.startswith("PORT "):
            raise RuntimeError(f"canned upstream said {line!r}\n{child.stderr_tail()}")
        port = int(line.split()[1])
        wait_http(port, "/_bench/health", child)
        yield child, port
    finally:
        child.stop()


# The bench's accounts send thousands of calls a second, far past Ontraport's 180 a minute: the
# per-account budget (state.governor) is spent and checked on every call as in production, but
# set high enough never to refuse one.
BENCH_ENV = {"ONTRAPORT_AUDIT_LOG": "off", "ONTRAPORT_RATE_LIMIT_PER_MINUTE": "1000000000"}


@contextlib.contextmanager
def mcp_server(
    upstream_port: int, *, workers: int = 1, data_dir_flag: bool = True, **env: str
) -> Iterator[tuple[Child, int]]:
    """``ontraport-mcp serve`` on a free port with a state directory of its own (removed after):
    the SQLite store unless ``env`` names another (``ONTRAPORT_STORE``).  ``data_dir_flag=False``
    hands the directory over as ``ONTRAPORT_DATA_DIR`` instead of ``--data-dir``, for an older
    build whose ``serve`` has no such flag (``bench.baseline``)."""
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="ontraport-mcp-bench-")
    argv = [
        *ontraport_mcp_command(),
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--upstream",
        f"http://{HOST}:{upstream_port}/1",
    ]
    folder: dict[str, str] = {}
    if data_dir_flag:
        argv += ["--data-dir", data_dir]
    else:  # like the flag, the variable wins over one in the environment or --server-env
        folder["ONTRAPORT_DATA_DIR"] = data_dir
    if workers > 1:
        argv += ["--workers", str(workers)]
    child = Child("MCP server", argv, env={**BENCH_ENV, **SERVER_ENV, **env, **folder})
    try:
        wait_http(port, "/health", child, timeout_s=60)
        yield child, port
    finally:
        child.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def redis_server_binary() -> str | None:
    """Debian's ``redis-server`` (or one on PATH), or None when there is none."""
    if os.access("/usr/bin/redis-server", os.X_OK):
        return "/usr/bin/redis-server"
    return shutil.which("redis-server")


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def redis_server(binary: str) -> Iterator[tuple[Child, int]]:
    """A throwaway ``redis-server`` on a free loopback port: no persistence, files in a temporary
    folder (removed after), stopped with its process group."""
    port = free_port()
    folder = tempfile.mkdtemp(prefix="ontraport-mcp-bench-redis-")
    argv = [binary, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"]
    argv += ["--dir", folder, "--logfile", os.path.join(folder, "redis.log")]
    child = Child("redis-server", argv)
    try:
        deadline = time.monotonic() + 15
        while not _redis_ping(port):
            if not child.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not answer PING:\n{child.stderr_tail()}")
            time.sleep(0.02)
        yield child, port
    finally:
        child.stop()
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def sandbox() -> Iterator[tuple[Child, int]]:
    port = free_port()
    argv = [
        *ontraport_mcp_command(),
        "sandbox",
        "--host",
        HOST,
        "--port",
        str(port),
        "--rate-limit",
        "100000000",
    ]
    child = Child("sandbox", argv)
    try:
        wait_http(port, "/_admin/health", child, timeout_s=60)
        yield child, port
    finally:
        child.stop()


def control(port: int, method: str, path: str) -> dict[str, Any]:
    """A tiny blocking HTTP call to the canned upstream's ``/_bench/…`` endpoints."""
    import json

    request = f"{method} {path} HTTP/1.1\r\nhost: {HOST}:{port}\r\ncontent-length: 0\r\n\r\n"
    with socket.create_connection((HOST, port), timeout=5) as s:
        s.sendall(request.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        while len(body) < length:
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
    result: dict[str, Any] = json.loads(body)
    return result
