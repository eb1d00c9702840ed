"""``tools/list`` from the dispatch's cache of encoded listings, and the access rule on every path.

* The fast path answers ``tools/list`` (2026-07-28 and light sessions) with the same JSON the SDK
  writes, from a listing built once per account, meta version and access;
* a cached listing costs well under 1 ms of CPU;
* ``--read-only`` and ``--toolsets`` (and an OAuth grant's level, through the same ``Access``)
  leave a tool out of the listing and refuse a call of it, naming what would allow it — over
  the fast path, the SDK path and the HTTP facade alike.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest

from ontraport_mcp.credentials import Credentials
from ontraport_mcp.runtime.dispatch import access_for
from ontraport_mcp.runtime.toolspec import ACCESS_LEVELS, TOOL_CLASSES
from ontraport_mcp.sandbox.testing import SandboxServer
from ontraport_mcp.transport.server import OntraportMCP
from tests.conftest import server_settings
from tests.server.test_fastpath import META, pair  # noqa: F401 (fixture)
from tests.server.test_fastpath_handshake import _headers as session_headers
from tests.server.test_fastpath_handshake import _open, sessions  # noqa: F401 (fixture)
from tests.server_thread import ServerThread
from tests.snapshots.catalog_facts import STATIC_TOOLS

ERA = "2026-07-28"


def _list_request(request_id: Any = 3, meta: Any = META) -> dict[str, Any]:
    params = {"_meta": meta} if meta is not None else {}
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/list", "params": params}


def _modern_headers(sandbox: SandboxServer, method: str = "tools/list") -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": ERA,
        "Mcp-Method": method,
        **sandbox.headers,
    }


def _event(reply: httpx.Response) -> Any:
    data = [line[5:] for line in reply.text.splitlines() if line.startswith("data:")]
    assert len(data) == 1, reply.text[:300]
    return json.loads(data[0])


def test_the_fast_path_lists_exactly_what_the_sdk_lists(pair, sandbox):  # noqa: F811
    fast, plain = pair
    counter = fast.app.state.fast_calls
    for request_id in (3, "list-3"):
        before = counter.listed
        replies = [
            httpx.post(s.url, json=_list_request(request_id), headers=_modern_headers(sandbox))
            for s in pair
        ]
        assert counter.listed == before + 1  # the fast server answered it itself
        assert [r.status_code for r in replies] == [200, 200]
        assert replies[0].headers["content-type"] == replies[1].headers["content-type"]
        ours, theirs = (r.json() for r in replies)
        assert ours == theirs
        assert ours["id"] == request_id and len(ours["result"]["tools"]) > STATIC_TOOLS


def test_a_light_session_lists_from_the_cache_too(pair, sessions, sandbox):  # noqa: F811
    counter = pair[0].app.state.fast_calls
    before = counter.listed
    body = {"jsonrpc": "2.0", "id": 9, "method": "tools/list"}
    replies = [
        httpx.post(s.url, json=body, headers=session_headers(sandbox, sid), timeout=30)
        for s, sid in zip(pair, sessions, strict=True)
    ]
    assert counter.listed == before + 1
    assert replies[0].headers["content-type"] == replies[1].headers["content-type"]
    assert _event(replies[0]) == _event(replies[1])


def test_what_the_fast_path_leaves_to_the_sdk(pair, sandbox):  # noqa: F811
    """A cursor, a progress token, a missing envelope: the SDK answers, not the cache."""
    counter = pair[0].app.state.fast_calls
    before = counter.listed
    cases = [
        {**_list_request(), "params": {"_meta": META, "cursor": "x"}},
        _list_request(meta={**META, "progressToken": 1}),
        _list_request(meta=None),
    ]
    for body in cases:
        replies = [
            httpx.post(s.url, json=body, headers=_modern_headers(sandbox), timeout=30) for s in pair
        ]
        assert replies[0].status_code == replies[1].status_code
        assert replies[0].json() == replies[1].json()
    assert counter.listed == before


def test_a_cached_listing_costs_under_a_millisecond_of_cpu(sandbox):
    async def measure() -> float:
        mcp = OntraportMCP(server_settings(sandbox.base_url))
        creds = Credentials(app_id=sandbox.app_id, api_key=sandbox.api_key)
        access = mcp.dispatch.access(None)
        try:
            first = await mcp.dispatch.listing(creds, access)  # builds it
            assert len(first.encoded) > 50_000
            rounds = 2_000
            started = time.process_time()
            for _ in range(rounds):
                listing = await mcp.dispatch.listing(creds, access)
                assert listing is first
            return (time.process_time() - started) / rounds
        finally:
            await mcp.aclose()

    per_list = asyncio.run(measure())
    assert per_list < 0.001, f"{per_list * 1000:.3f} ms of CPU per cached listing"


# --- access ------------------------------------------------------------------------------------


def test_levels_and_flags_are_data():
    """Every class has a level, each level allows what the next allows less, and the operator's
    flags only narrow."""
    assert set(ACCESS_LEVELS) == {"read", "write", "full"}
    assert ACCESS_LEVELS["read"] < ACCESS_LEVELS["write"] < ACCESS_LEVELS["full"]
    for name, info in TOOL_CLASSES.items():
        assert name in ACCESS_LEVELS[info.level]
    toolsets = ["crud", "query", "manage", "commerce", "custom"]
    assert access_for("write", read_only=True, toolsets=toolsets).classes == {"R"}
    assert access_for("read", read_only=False, toolsets=["query", "nonsense"]).toolsets == {"query"}
    assert access_for("bogus", read_only=False, toolsets=toolsets).level == "full"


def _tools(server: ServerThread, sandbox: SandboxServer) -> list[dict[str, Any]]:
    reply = httpx.post(server.url, json=_list_request(), headers=_modern_headers(sandbox))
    return reply.json()["result"]["tools"]


def _call(server: ServerThread, sandbox: SandboxServer, name: str, args: dict) -> dict[str, Any]:
    body = {
        "jsonrpc": "2.0",
        "id": 4,
        "method": "tools/call",
        "params": {"name": name, "arguments": args, "_meta": META},
    }
    headers = {**_modern_headers(sandbox, "tools/call"), "Mcp-Name": name}
    result = httpx.post(server.url, json=body, headers=headers, timeout=30).json()["result"]
    assert result["isError"] is True and "structuredContent" not in result
    return json.loads(result["content"][0]["text"])


@pytest.mark.parametrize("fast", [True, False], ids=["fast path", "sdk path"])
def test_read_only_lists_and_runs_only_reads(sandbox, fast):
    settings = server_settings(sandbox.base_url, read_only=True, fast_tool_calls=fast)
    with ServerThread(settings) as server:
        tools = _tools(server, sandbox)
        assert tools and all(t["annotations"]["readOnlyHint"] for t in tools)
        names = {t["name"] for t in tools}
        assert "get_objects" in names and "create_object" not in names
        error = _call(server, sandbox, "create_object", {"object_type_id": 0, "fields": {}})
        assert error["code"] == "access_denied" and error["http_status"] == 403
        assert error["details"] == {"needs": "write", "level": "full"}
        assert "read-only" in error["message"]
        denied = httpx.post(
            f"http://127.0.0.1:{server.port}/tools/delete_objects",
            json={"object_type_id": 0, "ids": [1]},
            headers=sandbox.headers,
        )
        assert denied.status_code == 403 and denied.json()["details"]["needs"] == "full"


def test_toolsets_narrow_the_listing_and_the_calls(sandbox):
    settings = server_settings(sandbox.base_url, toolsets=["query"])
    with ServerThread(settings) as server:
        tools = _tools(server, sandbox)
        assert tools and {"get_objects", "create_object"}.isdisjoint(t["name"] for t in tools)
        error = _call(server, sandbox, "get_objects", {"object_type_id": 0})
        assert error["code"] == "toolset_disabled" and error["details"] == {"toolset": "crud"}
        document = httpx.get(
            f"http://127.0.0.1:{server.port}/openapi.json", headers=sandbox.headers
        ).json()
        assert "/tools/get_objects" not in document["paths"] and document["paths"]


def test_the_settings_know_the_same_toolsets_as_the_runtime(monkeypatch):
    from ontraport_mcp.runtime.toolspec import TOOLSETS
    from ontraport_mcp.settings import TOOLSET_NAMES, Settings

    assert tuple(TOOLSETS) == TOOLSET_NAMES
    monkeypatch.setenv("ONTRAPORT_TOOLSETS", "query, commerce")
    assert Settings().toolsets == ["query", "commerce"]
    monkeypatch.setenv("ONTRAPORT_TOOLSETS", '["crud"]')
    assert Settings().toolsets == ["crud"]
    monkeypatch.setenv("ONTRAPORT_TOOLSETS", "query,comerce")
    with pytest.raises(ValueError, match="unknown toolset comerce"):
        Settings()
