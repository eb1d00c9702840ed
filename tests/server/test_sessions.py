"""Handshake-era sessions: light and full, bound to the credential, swept when idle, capped.

A client that declared form elicitation gets a full SDK session (the server may push a
confirmation to it mid-call); any other client gets a light one (sessions.py)."""

import socket
import sys
import threading
import time

import httpx
import pytest

from ontraport_mcp.credentials import Credentials
from ontraport_mcp.settings import Settings
from ontraport_mcp.transport.sessions import LightSession
from tests.server_thread import ServerThread, connect
from tests.snapshots.catalog_facts import STATIC_TOOLS

LIGHT = {}
FULL = {"elicitation": {}}
KINDS = pytest.mark.parametrize("caps", [LIGHT, FULL], ids=["light", "full"])
LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}
BASE = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}


def _init(caps: dict) -> dict:
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": caps,
            "clientInfo": {"name": "t", "version": "1"},
        },
    }


def _open(url: str, creds: dict[str, str], caps: dict) -> str:
    response = httpx.post(url, json=_init(caps), headers={**BASE, **creds})
    assert response.status_code == 200, response.text
    session = response.headers["mcp-session-id"]
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    ok = httpx.post(url, json=initialized, headers={**BASE, **creds, "Mcp-Session-Id": session})
    assert ok.status_code == 202
    return session


def vouch(server: ServerThread, headers: dict[str, str]) -> None:
    """Take these credentials for another account Ontraport accepts (the sandbox has one), so a
    test reaches the session layer instead of the 401 of refused credentials (auth.py)."""
    creds = Credentials(app_id=headers["Api-Appid"], api_key=headers["Api-Key"])
    server.mcp.checks.remember(creds, "accepted")


def _kind(server: ServerThread, session: str) -> str | None:
    tracker = server.app.state.tracker
    if session in tracker.light:
        return "light"
    if session in tracker.manager._server_instances:
        return "full"
    return None


def _wait_gone(server: ServerThread, session: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while _kind(server, session) is not None and time.monotonic() < deadline:
        time.sleep(0.05)


@KINDS
def test_the_client_s_capabilities_choose_the_kind(mcp_server, creds, caps):
    session = _open(mcp_server.url, creds, caps)
    assert _kind(mcp_server, session) == ("full" if caps else "light")
    listed = httpx.post(
        mcp_server.url, json=LIST, headers={**BASE, **creds, "Mcp-Session-Id": session}
    )
    assert listed.status_code == 200 and '"saveorupdate_object"' in listed.text
    assert listed.headers["mcp-session-id"] == session
    httpx.delete(mcp_server.url, headers={**BASE, **creds, "Mcp-Session-Id": session})


@KINDS
def test_another_credential_cannot_use_a_session(mcp_server, creds, caps):
    session = _open(mcp_server.url, creds, caps)
    other = {"Api-Key": "someone-else", "Api-Appid": creds["Api-Appid"]}
    vouch(mcp_server, other)
    for method, body in (("POST", LIST), ("DELETE", None), ("GET", None)):
        theirs = httpx.request(
            method,
            mcp_server.url,
            json=body,
            headers={**BASE, **other, "Mcp-Session-Id": session},
            timeout=5,
        )
        assert theirs.status_code == 404, method
        assert theirs.json()["error"]["message"] == "Session not found"
    assert _kind(mcp_server, session) is not None  # their DELETE ended nothing
    mine = httpx.post(
        mcp_server.url, json=LIST, headers={**BASE, **creds, "Mcp-Session-Id": session}
    )
    assert mine.status_code == 200
    httpx.delete(mcp_server.url, headers={**BASE, **creds, "Mcp-Session-Id": session})


@KINDS
def test_deleted_session_is_gone_and_freed(mcp_server, creds, caps):
    session = _open(mcp_server.url, creds, caps)
    gone = httpx.delete(mcp_server.url, headers={**BASE, **creds, "Mcp-Session-Id": session})
    assert gone.status_code == 200
    _wait_gone(mcp_server, session, 5)
    assert _kind(mcp_server, session) is None
    assert session not in mcp_server.app.state.tracker.last_seen
    again = httpx.post(
        mcp_server.url, json=LIST, headers={**BASE, **creds, "Mcp-Session-Id": session}
    )
    assert again.status_code == 404


def test_a_light_session_has_no_get_stream_and_never_becomes_an_sdk_session(mcp_server, creds):
    session = _open(mcp_server.url, creds, LIGHT)
    headers = {**BASE, **creds, "Mcp-Session-Id": session}
    stream = httpx.get(mcp_server.url, headers=headers, timeout=5)
    assert stream.status_code == 405
    assert stream.headers["allow"] == "POST, DELETE"
    assert "keep using POST" in stream.json()["error"]["message"]
    for i in range(5):
        call = {
            "jsonrpc": "2.0",
            "id": 10 + i,
            "method": "tools/call",
            "params": {"name": "get_objects", "arguments": {"object_type_id": 0, "range": 1}},
        }
        reply = httpx.post(mcp_server.url, json=call, headers=headers)
        assert reply.status_code == 200 and '"isError":false' in reply.text
    assert session not in mcp_server.app.state.tracker.manager._server_instances
    httpx.delete(mcp_server.url, headers=headers)


def test_a_light_session_refuses_a_foreign_host(mcp_server, creds):
    """DNS-rebinding protection applies to what the light layer answers itself."""
    session = _open(mcp_server.url, creds, LIGHT)
    headers = {**BASE, **creds, "Mcp-Session-Id": session, "Host": "evil.example"}
    refused = httpx.delete(mcp_server.url, headers=headers)
    assert refused.status_code >= 400 and refused.status_code != 404
    assert _kind(mcp_server, session) == "light"
    httpx.delete(mcp_server.url, headers={**BASE, **creds, "Mcp-Session-Id": session})


def test_a_light_session_is_a_few_hundred_bytes(mcp_server, creds):
    session = _open(mcp_server.url, creds, LIGHT)
    record = mcp_server.app.state.tracker.light[session]
    assert isinstance(record, LightSession)
    assert not hasattr(record, "__dict__")
    own = sys.getsizeof(record) + sys.getsizeof(session) + sys.getsizeof(record.last_seen)
    assert own < 400
    other = _open(mcp_server.url, creds, LIGHT)
    assert mcp_server.app.state.tracker.light[other].owner is record.owner  # one digest per account
    for sid in (session, other):
        httpx.delete(mcp_server.url, headers={**BASE, **creds, "Mcp-Session-Id": sid})


@KINDS
def test_idle_sessions_are_swept(sandbox, creds, caps):
    """Full ones even with an open GET stream (the SDK alone would keep them forever)."""
    settings = Settings(base_url=sandbox.base_url, session_idle_timeout_s=0.6, audit_log="off")
    with ServerThread(settings) as server:
        session = _open(server.url, creds, caps)
        headers = {**BASE, **creds, "Mcp-Session-Id": session}
        with (
            httpx.Client(timeout=10) as http,
            http.stream("GET", server.url, headers=headers) as stream,
        ):
            assert stream.status_code == (200 if caps else 405)
            _wait_gone(server, session, 8)
            assert _kind(server, session) is None
        after = httpx.post(server.url, json=LIST, headers=headers)
        assert after.status_code == 404


@KINDS
def test_session_cap_answers_clearly(sandbox, creds, caps):
    settings = Settings(base_url=sandbox.base_url, max_sessions=2, audit_log="off")
    with ServerThread(settings) as server:
        _open(server.url, creds, caps)
        _open(server.url, creds, caps)
        third = httpx.post(server.url, json=_init(caps), headers={**BASE, **creds})
        assert third.status_code == 503
        assert "Too many open sessions" in third.text
        assert int(third.headers["retry-after"]) > 0  # when to come back


@pytest.mark.parametrize(
    ("overrides", "caps", "kind"),
    [
        ({"light_sessions": False}, LIGHT, "full"),
        ({"confirm": "never"}, FULL, "light"),  # nothing to ask, so no back-channel needed
        ({}, {"elicitation": {"url": {}}}, "light"),  # URL-only: confirmations use tokens
        ({}, {"elicitation": {"form": {}}}, "full"),
    ],
)
def test_settings_and_elicitation_modes_choose_the_kind(sandbox, creds, overrides, caps, kind):
    settings = Settings(base_url=sandbox.base_url, audit_log="off", **overrides)
    with ServerThread(settings) as server:
        session = _open(server.url, creds, caps)
        assert _kind(server, session) == kind


def test_a_failed_initialize_opens_nothing(mcp_server, creds):
    refused = httpx.post(
        mcp_server.url,
        json=_init(LIGHT),
        headers={**creds, "Accept": "application/json"},  # the SSE leg is required
    )
    assert refused.status_code == 406
    assert "mcp-session-id" not in refused.headers


@pytest.mark.anyio
async def test_an_sdk_client_works_over_a_light_session(mcp_server, creds):
    """The real client: its GET stream is refused (it stops after its bounded retries) and
    everything else works as over a full session."""
    tracker = mcp_server.app.state.tracker
    before = set(tracker.light)
    async with connect(mcp_server.url, creds, mode="legacy") as client:
        assert client.protocol_version == "2025-11-25"
        (session,) = set(tracker.light) - before
        assert session not in tracker.manager._server_instances
        listed = await client.list_tools()
        assert len(listed.tools) >= STATIC_TOOLS
        result = await client.call_tool("get_objects", {"object_type_id": 0, "range": 2})
        assert not result.is_error and len(result.structured_content["records"]) == 2
    assert session not in tracker.light  # the client's DELETE on exit


@pytest.mark.parametrize("stateless", [True])
def test_stateless_mode_serves_without_session_ids(sandbox, creds, stateless):
    settings = Settings(base_url=sandbox.base_url, stateless=stateless, audit_log="off")
    with ServerThread(settings) as server:
        response = httpx.post(server.url, json=_init(LIGHT), headers={**BASE, **creds})
        assert response.status_code == 200
        assert "mcp-session-id" not in response.headers


@pytest.fixture
def silent_upstream():
    """An upstream that accepts connections and never answers (closed at teardown)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/1", held
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    listener.close()


def _closed_by_peer(conn: socket.socket) -> bool:
    conn.settimeout(0.5)
    try:
        while conn.recv(65536):
            pass
    except TimeoutError:
        return False
    return True


@KINDS
def test_a_cancelled_call_ends_at_once_and_abandons_the_upstream_request(silent_upstream, caps):
    """``notifications/cancelled`` ends the named request with -32800, on both kinds (a light
    session's requests are separate exchanges, so sessions.py routes the cancellation)."""
    upstream, held = silent_upstream
    settings = Settings(base_url=upstream, timeout_s=20, audit_log="off")
    creds = {"Api-Key": "k", "Api-Appid": "a"}
    with ServerThread(settings) as server:
        vouch(server, creds)  # no credential check: the only upstream request is the call's
        session = _open(server.url, creds, caps)
        headers = {**BASE, **creds, "Mcp-Session-Id": session}
        call = {
            "jsonrpc": "2.0",
            "id": "call-7",
            "method": "tools/call",
            "params": {"name": "get_objects", "arguments": {"object_type_id": 0}},
        }
        replies: list[httpx.Response] = []
        worker = threading.Thread(
            target=lambda: replies.append(
                httpx.post(server.url, json=call, headers=headers, timeout=30)
            )
        )
        started = time.monotonic()
        worker.start()
        deadline = time.monotonic() + 5
        while not held and time.monotonic() < deadline:  # the call is waiting on the upstream
            time.sleep(0.02)
        assert held
        cancel = {
            "jsonrpc": "2.0",
            "method": "notifications/cancelled",
            "params": {"requestId": "call-7", "reason": "the user pressed stop"},
        }
        other_id = {**cancel, "params": {"requestId": 7}}  # 7 is not "call-7"
        assert httpx.post(server.url, json=other_id, headers=headers).status_code == 202
        time.sleep(0.3)
        assert worker.is_alive()
        assert httpx.post(server.url, json=cancel, headers=headers).status_code == 202
        worker.join(10)
        assert time.monotonic() - started < 10  # not the 20 s upstream timeout
        (reply,) = replies
        assert reply.status_code == 200
        assert '"id":"call-7","error":{"code":-32800,"message":"Request cancelled"}' in reply.text
        assert _closed_by_peer(held[0])
        assert not getattr(server.app.state.handshake, "inflight", {})
