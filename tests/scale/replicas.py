"""Server replicas as real processes, and plain 2026-07-28 JSON-RPC calls to them.

``Replica.start`` runs ``ontraport-mcp serve`` (the venv's script) on 127.0.0.1 with its own
``--data-dir`` and the given ``--store``, waits (bounded) for ``/health``, and is stopped by its
own PID (``stop``: TERM then KILL; ``kill``: SIGKILL at once, a crash).  Calls go over plain HTTP
one request each (``call_tool``), so a round-robin proxy in front really spreads them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.server_thread import free_port

SCRIPT = Path(sys.executable).with_name("ontraport-mcp")
START_TIMEOUT_S = 40.0
STOP_TIMEOUT_S = 10.0
ERA = "2026-07-28"
ACCEPT = "application/json, text/event-stream"
ELICITING: dict[str, Any] = {"elicitation": {"form": {}}}
REQUEST_STATE_KEY = "replica-test-request-state-key-" + "k" * 32  # test-only, not a secret


@dataclass
class Replica:
    """One ``ontraport-mcp serve`` process this test started."""

    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    log: Path
    stopped: bool = field(default=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(
        cls, data_dir: Path, *, store: str | None, upstream: str, env: dict[str, str] | None = None
    ) -> Replica:
        """Start a replica and wait until its ``/health`` answers (200, or 503 when the store is
        down: the process is up either way)."""
        data_dir.mkdir(parents=True, exist_ok=True)
        log = data_dir / "server.log"
        port = free_port()
        arguments = [str(SCRIPT), "serve", "--port", str(port), "--upstream", upstream]
        arguments += ["--data-dir", str(data_dir)] + (["--store", store] if store else [])
        environment = {
            **os.environ,
            "ONTRAPORT_AUDIT_LOG": "off",
            "ONTRAPORT_RATE_LIMIT_PER_MINUTE": "100000",
            **(env or {}),
        }
        with log.open("ab") as sink:
            process = subprocess.Popen(
                arguments, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
                env=environment,
            )  # fmt: skip
        replica = cls(process, port, data_dir, log)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(replica.url + "/health", timeout=1.0).status_code in (200, 503):
                    return replica
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        replica.stop()
        raise RuntimeError(f"the replica did not start; its log:\n{replica.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else "(no log)"

    def kill(self) -> None:
        """A crash: SIGKILL by PID, no shutdown at all."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=STOP_TIMEOUT_S)
        self.stopped = True

    def stop(self) -> None:
        """A clean stop by PID: TERM, then KILL after a bounded wait."""
        if not self.stopped:
            self.stopped = True
            stop_process(self.process)


def stop_process(process: subprocess.Popen[bytes], timeout_s: float = STOP_TIMEOUT_S) -> None:
    """Stop a process this test started, by its PID: TERM, then KILL after ``timeout_s``."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout_s)


def _message(response: httpx.Response) -> dict[str, Any]:
    """The JSON-RPC response of a POST, whether it came as JSON or as an SSE stream."""
    assert response.status_code == 200, (response.status_code, response.text[:500])
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        for line in response.text.splitlines():
            if line.startswith("data:") and '"id"' in line:
                return dict(json.loads(line[5:]))
        raise AssertionError(f"no JSON-RPC response in the stream: {response.text[:500]}")
    return dict(response.json())


def call_tool(
    http: httpx.Client,
    url: str,
    name: str,
    arguments: dict[str, Any],
    *,
    capabilities: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One ``tools/call`` as a stateless 2026-07-28 request: the JSON-RPC ``result`` (or the
    ``error`` object under the key ``"rpc_error"``)."""
    meta = {
        "io.modelcontextprotocol/protocolVersion": ERA,
        "io.modelcontextprotocol/clientCapabilities": capabilities or {},
    }
    params = {"name": name, "arguments": arguments, "_meta": meta, **(extra or {})}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
    headers = {
        "Accept": ACCEPT,
        "MCP-Protocol-Version": ERA,
        "Mcp-Method": "tools/call",
        "Mcp-Name": name,
    }
    message = _message(http.post(url + "/mcp", json=body, headers=headers))
    if "error" in message:
        return {"rpc_error": message["error"]}
    return dict(message["result"])


def payload(result: dict[str, Any]) -> dict[str, Any]:
    """A tool result's object: structuredContent on success, the error object otherwise."""
    if result.get("isError"):
        return dict(json.loads(result["content"][0]["text"]))
    assert isinstance(result.get("structuredContent"), dict), result
    return dict(result["structuredContent"])
