"""Hostile bodies on every route: never a 500, a traceback or a silent 202.

Every route — 2026-07-28 requests (fast path on and off), a handshake-era request without a
session, a light session, a full session, and the facade's ``POST /tools/{name}`` — gets deep
nesting, lone surrogates in keys and values, huge numbers, NaN and Infinity, non-object
bodies, invalid UTF-8, an empty body, duplicate keys and request ids JSON-RPC does not allow.
Each must answer with a structured 4xx (a JSON-RPC error, or the facade's error object) or a
JSON-RPC result (``isError`` for bad arguments).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ontraport_mcp.sandbox.testing import SandboxServer
from tests.conftest import server_settings
from tests.server_thread import ServerThread

ERA = "2026-07-28"
META = json.dumps(
    {
        "io.modelcontextprotocol/protocolVersion": ERA,
        "io.modelcontextprotocol/clientCapabilities": {},
    }
)
HANDSHAKE = "2025-11-25"


def _call(arguments: str, request_id: str = "1", name: str = '"get_objects"') -> bytes:
    return (
        f'{{"jsonrpc":"2.0","id":{request_id},"method":"tools/call","params":'
        f'{{"name":{name},"arguments":{arguments},"_meta":{META}}}}}'
    ).encode()


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


# name -> (JSON-RPC body, facade body); the facade's body is the arguments object alone
ARGS_CASES: dict[str, str] = {
    **{f"deep-{n}": f'{{"object_type_id":0,"condition":{_deep(n)}}}' for n in (500, 1000, 100_000)},
    **{
        f"deep-keys-{n}": '{"object_type_id":0,"x":' + '{"a":' * n + "1" + "}" * n + "}"
        for n in (500, 1000)
    },
    "surrogate-value": '{"object_type_id":0,"condition":"\\ud800"}',
    "surrogate-key": '{"\\udfff":1,"object_type_id":0}',
    "surrogate-pair-reversed": '{"object_type_id":0,"search":"\\udc00\\ud800"}',
    "huge-integer": '{"object_type_id":' + "9" * 5000 + "}",
    "huge-float": '{"object_type_id":1e999}',
    "nan": '{"object_type_id":NaN}',
    "infinity": '{"object_type_id":-Infinity}',
    "duplicate-keys": '{"object_type_id":0,"object_type_id":"x"}',
}
BODY_CASES: dict[str, bytes] = {
    **{name: _call(args) for name, args in ARGS_CASES.items()},
    **{f"whole-deep-{n}": _deep(n).encode() for n in (500, 1000, 100_000)},
    "surrogate-tool-name": _call('{"object_type_id":0}', name='"\\ud800"'),
    "surrogate-method": b'{"jsonrpc":"2.0","id":1,"method":"\\ud800","params":{}}',
    "array": b'[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]',
    "string": b'"tools/call"',
    "number": b"3",
    "null": b"null",
    "invalid-utf8": b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\xff\xfe"}}',
    "empty": b"",
    "duplicate-ids": b'{"jsonrpc":"2.0","id":1,"id":{},"method":"tools/list","params":{}}',
}
BAD_IDS = ("1.5", "NaN", "true", "false", "{}", "[]", "[1]", "null", "1e3")
FACADE_EXTRA: dict[str, bytes] = {
    "whole-deep-100000": _deep(100_000).encode(),
    "array": b"[1,2]",
    "string": b'"x"',
    "number": b"3",
    "null": b"null",
    "invalid-utf8": b'{"search":"\xff\xfe"}',
}


@pytest.fixture(scope="module")
def servers(sandbox: SandboxServer) -> Iterator[dict[str, ServerThread]]:
    with (
        ServerThread(server_settings(sandbox.base_url, fast_tool_calls=True)) as fast,
        ServerThread(server_settings(sandbox.base_url, fast_tool_calls=False)) as plain,
        ServerThread(server_settings(sandbox.base_url, stateless=True)) as stateless,
    ):
        yield {"fast": fast, "plain": plain, "stateless": stateless}


def _open(server: ServerThread, creds: dict[str, str], caps: dict[str, Any]) -> str:
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": HANDSHAKE,
            "capabilities": caps,
            "clientInfo": {"name": "abuse", "version": "1"},
        },
    }
    headers = _handshake_headers(creds)
    opened = httpx.post(server.url, json=init, headers=headers)
    assert opened.status_code == 200, opened.text
    session = opened.headers["mcp-session-id"]
    done = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    httpx.post(server.url, json=done, headers={**headers, "Mcp-Session-Id": session})
    return session


def _handshake_headers(creds: dict[str, str]) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": HANDSHAKE,
        **creds,
    }


@pytest.fixture(scope="module")
def routes(servers: dict[str, ServerThread], sandbox: SandboxServer) -> dict[str, tuple[str, dict]]:
    """route name -> (url, headers) for the JSON-RPC routes."""
    creds = sandbox.headers
    modern = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": ERA,
        "Mcp-Method": "tools/call",
        "Mcp-Name": "get_objects",
        **creds,
    }
    found: dict[str, tuple[str, dict]] = {}
    found["stateless-handshake"] = (servers["stateless"].url, _handshake_headers(creds))
    for kind in ("fast", "plain"):
        server = servers[kind]
        handshake = _handshake_headers(creds)
        light = _open(server, creds, {})
        full = _open(server, creds, {"elicitation": {}})
        found[f"{kind}-2026"] = (server.url, modern)
        found[f"{kind}-handshake-open"] = (server.url, handshake)
        found[f"{kind}-light"] = (server.url, {**handshake, "Mcp-Session-Id": light})
        found[f"{kind}-full"] = (server.url, {**handshake, "Mcp-Session-Id": full})
    return found


ROUTES = [
    f"{kind}-{route}"
    for kind in ("fast", "plain")
    for route in ("2026", "handshake-open", "light", "full")
] + ["stateless-handshake"]


def _reply(response: httpx.Response) -> Any:
    """The JSON of a reply, plain or as the one event of an SSE stream."""
    text = response.text
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        data = [line[5:].strip() for line in text.splitlines() if line.startswith("data:")]
        data = [d for d in data if d]
        assert len(data) == 1, text[:300]
        text = data[0]
    return json.loads(text)


def _structured(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code < 500, (response.status_code, response.text[:300])
    assert response.status_code != 202, "a request answered with a silent 202"
    body = _reply(response)
    assert isinstance(body, dict), response.text[:300]
    if response.status_code >= 400:
        assert "error" in body, response.text[:300]
    return body


@pytest.fixture(autouse=True)
def no_tracebacks(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.ERROR)
    yield
    crashes = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not crashes, [r.getMessage()[:200] for r in crashes]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("case", sorted(BODY_CASES))
def test_jsonrpc_routes_answer_every_body(routes, route, case):
    url, headers = routes[route]
    with httpx.Client(timeout=60) as http:  # a fresh connection per request
        response = http.post(url, content=BODY_CASES[case], headers=headers)
    body = _structured(response)
    if response.status_code == 200:
        assert body.get("jsonrpc") == "2.0" and ("result" in body or "error" in body)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("request_id", BAD_IDS)
@pytest.mark.parametrize("method", ["tools/call", "tools/list", "initialize"])
def test_request_ids_json_rpc_forbids_are_invalid_requests(routes, route, request_id, method):
    url, headers = routes[route]
    params = (
        '{"name":"get_objects","arguments":{"object_type_id":0,"range":1}}'
        if method == "tools/call"
        else '{"protocolVersion":"2025-11-25","capabilities":{},'
        '"clientInfo":{"name":"t","version":"1"}}'
        if method == "initialize"
        else "{}"
    )
    body = f'{{"jsonrpc":"2.0","id":{request_id},"method":"{method}","params":{params}}}'
    response = httpx.post(url, content=body, headers={**headers, "Mcp-Method": method})
    assert response.status_code == 400, (response.status_code, response.text[:300])
    error = _structured(response)["error"]
    assert error["code"] == -32600
    assert "mcp-session-id" not in response.headers or "Mcp-Session-Id" in headers


def test_a_bad_id_opens_no_session(servers, sandbox):
    for server in (servers["fast"], servers["plain"]):
        tracker = server.app.state.tracker
        before = (set(tracker.light), set(tracker.manager._server_instances))
        init = (
            '{"jsonrpc":"2.0","id":1.5,"method":"initialize","params":{"protocolVersion":'
            '"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}'
        )
        response = httpx.post(server.url, content=init, headers=_handshake_headers(sandbox.headers))
        assert response.status_code == 400
        assert (set(tracker.light), set(tracker.manager._server_instances)) == before


@pytest.mark.parametrize("kind", ["fast", "plain"])
@pytest.mark.parametrize("case", sorted({*ARGS_CASES, *FACADE_EXTRA}))
def test_the_facade_answers_every_body(servers, sandbox, kind, case):
    raw = FACADE_EXTRA.get(case) or ARGS_CASES[case].encode()
    headers = {"Content-Type": "application/json", **sandbox.headers}
    with httpx.Client(timeout=60) as http:
        response = http.post(
            servers[kind].root + "/tools/get_objects", content=raw, headers=headers
        )
    assert response.status_code < 500, (response.status_code, response.text[:300])
    body = response.json()
    assert isinstance(body, dict)
    if response.status_code >= 400:
        assert {"code", "error", "message"} <= body.keys(), body
        assert body["http_status"] == response.status_code
