"""A real server with telemetry installed the way the application wires it, and raw calls on
each route: the 2026-07-28 fast path, a full handshake-era session (the SDK's path) and the
HTTP facade."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ontraport_mcp import __version__, observe
from ontraport_mcp.sandbox.testing import SandboxServer
from ontraport_mcp.telemetry import Telemetry
from ontraport_mcp.telemetry.tracing import Tracing
from tests.conftest import server_settings
from tests.server_thread import ServerThread

ERA = "2026-07-28"
HANDSHAKE = "2025-11-25"
META = {
    "io.modelcontextprotocol/protocolVersion": ERA,
    "io.modelcontextprotocol/clientCapabilities": {},
}
ACCEPT = "application/json, text/event-stream"


class Instrumented:
    """A running server, its telemetry and the in-memory span sink."""

    def __init__(self, server: ServerThread, telemetry: Telemetry, spans: InMemorySpanExporter):
        self.server = server
        self.telemetry = telemetry
        self.spans = spans


@contextlib.contextmanager
def running(sandbox: SandboxServer, **overrides: Any) -> Iterator[Instrumented]:
    """A server with telemetry installed as the application does it (spans to memory)."""
    exporter = InMemorySpanExporter()
    watching = observe.watchers()
    server = ServerThread(server_settings(sandbox.base_url, **overrides))  # build_app installs
    telemetry: Telemetry = server.app.state.telemetry
    assert telemetry.tracing is None  # no OTLP endpoint: no tracer at all
    # the spans go to memory instead of OTLP (registered, like the rest, at start-up)
    telemetry.tracing = Tracing(
        tool_names=tuple(server.app.state.mcp.dispatch.entries),
        processor=SimpleSpanProcessor(exporter),
        service_version=__version__,
    )
    assert observe.watchers() == watching, "observers are registered at start-up"
    with server:
        assert observe.watchers() == watching + 2  # metrics' finisher, tracing's observer
        yield Instrumented(server, telemetry, exporter)
    assert observe.watchers() == watching, "the app's shutdown removes its observers"


@pytest.fixture(scope="module")
def instrumented(sandbox: SandboxServer) -> Iterator[Instrumented]:
    with running(sandbox, confirmation_ttl_s=1.0) as instrumented:
        yield instrumented


def call_body(name: str, arguments: dict[str, Any], meta: Any = None) -> dict[str, Any]:
    """A JSON-RPC tools/call (with ``_meta`` for the 2026-07-28 era)."""
    params: dict[str, Any] = {"name": name, "arguments": arguments}
    if meta is not None:
        params["_meta"] = meta
    return {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}


def modern_call(
    server: ServerThread,
    creds: dict[str, str],
    name: str,
    arguments: dict[str, Any],
    **headers: str,
) -> httpx.Response:
    """One 2026-07-28 tools/call (the fast path answers it when the tool never confirms)."""
    body = call_body(name, arguments, META)
    sent = {
        "Content-Type": "application/json",
        "Accept": ACCEPT,
        "MCP-Protocol-Version": ERA,
        "Mcp-Method": "tools/call",
        "Mcp-Name": name,
        **creds,
        **headers,
    }
    reply = httpx.post(server.url, json=body, headers=sent, timeout=30)
    assert reply.status_code == 200, reply.text
    return reply


def tool_result(reply: httpx.Response) -> dict[str, Any]:
    """The JSON-RPC result of a plain JSON or SSE reply."""
    text = reply.text
    if reply.headers.get("content-type", "").startswith("text/event-stream"):
        data = [line[5:].strip() for line in text.splitlines() if line.startswith("data:")]
        text = next(d for d in data if d and '"result"' in d)
    return dict(json.loads(text)["result"])


def open_full_session(server: ServerThread, creds: dict[str, str]) -> str:
    """A handshake-era session of a client that can be asked (elicitation): the SDK's own."""
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": HANDSHAKE,
            "capabilities": {"elicitation": {}},
            "clientInfo": {"name": "telemetry-test", "version": "1"},
        },
    }
    reply = httpx.post(server.url, json=init, headers={"Accept": ACCEPT, **creds}, timeout=30)
    assert reply.status_code == 200, reply.text
    session = reply.headers["mcp-session-id"]
    assert session not in server.app.state.tracker.light
    headers = session_headers(session, creds)
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert httpx.post(server.url, json=initialized, headers=headers, timeout=30).status_code == 202
    return session


def session_headers(session: str, creds: dict[str, str], **extra: str) -> dict[str, str]:
    return {
        "Accept": ACCEPT,
        "Content-Type": "application/json",
        "Mcp-Session-Id": session,
        "MCP-Protocol-Version": HANDSHAKE,
        **creds,
        **extra,
    }


def session_call(
    server: ServerThread,
    session: str,
    creds: dict[str, str],
    name: str,
    arguments: dict[str, Any],
    **headers: str,
) -> httpx.Response:
    reply = httpx.post(
        server.url,
        json=call_body(name, arguments),
        headers=session_headers(session, creds, **headers),
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    return reply


def close_session(server: ServerThread, session: str, creds: dict[str, str]) -> None:
    httpx.delete(server.url, headers=session_headers(session, creds), timeout=30)


def facade_call(
    server: ServerThread,
    creds: dict[str, str],
    name: str,
    arguments: dict[str, Any],
    **headers: str,
) -> httpx.Response:
    return httpx.post(
        f"{server.root}/tools/{name}", json=arguments, headers={**creds, **headers}, timeout=30
    )
