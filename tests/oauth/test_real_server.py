"""The whole OAuth flow against the real server (``build_app``: routes, gate, dispatch) and the
sandbox, driven by the MCP Python SDK: ``OAuthClientProvider`` for discovery, registration,
PKCE and tokens, the consent form submitted as a person would, then ``mcp.Client`` listing and
calling tools at the granted level.

The transcript of the run (metadata, registration, consent, token, ``tools/list`` at ``read``,
a refused write) is written to ``$OAUTH_TRANSCRIPT`` when that is set, for the release notes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from ontraport_mcp.sandbox.testing import SandboxServer
from tests.conftest import server_settings
from tests.oauth.test_sdk_client import Browser, MemoryStorage, _provider
from tests.server_thread import ServerThread

pytestmark = pytest.mark.anyio


@pytest.fixture
def server(sandbox: SandboxServer) -> Iterator[ServerThread]:
    with ServerThread(server_settings(sandbox.base_url)) as running:
        yield running


class Transcript:
    """Every HTTP exchange of the client, one line each (no token or key: they are cut)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    async def response(self, response: httpx2.Response) -> None:
        request = response.request
        line = f"{request.method} {request.url.path} -> {response.status_code}"
        challenge = response.headers.get("www-authenticate")
        if challenge:
            line += f"  WWW-Authenticate: {challenge}"
        self.lines.append(line)

    def write(self) -> None:
        target = os.environ.get("OAUTH_TRANSCRIPT")
        if target:
            with open(target, "w") as out:
                out.write("\n".join(self.lines) + "\n")


class Person(Browser):
    """The user at the consent page, noted in the transcript."""

    def __init__(self, sandbox: SandboxServer, access: str, transcript: Transcript) -> None:
        super().__init__(sandbox, access)
        self.transcript = transcript

    async def redirect(self, authorization_url: str) -> None:
        await super().redirect(authorization_url)
        assert self.result is not None
        self.transcript.lines.append(
            f"GET /authorize -> 200 (consent page); POST /authorize app_id, api_key, "
            f"access={self.access} -> 303 with code, state and iss={self.result.iss}"
        )


async def test_read_grant_lists_reads_and_refuses_a_write(
    server: ServerThread, sandbox: SandboxServer
) -> None:
    storage, transcript = MemoryStorage(), Transcript()
    browser = Person(sandbox, "read", transcript)
    provider = _provider(server.root, browser, storage)
    async with httpx2.AsyncClient(
        auth=provider, timeout=30, event_hooks={"response": [transcript.response]}
    ) as http:
        async with Client(streamable_http_client(server.url, http_client=http)) as client:
            listed = (await client.list_tools()).tools
            refused = await client.call_tool(
                "create_object", {"object_type_id": 0, "fields": {"firstname": "Ada"}}
            )
            read = await client.call_tool("get_objects", {"object_type_id": 0, "range": 1})
    transcript.lines.append(
        f"tools/list -> {len(listed)} tools, every one readOnlyHint: "
        f"{all(t.annotations and t.annotations.read_only_hint for t in listed)}"
    )
    transcript.lines.append(f"tools/call create_object -> {refused.content[0].text}")  # type: ignore[union-attr]
    transcript.write()

    assert browser.visits == 1 and storage.tokens is not None
    assert storage.tokens.scope == "ontraport:read"
    assert listed and all(t.annotations and t.annotations.read_only_hint for t in listed)
    names = {t.name for t in listed}
    assert "get_objects" in names and not {"create_object", "delete_objects"} & names

    assert refused.is_error
    error: dict[str, Any] = json.loads(refused.content[0].text)  # type: ignore[union-attr]
    assert error["code"] == "access_denied" and error["details"]["needs"] == "write"
    assert "'read'" in error["message"]
    assert not read.is_error

    # the exchanges a connector makes, in order: a 401 that names the metadata, discovery,
    # registration, the token, then MCP with the token
    paths = [line.split(" -> ")[0] for line in transcript.lines]
    assert paths[0] == "POST /mcp" and "resource_metadata=" in transcript.lines[0]
    assert "GET /.well-known/oauth-protected-resource/mcp" in paths
    assert "GET /.well-known/oauth-authorization-server" in paths
    assert "POST /register" in paths and "POST /token" in paths
    assert all(sandbox.api_key not in line for line in transcript.lines)


async def test_the_server_metadata_and_the_401_challenge(server: ServerThread) -> None:
    async with httpx.AsyncClient(base_url=server.root, timeout=10) as http:
        challenge = (await http.post("/mcp", json={})).headers["www-authenticate"]
        resource = (await http.get("/.well-known/oauth-protected-resource/mcp")).json()
        issuer = (await http.get("/.well-known/oauth-authorization-server")).json()
    assert f'resource_metadata="{server.root}/.well-known/oauth-protected-resource/mcp"' in (
        challenge
    )
    assert resource["resource"] == f"{server.root}/mcp"
    assert resource["authorization_servers"] == [server.root]
    assert issuer["issuer"] == server.root
    assert issuer["code_challenge_methods_supported"] == ["S256"]
    assert "none" in issuer["token_endpoint_auth_methods_supported"]
    assert issuer["client_id_metadata_document_supported"] is True
    assert issuer["authorization_response_iss_parameter_supported"] is True


async def test_header_credentials_still_work_beside_oauth(
    server: ServerThread, sandbox: SandboxServer
) -> None:
    async with httpx2.AsyncClient(headers=sandbox.headers, timeout=30) as http:
        async with Client(streamable_http_client(server.url, http_client=http)) as client:
            names = {t.name for t in (await client.list_tools()).tools}
    assert {"create_object", "delete_objects", "get_objects"} <= names  # full access
