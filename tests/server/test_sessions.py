"""Handshake-era sessions: bound to the credential, swept when idle, capped."""

import time

import httpx
import pytest

from ontraport_mcp.settings import Settings
from ontraport_mcp.testing import ServerThread

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}
BASE = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}


def _open(url: str, creds: dict[str, str]) -> str:
    response = httpx.post(url, json=INIT, headers={**BASE, **creds})
    assert response.status_code == 200, response.text
    session = response.headers["mcp-session-id"]
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    ok = httpx.post(url, json=initialized, headers={**BASE, **creds, "Mcp-Session-Id": session})
    assert ok.status_code == 202
    return session


def test_another_credential_cannot_use_a_session(mcp_server, creds):
    session = _open(mcp_server.url, creds)
    mine = httpx.post(
        mcp_server.url, json=LIST, headers={**BASE, **creds, "Mcp-Session-Id": session}
    )
    assert mine.status_code == 200
    other = {"Api-Key": "someone-else", "Api-Appid": creds["Api-Appid"]}
    theirs = httpx.post(
        mcp_server.url, json=LIST, headers={**BASE, **other, "Mcp-Session-Id": session}
    )
    assert theirs.status_code == 404
    httpx.delete(mcp_server.url, headers={**BASE, **creds, "Mcp-Session-Id": session})


def test_deleted_session_is_gone_and_freed(mcp_server, creds):
    session = _open(mcp_server.url, creds)
    live = mcp_server.app.state.tracker.manager._server_instances
    assert session in live
    gone = httpx.delete(mcp_server.url, headers={**BASE, **creds, "Mcp-Session-Id": session})
    assert gone.status_code == 200
    deadline = time.monotonic() + 5
    while session in live and time.monotonic() < deadline:
        time.sleep(0.02)
    assert session not in live
    assert session not in mcp_server.app.state.tracker.last_seen
    again = httpx.post(
        mcp_server.url, json=LIST, headers={**BASE, **creds, "Mcp-Session-Id": session}
    )
    assert again.status_code == 404


def test_idle_sessions_are_swept_even_with_an_open_get_stream(sandbox, creds):
    settings = Settings(base_url=sandbox.base_url, session_idle_timeout_s=0.6, audit_log="off")
    with ServerThread(settings) as server:
        session = _open(server.url, creds)
        headers = {**BASE, **creds, "Mcp-Session-Id": session}
        with (
            httpx.Client(timeout=10) as http,
            http.stream("GET", server.url, headers=headers) as stream,
        ):
            assert stream.status_code == 200
            live = server.app.state.tracker.manager._server_instances
            deadline = time.monotonic() + 8
            while session in live and time.monotonic() < deadline:
                time.sleep(0.1)
            assert session not in live
        after = httpx.post(server.url, json=LIST, headers=headers)
        assert after.status_code == 404


def test_session_cap_answers_clearly(sandbox, creds):
    settings = Settings(base_url=sandbox.base_url, max_sessions=2, audit_log="off")
    with ServerThread(settings) as server:
        _open(server.url, creds)
        _open(server.url, creds)
        third = httpx.post(server.url, json=INIT, headers={**BASE, **creds})
        assert third.status_code == 503
        assert "Too many open sessions" in third.text


@pytest.mark.parametrize("stateless", [True])
def test_stateless_mode_serves_without_session_ids(sandbox, creds, stateless):
    settings = Settings(base_url=sandbox.base_url, stateless=stateless, audit_log="off")
    with ServerThread(settings) as server:
        response = httpx.post(server.url, json=INIT, headers={**BASE, **creds})
        assert response.status_code == 200
        assert "mcp-session-id" not in response.headers
