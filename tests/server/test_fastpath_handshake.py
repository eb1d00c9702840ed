"""Over a light handshake-era session, the tools/call fast path answers exactly as the SDK does.

The same two servers as test_fastpath (fast path on and off) each open a light session (a client
without elicitation) and get the same raw requests under their own session id; status, content
type and the SSE event's JSON must be equal, and the fast server's counter says which requests it
answered itself.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from ontraport_mcp.sandbox.testing import SandboxServer
from tests.server.test_fastpath import FAST_CASES, _tokenless, pair  # noqa: F401 (fixture)
from tests.server_thread import ServerThread

ERA = "2025-11-25"


def _initialize(capabilities: dict[str, Any]) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": ERA,
            "capabilities": capabilities,
            "clientInfo": {"name": "t", "version": "1"},
        },
    }


def _open(server: ServerThread, sandbox: SandboxServer) -> str:
    init = _initialize({})
    headers = {"Accept": "application/json, text/event-stream", **sandbox.headers}
    reply = httpx.post(server.url, json=init, headers=headers, timeout=30)
    session = reply.headers["mcp-session-id"]
    assert session in server.app.state.tracker.light
    return session


@pytest.fixture(scope="module")
def sessions(pair, sandbox) -> tuple[str, str]:  # noqa: F811
    return _open(pair[0], sandbox), _open(pair[1], sandbox)


def _headers(sandbox: SandboxServer, session: str, **extra: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": ERA,
        "Mcp-Session-Id": session,
        **sandbox.headers,
        **extra,
    }


def _call(name: str, arguments: Any, request_id: Any = 1, meta: Any = None) -> dict[str, Any]:
    params: dict[str, Any] = {"name": name, "arguments": arguments}
    if meta is not None:
        params["_meta"] = meta
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


def _both(pair, sessions, sandbox, body: Any, **extra: str):  # noqa: F811
    counter = pair[0].app.state.fast_calls
    before = counter.answered
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    replies = [
        httpx.post(s.url, content=content, headers=_headers(sandbox, sid, **extra), timeout=30)
        for s, sid in zip(pair, sessions, strict=True)
    ]
    return replies[0], replies[1], counter.answered - before


def _events(reply: httpx.Response) -> list[Any]:
    return [
        _tokenless(line[len("data: ") :])
        for line in reply.text.splitlines()
        if line.startswith("data: ")
    ]


def _same(a: httpx.Response, b: httpx.Response, sessions: tuple[str, str]) -> None:
    assert a.status_code == b.status_code
    assert a.headers.get("content-type") == b.headers.get("content-type")
    assert a.headers.get("cache-control") == b.headers.get("cache-control")
    if a.status_code < 400:  # refusals before the session layer answer (Content-Type) carry none
        assert (a.headers.get("mcp-session-id"), b.headers.get("mcp-session-id")) == sessions
    if a.headers.get("content-type", "").startswith("text/event-stream"):
        assert _events(a) == _events(b) and _events(a)
    else:
        assert a.content == b.content


@pytest.mark.parametrize("case", FAST_CASES)
def test_light_session_fast_replies_equal_the_sdk(pair, sessions, sandbox, case):  # noqa: F811
    name, arguments, request_id = FAST_CASES[case]
    fast, plain, answered = _both(pair, sessions, sandbox, _call(name, arguments, request_id))
    assert answered == 1, "the fast path should have answered this itself"
    _same(fast, plain, sessions)
    assert _events(fast)[0]["id"] == request_id


def test_a_meta_without_progress_token_is_answered(pair, sessions, sandbox):  # noqa: F811
    body = _call("get_objects", {"object_type_id": 0, "range": 1}, 5, meta={"trace": "x"})
    fast, plain, answered = _both(pair, sessions, sandbox, body)
    assert answered == 1
    _same(fast, plain, sessions)


HANDED_OVER: dict[str, tuple[Any, dict[str, str]]] = {
    "needs confirmation": (_call("delete_object", {"object_type_id": 0, "id": 1}), {}),
    "unknown tool": (_call("no_such_tool", {}), {}),
    "progress token": (_call("get_objects", {}, meta={"progressToken": "p"}), {}),
    "sse not accepted": (_call("get_objects", {}), {"Accept": "application/json"}),
    "json not accepted": (_call("get_objects", {}), {"Accept": "text/event-stream"}),
    "not a json body": (_call("get_objects", {}), {"Content-Type": "text/plain"}),
    "batch": ([_call("get_objects", {})], {}),
    "not json": (b"{nope", {}),
    "notification": ({"jsonrpc": "2.0", "method": "notifications/initialized"}, {}),
    "boolean id": ({**_call("get_objects", {}), "id": True}, {}),
    "other method": ({"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {}}, {}),
    "extra envelope key": ({**_call("get_objects", {}), "extra": 1}, {}),
}


@pytest.mark.parametrize("case", HANDED_OVER)
def test_everything_else_goes_to_the_sdk(pair, sessions, sandbox, case):  # noqa: F811
    body, extra = HANDED_OVER[case]
    fast, plain, answered = _both(pair, sessions, sandbox, body, **extra)
    assert answered == 0
    _same(fast, plain, sessions)
    if case == "needs confirmation":
        assert _events(fast)[0]["result"]["structuredContent"]["status"] == (
            "confirmation_required"
        )


def test_a_full_session_is_never_answered_by_the_fast_path(pair, sandbox):  # noqa: F811
    """A client that can be asked to confirm keeps the SDK's session pipeline throughout."""
    fast = pair[0]
    init = _initialize({"elicitation": {}})
    accept = {"Accept": "application/json, text/event-stream", **sandbox.headers}
    session = httpx.post(fast.url, json=init, headers=accept).headers["mcp-session-id"]
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    httpx.post(fast.url, json=initialized, headers=_headers(sandbox, session))
    counter = fast.app.state.fast_calls
    before = counter.answered
    reply = httpx.post(
        fast.url,
        json=_call("get_objects", {"object_type_id": 0, "range": 1}),
        headers=_headers(sandbox, session),
        timeout=30,
    )
    assert reply.status_code == 200 and '"isError":false' in reply.text
    assert counter.answered == before
    httpx.delete(fast.url, headers=_headers(sandbox, session))
