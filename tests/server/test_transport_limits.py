"""Transport limits: the facade keeps the rules of /mcp, nobody starves another credential,
unknown session ids are never kept, header sizes are bounded, and an unreachable Ontraport
still leaves the static tools listed."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from typing import Any

import httpx
import psutil
import pytest

from ontraport_mcp.runtime.manifest import NOTE_TOOL
from ontraport_mcp.sandbox.testing import SandboxServer
from ontraport_mcp.settings import Settings
from tests.server.test_sessions import BASE, _init, vouch
from tests.server_thread import ServerThread, connect
from tests.snapshots.catalog_facts import STATIC_TOOLS

FACADE_JSON = {"Content-Type": "application/json"}


def _settings(upstream: str, **overrides: Any) -> Settings:
    return Settings(base_url=upstream, audit_log="off", **overrides)


# --- the facade: Host / Origin, body limit, Content-Type ------------------------------------


@pytest.mark.parametrize(
    ("header", "value", "status"),
    [("Host", "evil.example.com", 421), ("Origin", "http://evil.example.com", 403)],
)
def test_the_facade_refuses_foreign_hosts_and_origins(
    mcp_server, sandbox, creds, header, value, status
):
    sandbox.clear_requests()
    headers = {**FACADE_JSON, **creds, header: value}
    deleted = httpx.post(
        mcp_server.root + "/tools/delete_object",
        json={"object_type_id": 0, "id": 1},
        headers=headers,
    )
    assert deleted.status_code == status
    assert deleted.json()["http_status"] == status
    listed = httpx.get(mcp_server.root + "/openapi.json", headers=headers)
    assert listed.status_code == status
    assert sandbox.requests() == []  # nothing reached Ontraport


def test_the_facade_limits_the_body(mcp_server, creds):
    url = mcp_server.root + "/tools/get_objects"
    # declared too large: refused before a byte of the body is read
    declared = httpx.post(url, content=b" " * (5 * 1024 * 1024), headers={**FACADE_JSON, **creds})
    assert declared.status_code == 413 and declared.json()["code"] == "body_too_large"

    # chunked (no length): refused once the limit is passed
    def chunks():
        yield b'{"search":"'
        for _ in range(80):  # 5 MiB
            yield b"x" * 65536
        yield b'"}'

    with httpx.Client(timeout=30) as http:
        try:
            chunked = http.post(url, content=chunks(), headers={**FACADE_JSON, **creds})
            assert chunked.status_code == 413
        except httpx.TransportError:
            pass  # the server answered and closed before the upload ended: also refused
    ok = httpx.post(url, json={"object_type_id": 0, "range": 1}, headers={**FACADE_JSON, **creds})
    assert ok.status_code == 200


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_the_facade_wants_json(mcp_server, creds, content_type):
    headers = dict(creds)
    if content_type:
        headers["Content-Type"] = content_type
    response = httpx.post(
        mcp_server.root + "/tools/get_objects", content=b'{"object_type_id":0}', headers=headers
    )
    assert response.status_code == 400
    assert "Content-Type" in response.json()["message"]


# --- headers and unknown session ids ----------------------------------------------------------


def test_oversized_headers_answer_431(mcp_server, creds):
    huge = {**BASE, **creds, "Mcp-Session-Id": "a" * 65536}
    for path, body in (("/mcp", {"jsonrpc": "2.0", "id": 1, "method": "ping"}), ("/tools/x", {})):
        response = httpx.post(mcp_server.root + path, json=body, headers=huge)
        assert response.status_code == 431
        assert "headers" in response.text


def test_unknown_session_ids_are_never_kept(sandbox, creds):
    """2,000 requests with 64 KB ids nobody issued: each is 404 and nothing stays behind
    (before: every id was kept until the next sweep, 10,000 of them took 566 MB)."""
    settings = _settings(sandbox.base_url, max_header_bytes=256 * 1024)
    with ServerThread(settings) as server:
        tracker = server.app.state.tracker
        process = psutil.Process()
        listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}
        with httpx.Client(timeout=30, headers={**BASE, **creds}) as http:
            http.post(server.url, json=listing, headers={"Mcp-Session-Id": "warm-up"})
            before = process.memory_info().rss
            statuses: Counter[int] = Counter()
            for i in range(2000):
                sid = f"{i:08d}" + "x" * 65536
                statuses[
                    http.post(server.url, json=listing, headers={"Mcp-Session-Id": sid}).status_code
                ] += 1
            grown = process.memory_info().rss - before
        assert statuses == {404: 2000}
        assert not tracker.last_seen and not tracker.owner_of
        assert grown < 40 * 1024 * 1024, f"RSS grew by {grown / 2**20:.0f} MiB"


# --- nobody starves another credential ---------------------------------------------------------


def _flood(url: str, headers: dict[str, str], stop: threading.Event, counts: Counter[Any]) -> None:
    with httpx.Client(timeout=30) as http:
        while not stop.is_set() and sum(counts.values()) < 3000:
            reply = http.post(url, json=_init({}), headers={**BASE, **headers})
            counts[reply.status_code] += 1
            if reply.status_code == 503:
                counts["retry-after"] += reply.headers.get("retry-after") is not None


async def _hundred_calls(url: str, creds: dict[str, str]) -> int:
    errors = 0
    async with connect(url, creds, mode="legacy") as client:
        for i in range(100):
            result = await client.call_tool(
                "get_objects", {"object_type_id": 0, "range": 1, "start": i}
            )
            errors += result.is_error
    return errors


@pytest.mark.anyio
async def test_one_credential_flooding_initialize_starves_nobody(sandbox, creds):
    """A credential Ontraport accepts opens sessions as fast as it can (bounded: 3,000 requests
    or 20 s); it gets its quota and then 503 + Retry-After, and another credential opens a
    session and completes 100 calls with no error (before: the cap filled, the others got 503)."""
    settings = _settings(sandbox.base_url, max_sessions=200, max_sessions_per_credential=20)
    with ServerThread(settings) as server:
        flooder = {"Api-Key": "flood-key", "Api-Appid": "flood-app"}
        vouch(server, flooder)  # another account Ontraport accepts
        stop = threading.Event()
        counts: Counter[Any] = Counter()
        threads = [
            threading.Thread(target=_flood, args=(server.url, flooder, stop, counts))
            for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        try:
            deadline = time.monotonic() + 20
            while sum(counts.values()) < 400 and time.monotonic() < deadline:
                time.sleep(0.05)
            errors = await _hundred_calls(server.url, creds)
        finally:
            stop.set()
            for thread in threads:
                thread.join(30)
        assert errors == 0
        assert counts[200] == 20  # the quota, not the cap
        assert counts[503] >= 300 and counts["retry-after"] == counts[503]
        assert len(server.app.state.tracker.light) == 20


@pytest.mark.anyio
async def test_made_up_credentials_open_no_session(sandbox, creds):
    """1,000 initialize requests, each with a new made-up credential: every one is refused (401,
    or 503 + Retry-After while too many are being checked) and no session is opened."""
    settings = _settings(sandbox.base_url, max_sessions=200)
    with ServerThread(settings) as server:
        stop = threading.Event()
        counts: Counter[Any] = Counter()

        def flood(offset: int) -> None:
            with httpx.Client(timeout=30) as http:
                for i in range(250):
                    if stop.is_set():
                        return
                    junk = {"Api-Key": f"junk-{offset}-{i}", "Api-Appid": "junk"}
                    reply = http.post(server.url, json=_init({}), headers={**BASE, **junk})
                    counts[reply.status_code] += 1

        threads = [threading.Thread(target=flood, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        try:
            errors = await _hundred_calls(server.url, creds)
        finally:
            for thread in threads:
                thread.join(60)
            stop.set()
        assert errors == 0
        assert set(counts) <= {401, 503} and sum(counts.values()) == 1000
        tracker = server.app.state.tracker
        assert len(tracker.light) == 0 and not tracker.manager._server_instances


# --- Ontraport unreachable: the static tools are still listed ---------------------------------


def _closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/1"  # nothing listens there: connection refused


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize("fault", ["connection-refused", "meta-503"])
async def test_unreachable_ontraport_still_lists_the_static_tools(fresh_sandbox, mode, fault):
    sandbox: SandboxServer = fresh_sandbox
    upstream = sandbox.base_url
    if fault == "connection-refused":
        upstream = _closed_port()
    else:
        sandbox.set_faults(error_rate=1.0, error_statuses=[503], paths=["/objects/meta"])
    settings = _settings(upstream, retry_deadline_s=1.0)
    with ServerThread(settings) as server:
        async with connect(server.url, sandbox.headers, mode=mode) as client:
            listed = (await client.list_tools()).tools
            names = [t.name for t in listed]
            assert len(names) == STATIC_TOOLS + 1 and names[-1] == NOTE_TOOL
            note = listed[-1]
            assert "could not be read" in (note.description or "")
            assert "List the tools again" in (note.description or "")
            called = await client.call_tool(NOTE_TOOL, {})
            assert not called.is_error and called.structured_content["unavailable"]
    if fault == "meta-503":  # and once Ontraport is back, the custom-object tools return
        sandbox.clear_faults()
        with ServerThread(_settings(upstream)) as server:
            async with connect(server.url, sandbox.headers, mode=mode) as client:
                names = [t.name for t in (await client.list_tools()).tools]
                assert NOTE_TOOL not in names and len(names) > STATIC_TOOLS


# --- the MCP endpoints' POSTs skip the router; everything else is routed as before ------------


@pytest.mark.parametrize(
    ("scope", "straight"),
    [
        ({"type": "http", "method": "POST", "path": "/mcp"}, True),
        ({"type": "http", "method": "POST", "path": "/v1"}, True),
        ({"type": "http", "method": "POST", "path": "/"}, True),
        ({"type": "http", "method": "GET", "path": "/mcp"}, False),
        ({"type": "http", "method": "DELETE", "path": "/mcp"}, False),
        ({"type": "http", "method": "PUT", "path": "/mcp"}, False),
        ({"type": "http", "method": "POST", "path": "/mcp/"}, False),
        ({"type": "http", "method": "POST", "path": "/tools/get_objects"}, False),
        ({"type": "http", "method": "POST", "path": "/mcp", "root_path": "/api"}, False),
        ({"type": "lifespan"}, False),
    ],
)
def test_endpoint_first_takes_only_plain_mcp_posts(scope, straight):
    import asyncio

    from ontraport_mcp.transport.app import EndpointFirst

    reached: list[str] = []

    def app_named(name: str) -> Any:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            reached.append(name)

        return app

    first = EndpointFirst(app_named("router"), app_named("endpoint"))
    asyncio.run(first(scope, None, None))
    assert reached == ["endpoint" if straight else "router"]


def test_the_mcp_routes_still_answer_what_the_router_answered(mcp_server, creds):
    with httpx.Client(base_url=mcp_server.root, timeout=30) as client:
        put = client.put("/mcp", headers=creds, content=b"{}")
        assert put.status_code == 405 and "POST" in put.headers["allow"]
        assert client.post("/health", headers=creds).status_code == 405
        init = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        headers = {**creds, **BASE}
        for path in ("/mcp", "/v1", "/"):
            reply = client.post(path, headers=headers, json=init)
            assert "jsonrpc" in reply.text, (path, reply.status_code, reply.text)  # the MCP app's
