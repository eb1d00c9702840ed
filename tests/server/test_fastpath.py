"""The 2026-07-28 tools/call fast path answers exactly as the SDK pipeline does.

Two servers on the same sandbox, one with ``fast_tool_calls`` on and one with it off, get the same
raw HTTP requests; their replies (status, content type, JSON body) must be equal, and the fast
server's counter says which requests it answered itself and which it handed to the SDK.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ontraport_mcp.sandbox.testing import SandboxServer
from tests.conftest import server_settings
from tests.server_thread import ServerThread

ERA = "2026-07-28"
META = {
    "io.modelcontextprotocol/protocolVersion": ERA,
    "io.modelcontextprotocol/clientCapabilities": {},
}


@pytest.fixture(scope="module")
def pair(sandbox: SandboxServer) -> Iterator[tuple[ServerThread, ServerThread]]:
    with (
        ServerThread(server_settings(sandbox.base_url, fast_tool_calls=True)) as fast,
        ServerThread(server_settings(sandbox.base_url, fast_tool_calls=False)) as plain,
    ):
        assert plain.app.state.fast_calls is None
        yield fast, plain


def _call(name: str, arguments: Any, *, request_id: Any = 1, meta: Any = META) -> dict[str, Any]:
    params: dict[str, Any] = {"name": name, "arguments": arguments}
    if meta is not None:
        params["_meta"] = meta
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


def _headers(sandbox: SandboxServer, name: str | None = "get_objects", **extra: str) -> dict:
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": ERA,
        "Mcp-Method": "tools/call",
        **sandbox.headers,
        **extra,
    }
    if name is not None:
        headers["Mcp-Name"] = name
    return headers


def _both(pair, headers: dict, body: Any) -> tuple[httpx.Response, httpx.Response, int]:
    fast, plain = pair
    counter = fast.app.state.fast_calls
    before = counter.answered
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    replies = [httpx.post(s.url, content=content, headers=headers, timeout=30) for s in pair]
    return replies[0], replies[1], counter.answered - before


def _same(a: httpx.Response, b: httpx.Response) -> None:
    assert a.status_code == b.status_code
    assert a.headers.get("content-type") == b.headers.get("content-type")
    if a.content and a.headers.get("content-type", "").startswith("application/json"):
        assert _tokenless(a.text) == _tokenless(b.text)
    else:
        assert a.content == b.content


def _tokenless(text: str) -> Any:
    """The JSON reply with confirmation tokens (random by design) blanked."""
    return json.loads(re.sub(r"ct_[A-Za-z0-9_-]+", "ct_", text))


FAST_CASES = {
    "read": ("get_objects", {"object_type_id": 0, "range": 3, "fields": ["email"]}, 7),
    "string id": ("get_objects", {"object_type_id": 0, "range": 1}, "req-7"),
    "bad argument": ("get_objects", {"object_type_id": 0, "range": 99}, 8),
    "unknown argument": ("get_objects", {"object_type_id": 0, "bogus": True}, 9),
    "policy refusal": ("create_object", {"object_type_id": 46, "data": {"x": 1}}, 10),
    "local tool": ("build_api_condition", {"object_type_id": 0, "expression": "state = CA"}, 11),
    "local error": ("build_api_condition", {"object_type_id": 0, "expression": "state =="}, 12),
    "upstream 404": ("get_objects", {"object_type_id": 0, "id": 987654321}, 13),
    "no arguments": ("get_account_info", None, 14),
}


def test_a_nan_literal_is_refused_the_same_way_on_both_paths(pair, sandbox):
    """Python's JSON parser reads NaN; the executor refuses it as a structured argument error."""
    body = _call("validate_offer", {"offer": {"products": [{"product_id": 1, "price": 0}]}})
    raw = json.dumps(body).replace('"price": 0', '"price": NaN').encode()
    fast, plain, answered = _both(pair, _headers(sandbox, "validate_offer"), raw)
    assert answered == 1
    _same(fast, plain)
    result = fast.json()["result"]
    assert result["isError"] is True
    assert "structuredContent" not in result  # error results carry none (strict clients)
    assert json.loads(result["content"][0]["text"])["details"] == {
        "field": "offer.products.0.price",
        "rule": "finite",
    }


@pytest.mark.parametrize("case", FAST_CASES)
def test_fast_path_replies_equal_the_sdk_pipeline(pair, sandbox, case):
    name, arguments, request_id = FAST_CASES[case]
    fast, plain, answered = _both(
        pair, _headers(sandbox, name), _call(name, arguments, request_id=request_id)
    )
    assert answered == 1, "the fast path should have answered this itself"
    _same(fast, plain)
    assert fast.json()["id"] == request_id


def _delegated(sandbox: SandboxServer) -> dict[str, tuple[dict, Any]]:
    call = _call("get_objects", {"object_type_id": 0, "range": 1})
    return {
        "needs confirmation": (
            _headers(sandbox, "delete_object"),
            _call("delete_object", {"object_type_id": 0, "id": 1}),
        ),
        "name header mismatch": (_headers(sandbox, "get_groups"), call),
        "missing _meta": (_headers(sandbox), _call("get_objects", {}, meta=None)),
        "unknown tool": (_headers(sandbox, "no_such_tool"), _call("no_such_tool", {})),
        "progress token": (
            _headers(sandbox),
            _call("get_objects", {"object_type_id": 0}, meta={**META, "progressToken": "p"}),
        ),
        "json not accepted": (_headers(sandbox, Accept="text/event-stream"), call),
        "bad origin": (_headers(sandbox, Origin="http://evil.example"), call),
        "batch": (_headers(sandbox), [call]),
        "not json": (_headers(sandbox), b"{nope"),
        "notification": (_headers(sandbox), {k: v for k, v in call.items() if k != "id"}),
        "boolean id": (_headers(sandbox), {**call, "id": True}),
        "other method": (
            _headers(sandbox, None, **{"Mcp-Method": "tools/list"}),
            {"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {"_meta": META}},
        ),
        "mcp-param header": (_headers(sandbox, **{"Mcp-Param-Range": "1"}), call),
        "extra envelope key": (_headers(sandbox), {**call, "extra": 1}),
    }


@pytest.mark.parametrize(
    "case",
    [
        "needs confirmation",
        "name header mismatch",
        "missing _meta",
        "unknown tool",
        "progress token",
        "json not accepted",
        "bad origin",
        "batch",
        "not json",
        "notification",
        "boolean id",
        "other method",
        "mcp-param header",
        "extra envelope key",
    ],
)
def test_everything_else_is_handed_to_the_sdk_untouched(pair, sandbox, case):
    headers, body = _delegated(sandbox)[case]
    fast, plain, answered = _both(pair, headers, body)
    assert answered == 0
    _same(fast, plain)
    if case == "needs confirmation":
        assert fast.json()["result"]["structuredContent"]["status"] == "confirmation_required"


def test_a_write_through_the_fast_path_is_sent_once(pair, sandbox):
    fast, _ = pair
    before = len(sandbox.requests())
    body = _call(
        "create_object",
        {"object_type_id": 0, "data": {"firstname": "Fast", "email": "fast.path@example.com"}},
    )
    reply = httpx.post(fast.url, json=body, headers=_headers(sandbox, "create_object"), timeout=30)
    result = reply.json()["result"]
    assert result["isError"] is False and result["structuredContent"]["record"]["firstname"] == (
        "Fast"
    )
    assert json.loads(result["content"][0]["text"]) == result["structuredContent"]
    writes = [r for r in sandbox.requests()[before:] if r["method"] == "POST"]
    assert len(writes) == 1


@pytest.mark.parametrize("name, answered", [("build_api_condition", 1), ("no_such_tool", 0)])
def test_a_body_that_arrives_in_many_chunks_is_read_whole_or_replayed_whole(
    pair, sandbox, name, answered
):
    """uvicorn hands a large body over in several messages: both branches must see all of it."""
    expression = " or ".join(f"email = person{i}@example.com" for i in range(6000))  # ~190 KB
    body = _call(name, {"object_type_id": 0, "expression": expression})
    fast, plain, counted = _both(pair, _headers(sandbox, name), body)
    assert counted == answered
    _same(fast, plain)
