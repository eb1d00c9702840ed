"""Credentials: 401 on every verb without them, before any upstream call; the accepted forms."""

import httpx
import pytest

from ontraport_mcp.executor import error_payload
from ontraport_mcp.settings import Settings
from ontraport_mcp.testing import ServerThread, connect

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
    body = response.json()
    assert body["error"] == "unauthorized" and "Api-Key" in body["message"]
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


async def test_wrong_credentials_surface_as_a_structured_upstream_error(mcp_server, sandbox):
    headers = {"Api-Key": "not-the-key", "Api-Appid": sandbox.app_id}
    async with connect(mcp_server.url, headers) as client:
        from mcp import MCPError

        with pytest.raises(MCPError) as info:
            await client.list_tools()
        assert "401" in str(info.value.error.data) or "credentials" in info.value.error.message
        result = await client.call_tool("build_api_condition", {"expression": "state = CA"})
        assert result.is_error
        assert error_payload(result)["code"] == "unauthorized"
        assert "not-the-key" not in str(result.content)


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
        assert "ONTRAPORT_MCP_TOKEN" in response.json()["message"]


def test_dns_rebinding_foreign_host_is_refused(mcp_server, creds):
    headers = {**ACCEPT, **creds, "Host": "evil.example.com"}
    assert httpx.post(mcp_server.url, json=INIT, headers=headers).status_code == 421
    origin = {**ACCEPT, **creds, "Origin": "http://evil.example.com"}
    assert httpx.post(mcp_server.url, json=INIT, headers=origin).status_code == 403
