"""Credentials: 401 on every verb without them, before any upstream call; the accepted forms."""

from typing import Any

import httpx
import pytest

from ontraport_mcp.runtime.executor import error_payload
from ontraport_mcp.settings import Settings
from tests.server_thread import ServerThread, connect

pytestmark = pytest.mark.anyio

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
ACCEPT = {"Accept": "application/json, text/event-stream"}


@pytest.mark.parametrize("path", ["/mcp", "/", "/v1"])
@pytest.mark.parametrize("method", ["POST", "GET", "DELETE"])
def test_missing_credentials_get_401_and_no_upstream_call(mcp_server, sandbox, path, method):
    sandbox.clear_requests()
    response = httpx.request(
        method, mcp_server.root + path, json=INIT if method == "POST" else None, headers=ACCEPT
    )
    assert response.status_code == 401
    error = response.json()["error"]  # a JSON-RPC error: the body was not read, so no id
    assert error["data"]["reason"] == "unauthorized" and "Api-Key" in error["message"]
    # where an OAuth client starts: the protected-resource metadata (RFC 9728)
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and "resource_metadata=" in challenge
    assert sandbox.requests() == []


def test_half_credentials_are_refused(mcp_server):
    response = httpx.post(mcp_server.url, json=INIT, headers={**ACCEPT, "Api-Key": "k"})
    assert response.status_code == 401


def test_health_needs_no_credentials(mcp_server):
    for path in ("/health", "/v1/health"):
        body = httpx.get(mcp_server.root + path).json()
        assert body["status"] == "ok" and body["version"]


@pytest.mark.parametrize("path", ["/mcp", "/", "/v1"])
async def test_every_path_serves_mcp(mcp_server, creds, path):
    async with connect(mcp_server.root + path, creds) as client:
        assert (
            await client.call_tool("get_objects", {"object_type_id": 0, "range": 1})
        ).structured_content["count"] == 1


async def test_bearer_appid_key_form(mcp_server, sandbox):
    headers = {"Authorization": f"Bearer {sandbox.app_id}:{sandbox.api_key}"}
    async with connect(mcp_server.url, headers) as client:
        result = await client.call_tool("get_objects", {"object_type_id": 0, "range": 2})
        assert not result.is_error


REFUSED = {"Api-Key": "not-the-key"}


def _mcp_error(exc: BaseException) -> Any:
    """The MCPError inside what the client raised (task groups wrap it)."""
    from mcp import MCPError

    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    assert isinstance(exc, MCPError), repr(exc)
    return exc


def _refused(response: httpx.Response) -> dict:
    """A 401 that says Ontraport refused the credentials, as a JSON-RPC error body."""
    assert response.status_code == 401, response.text
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    body = response.json()
    assert body["jsonrpc"] == "2.0" and body["id"] is None
    assert "Ontraport refused these credentials" in body["error"]["message"]
    assert body["error"]["data"]["upstream_status"] == 401
    assert "not-the-key" not in response.text
    return body


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_refused_credentials_get_401_in_both_eras(sandbox, mode):
    """The real client, both protocol eras: connecting with a key Ontraport refuses fails with
    the refusal (HTTP 401), and Ontraport is asked once for the verdict."""
    settings = Settings(base_url=sandbox.base_url, audit_log="off")
    headers = {**REFUSED, "Api-Appid": sandbox.app_id}
    with ServerThread(settings) as server:
        for _ in range(3):
            with pytest.raises(BaseException) as info:  # noqa: PT011 — unwrapped below
                async with connect(server.url, headers, mode=mode) as client:
                    await client.list_tools()
            error = _mcp_error(info.value)
            assert "Ontraport refused these credentials" in error.error.message
            assert "not-the-key" not in str(error.error)
        assert server.mcp.checks.checks == 1  # the refusal is remembered (briefly)


ERA = "2026-07-28"
_META = {
    "io.modelcontextprotocol/protocolVersion": ERA,
    "io.modelcontextprotocol/clientCapabilities": {},
}


def _modern(method: str, params: dict, **headers: str) -> tuple[dict, dict]:
    body = {
        "jsonrpc": "2.0",
        "id": 3,
        "method": method,
        "params": {**params, "_meta": _META},
    }
    return body, {**ACCEPT, "MCP-Protocol-Version": ERA, "Mcp-Method": method, **headers}


@pytest.mark.parametrize("method", ["tools/list", "tools/call"])
def test_tools_list_and_call_answer_401_for_refused_credentials(sandbox, method):
    params = {"name": "get_objects", "arguments": {"object_type_id": 0}}
    with ServerThread(Settings(base_url=sandbox.base_url, audit_log="off")) as server:
        wrong = {**REFUSED, "Api-Appid": sandbox.app_id}
        body, headers = _modern(method, params if method == "tools/call" else {}, **wrong)
        if method == "tools/call":
            headers["Mcp-Name"] = "get_objects"
        _refused(httpx.post(server.url, json=body, headers=headers))
        # handshake era: the initialize already answers 401, so no session is opened
        _refused(httpx.post(server.url, json=INIT, headers={**ACCEPT, **wrong}))
        assert not server.app.state.tracker.light
        # the facade answers 401 with its own error object
        facade = httpx.post(server.root + "/tools/get_objects", json={}, headers=wrong)
        assert facade.status_code == 401 and facade.json()["code"] == "unauthorized"
        # the right credentials are unaffected
        good = {"Api-Key": sandbox.api_key, "Api-Appid": sandbox.app_id}
        body, headers = _modern("tools/list", {}, **good)
        assert httpx.post(server.url, json=body, headers=headers).status_code == 200


async def test_a_call_refused_upstream_marks_the_credential(sandbox):
    """Ontraport starts refusing a key it accepted: the call that meets the 401 says so, and the
    next request answers HTTP 401 before the MCP app."""
    from mcp import MCPError

    settings = Settings(base_url=sandbox.base_url, audit_log="off")
    headers = {**REFUSED, "Api-Appid": sandbox.app_id}
    with ServerThread(settings) as server:
        from tests.server.test_sessions import vouch

        vouch(server, headers)  # accepted a moment ago
        async with connect(server.url, headers, mode="legacy") as client:
            result = await client.call_tool("get_objects", {"object_type_id": 0, "range": 1})
            assert result.is_error and error_payload(result)["code"] == "unauthorized"
            with pytest.raises(MCPError) as info:
                await client.list_tools()
            assert "Ontraport refused these credentials" in info.value.error.message


def test_single_account_mode_demands_the_access_token(sandbox):
    settings = Settings(
        base_url=sandbox.base_url,
        api_key=sandbox.api_key,
        app_id=sandbox.app_id,
        mcp_token="s3cret-token",
        audit_log="off",
    )
    with ServerThread(settings) as server:
        assert httpx.post(server.url, json=INIT, headers=ACCEPT).status_code == 401
        wrong = {**ACCEPT, "Authorization": "Bearer nope"}
        assert httpx.post(server.url, json=INIT, headers=wrong).status_code == 401
        # client-supplied Ontraport credentials do not bypass the token
        theirs = {**ACCEPT, "Api-Key": sandbox.api_key, "Api-Appid": sandbox.app_id}
        assert httpx.post(server.url, json=INIT, headers=theirs).status_code == 401
        ok = {**ACCEPT, "Authorization": "Bearer s3cret-token"}
        assert httpx.post(server.url, json=INIT, headers=ok).status_code == 200


def test_single_account_mode_without_token_refuses_everyone(sandbox):
    settings = Settings(base_url=sandbox.base_url, api_key="k", app_id="a", audit_log="off")
    with ServerThread(settings) as server:
        response = httpx.post(
            server.url, json=INIT, headers={**ACCEPT, "Authorization": "Bearer x"}
        )
        assert response.status_code == 401
        assert "ONTRAPORT_MCP_TOKEN" in response.json()["error"]["message"]


def test_dns_rebinding_foreign_host_is_refused(mcp_server, creds):
    headers = {**ACCEPT, **creds, "Host": "evil.example.com"}
    assert httpx.post(mcp_server.url, json=INIT, headers=headers).status_code == 421
    origin = {**ACCEPT, **creds, "Origin": "http://evil.example.com"}
    assert httpx.post(mcp_server.url, json=INIT, headers=origin).status_code == 403
