"""``ontraport-mcp serve --workers 2``: two worker processes on one port and one SQLite store.

The server runs as a user runs it (a subprocess of this interpreter, stopped by its own PID);
its upstream is a sandbox in this process.  Which worker answered a request is read from the
kernel, not from the server: the worker process whose file descriptors hold the server side of
the client's TCP connection (``/proc/<pid>/fd`` and ``/proc/net/tcp``), so the test needs no
hook in the server and can pin a client to a worker by keeping its connection open.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from ontraport_mcp.sandbox.config import SandboxConfig
from ontraport_mcp.sandbox.testing import SandboxServer
from tests.scale.replicas import stop_process

if not sys.platform.startswith("linux"):
    pytest.skip(
        "reading which worker holds a connection needs Linux /proc", allow_module_level=True
    )

CLI = [sys.executable, "-m", "ontraport_mcp"]
WORKERS = 2
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
ATTEMPTS = 20  # rounds of new connections while looking for a connection to each worker
ERA = "2026-07-28"
META = {
    "io.modelcontextprotocol/protocolVersion": ERA,
    "io.modelcontextprotocol/clientCapabilities": {},
}


@dataclass
class Served:
    """The running ``serve --workers`` process tree."""

    process: subprocess.Popen[str]
    url: str
    port: int
    sandbox: SandboxServer

    def workers(self) -> list[int]:
        """The PIDs of the worker processes (children of the supervisor)."""
        path = f"/proc/{self.process.pid}/task/{self.process.pid}/children"
        with open(path) as listing:
            children = [int(pid) for pid in listing.read().split()]
        return [pid for pid in children if b"spawn" in _cmdline(pid)]


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as text:
            return text.read()
    except OSError:
        return b""


def _read_line(process: subprocess.Popen[str], timeout_s: float) -> str:
    """The child's next stdout line, waiting at most ``timeout_s``."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout_s)
    return process.stdout.readline() if ready else ""


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    config = SandboxConfig(db=":memory:", rate_limit=1_000_000)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONTRAPORT_")}
    env["ONTRAPORT_AUDIT_LOG"] = "off"
    data_dir = tempfile.mkdtemp(prefix="ontraport-mcp-workers-")
    with SandboxServer(config) as sandbox:
        arguments = ["serve", "--port", "0", "--workers", str(WORKERS)]
        arguments += ["--upstream", sandbox.base_url, "--data-dir", data_dir]
        process = subprocess.Popen(
            [*CLI, *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        workers: list[int] = []
        try:
            banner = _read_line(process, START_TIMEOUT_S)
            assert banner.startswith("ontraport-mcp "), banner + _stderr(process)
            url = banner.split("serving MCP at ", 1)[1].split()[0]
            port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
            served = Served(process, url, port, sandbox)
            workers = served.workers()
            yield served
        finally:
            stop_process(process)  # SIGTERM: the supervisor stops its workers
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    leftovers = [pid for pid in workers if _running(pid)]
    assert not leftovers, f"worker processes outlived the supervisor: {leftovers}"


def _running(pid: int) -> bool:
    """Whether ``pid`` still runs (an exited worker not yet reaped, a zombie, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _stderr(process: subprocess.Popen[str]) -> str:
    if process.poll() is None:
        return ""
    return process.stderr.read() if process.stderr else ""


# --- which worker holds a connection --------------------------------------------------------


def _socket_inodes(pid: int) -> set[int]:
    inodes: set[int] = set()
    folder = f"/proc/{pid}/fd"
    for fd in os.listdir(folder):
        try:
            target = os.readlink(f"{folder}/{fd}")
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def _server_side_inode(server_port: int, client_port: int) -> int | None:
    """The inode of the accepted socket of the connection client_port → server_port."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            next(rows)
            for row in rows:
                fields = row.split()
                local, remote, inode = fields[1], fields[2], int(fields[9])
                if (
                    int(local.rsplit(":", 1)[1], 16) == server_port
                    and int(remote.rsplit(":", 1)[1], 16) == client_port
                    and inode
                ):
                    return inode
    return None


def _owner(served: Served, response: httpx.Response) -> int | None:
    """The worker PID that answered ``response`` (its connection is still open)."""
    client_port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
    inode = _server_side_inode(served.port, client_port)
    if inode is None:
        return None
    for pid in served.workers():
        if inode in _socket_inodes(pid):
            return pid
    return None


def _headers(served: Served, tool: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": ERA,
        "Mcp-Method": "tools/call",
        "Mcp-Name": tool,
        **served.sandbox.headers,
    }


def _call(client: httpx.Client, served: Served, tool: str, arguments: dict) -> httpx.Response:
    params = {"name": tool, "arguments": arguments, "_meta": META}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
    reply = client.post(served.url, json=body, headers=_headers(served, tool), timeout=30)
    assert reply.status_code == 200, reply.text[:300]
    return reply


def _result(reply: httpx.Response) -> dict[str, Any]:
    result = reply.json()["result"]
    assert not result.get("isError"), result
    structured: dict[str, Any] = result["structuredContent"]
    return structured


def _pinned(served: Served) -> dict[int, httpx.Client]:
    """One open client per worker: connections are opened (a few at a time, a bounded number of
    rounds) until each worker holds one; the rest are closed."""
    pinned: dict[int, httpx.Client] = {}
    for _round in range(ATTEMPTS):
        clients = [httpx.Client(limits=httpx.Limits(max_connections=1)) for _ in range(4)]
        for client in clients:
            reply = _call(client, served, "get_objects", {"object_type_id": 0, "range": 1})
            owner = _owner(served, reply)
            if owner is not None and owner not in pinned:
                pinned[owner] = client
            else:
                client.close()
        if len(pinned) == WORKERS:
            break
    return pinned


# --- the tests -------------------------------------------------------------------------------


def test_both_workers_serve_tool_calls(served: Served) -> None:
    workers = served.workers()
    assert len(workers) == WORKERS, f"expected {WORKERS} workers, found {workers}"
    pinned = _pinned(served)
    try:
        assert set(pinned) == set(workers), "not every worker answered a tools/call"
        for pid, client in pinned.items():  # a kept connection stays with its worker
            reply = _call(client, served, "get_objects", {"object_type_id": 0, "range": 2})
            assert _owner(served, reply) == pid
            assert _result(reply)
    finally:
        for client in pinned.values():
            client.close()


def test_a_confirmation_issued_by_one_worker_redeems_on_the_other(served: Served) -> None:
    """The token lives in the shared SQLite store: the other worker redeems it, once."""
    pinned = _pinned(served)
    try:
        assert len(pinned) == WORKERS
        first, second = list(pinned.values())
        contact = {"object_type_id": 0, "id": 7}
        summary = _result(_call(first, served, "delete_object", contact))
        assert summary["status"] == "confirmation_required"
        token = summary["confirmation_token"]
        served.sandbox.clear_requests()
        done = _result(
            _call(second, served, "delete_object", {**contact, "confirmation_token": token})
        )
        assert done.get("status") != "confirmation_required", done
        again = _call(first, served, "delete_object", {**contact, "confirmation_token": token})
        assert again.json()["result"]["isError"] is True  # single use, on every worker
    finally:
        for client in pinned.values():
            client.close()
    deletes = [r for r in served.sandbox.requests() if r["method"] == "DELETE"]
    assert len(deletes) == 1, deletes


HANDSHAKE = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},  # no form elicitation: a light session
        "clientInfo": {"name": "workers-test", "version": "1"},
    },
}


def test_a_light_session_opened_on_one_worker_is_served_by_the_other(served: Served) -> None:
    pinned = _pinned(served)
    try:
        assert len(pinned) == WORKERS
        first, second = list(pinned.values())
        headers = {**HANDSHAKE, **served.sandbox.headers}
        opened = first.post(served.url, json=INITIALIZE, headers=headers, timeout=30)
        assert opened.status_code == 200, opened.text
        headers["Mcp-Session-Id"] = opened.headers["mcp-session-id"]
        listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}
        listed = second.post(served.url, json=listing, headers=headers, timeout=30)
        assert listed.status_code == 200, listed.text[:300]
        assert '"tools"' in listed.text
    finally:
        for client in pinned.values():
            client.close()
