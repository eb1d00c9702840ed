"""A throwaway ``redis-server`` for tests: loopback, a free port, no persistence, stopped by PID.

Any test module can use it (the state contract tests, the replica tests of #17)::

    with RedisServer.start(tmp_path) as redis:
        store = RedisStore(redis.url)

``RedisServer.start`` skips the calling test with a clear message when no ``redis-server``
binary exists (Debian's ``redis-server`` package provides one; ``.ci/run`` installs it).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from tests.conftest import missing_binary

REDIS_SERVER = os.environ.get("REDIS_SERVER_BIN", "/usr/bin/redis-server")
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


def redis_server_binary() -> str | None:
    """The ``redis-server`` to run, or None when there is none on this machine."""
    if os.access(REDIS_SERVER, os.X_OK):
        return REDIS_SERVER
    return shutil.which("redis-server")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ping(port: int, timeout_s: float = 0.5) -> bool:
    """True when a Redis answers ``PING`` on 127.0.0.1:port (plain RESP, no client library); a
    server with a password answers ``-NOAUTH``, which still proves it is up."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as connection:
            connection.sendall(b"*1\r\n$4\r\nPING\r\n")
            return connection.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


@dataclass
class RedisServer:
    """One running ``redis-server`` process that this test session started."""

    process: subprocess.Popen[bytes]
    port: int
    directory: Path
    log: Path
    password: str | None = None
    stopped: bool = field(default=False)

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    @classmethod
    def start(cls, directory: Path, *, password: str | None = None) -> RedisServer:
        """Start a server with its files in ``directory`` (and ``requirepass`` when a password is
        given) and wait (bounded) until it answers PING; skip the test when no binary exists,
        fail it when the server does not come up."""
        binary = redis_server_binary()
        if binary is None:
            missing_binary(
                "redis-server is not installed (apt-get install redis-server): "
                "the Redis backend tests need a real server"
            )
        directory.mkdir(parents=True, exist_ok=True)
        log = directory / "redis.log"
        for _attempt in range(3):  # a free port can be taken between the probe and the bind
            port = free_port()
            arguments = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
            arguments += ["--appendonly", "no", "--dir", str(directory), "--logfile", str(log)]
            arguments += ["--requirepass", password] if password else []
            process = subprocess.Popen(
                arguments,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
            server = cls(process, port, directory, log, password)
            deadline = time.monotonic() + START_TIMEOUT_S
            while time.monotonic() < deadline and process.poll() is None:
                if ping(port):
                    return server
                time.sleep(0.02)
            server.stop()
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
        raise RuntimeError(f"redis-server did not answer PING on 127.0.0.1; its log:\n{tail}")

    def stop(self) -> None:
        """Stop this server by its own PID (TERM, then KILL after a bounded wait)."""
        if self.stopped:
            return
        self.stopped = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT_S)

    def __enter__(self) -> RedisServer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
