"""The whole flow driven by a real OAuth client: the MCP Python SDK's ``OAuthClientProvider``
(discovery, DCR or CIMD, PKCE, ``iss`` check, refresh), the consent form submitted over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import httpx2
import pytest
from mcp.client.auth import OAuthClientProvider
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from pydantic import AnyUrl

from ontraport_mcp.sandbox.testing import SandboxServer
from tests.oauth.conftest import oauth_settings
from tests.oauth.flow import (
    REDIRECT,
    HttpsDocs,
    OAuthApp,
    approval,
    form_fields,
    loopback_too,
    sandbox_verify,
)

pytestmark = pytest.mark.anyio


class MemoryStorage:
    """The client's token storage, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class Browser:
    """Plays the user: opens the authorization URL, fills the consent form, follows back."""

    def __init__(self, sandbox: SandboxServer, access: str) -> None:
        self.sandbox = sandbox
        self.access = access
        self.result: AuthorizationCodeResult | None = None
        self.visits = 0
        self.seen_scope = ""

    async def redirect(self, authorization_url: str) -> None:
        self.visits += 1
        self.seen_scope = parse_qs(urlsplit(authorization_url).query)["scope"][0]
        async with httpx.AsyncClient(timeout=10) as http:
            page = await http.get(authorization_url)
            assert page.status_code == 200, page.text
            fields = form_fields(page.text)
            form = approval(fields, self.sandbox.app_id, self.sandbox.api_key, self.access)
            answer = await http.post(str(page.url.copy_with(query=None)), data=form)
        assert answer.status_code == 303, answer.text
        location = answer.headers["location"]
        assert location.startswith(REDIRECT)
        query = {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}
        self.result = AuthorizationCodeResult(
            code=query["code"], state=query["state"], iss=query.get("iss")
        )

    async def callback(self) -> AuthorizationCodeResult:
        assert self.result is not None
        return self.result


def _provider(
    url: str, browser: Browser, storage: MemoryStorage, metadata_url: str | None = None
) -> OAuthClientProvider:
    return OAuthClientProvider(
        server_url=url + "/mcp",
        client_metadata=OAuthClientMetadata(
            redirect_uris=[AnyUrl(REDIRECT)], client_name="SDK client"
        ),
        storage=storage,
        redirect_handler=browser.redirect,
        callback_handler=browser.callback,
        client_metadata_url=metadata_url,
    )


async def _whoami(client: httpx2.AsyncClient, url: str) -> dict[str, object]:
    answer = await client.post(
        url + "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def test_sdk_client_dcr_consent_token_refresh_revoke(
    oauth_app: OAuthApp, sandbox: SandboxServer
) -> None:
    browser, storage = Browser(sandbox, "write"), MemoryStorage()
    provider = _provider(oauth_app.url, browser, storage)
    async with httpx2.AsyncClient(auth=provider, timeout=10) as client:
        seen = await _whoami(client, oauth_app.url)
        assert seen["credentials"] is True and seen["access"] == "write"
        assert browser.visits == 1
        assert browser.seen_scope == "ontraport:read ontraport:write ontraport:full"
        assert storage.client_info is not None and storage.client_info.client_id.startswith(
            "omcp_client_"
        )
        first = storage.tokens
        assert first is not None and first.scope == "ontraport:write"

        # refresh: the SDK refreshes an expired token by itself; the refresh token rotates
        provider.context.token_expiry_time = 1.0  # long past
        assert (await _whoami(client, oauth_app.url))["access"] == "write"
        second = storage.tokens
        assert second is not None and second.refresh_token != first.refresh_token
        assert browser.visits == 1

        # revocation: the grant ends; the next call starts a new authorization
        async with httpx.AsyncClient(base_url=oauth_app.url) as plain:
            revoked = await plain.post(
                "/revoke",
                data={"token": second.refresh_token, "client_id": storage.client_info.client_id},
            )
            assert revoked.status_code == 200
            stale = await plain.post(
                "/mcp", headers={"Authorization": f"Bearer {second.access_token}"}
            )
            assert stale.status_code == 401
        browser.access = "read"
        assert (await _whoami(client, oauth_app.url))["access"] == "read"
        assert browser.visits == 2


@pytest.fixture
def docs(tmp_path: Path) -> Iterator[HttpsDocs]:
    with HttpsDocs(tmp_path) as server:
        yield server


async def test_sdk_client_with_a_client_id_metadata_document(
    sandbox: SandboxServer, docs: HttpsDocs, tmp_path: Path
) -> None:
    from ontraport_mcp.oauth import CIMDFetcher

    metadata_url = docs.url("/sdk/client.json")
    docs.publish(
        "/sdk/client.json",
        {"client_id": metadata_url, "client_name": "SDK via CIMD", "redirect_uris": [REDIRECT]},
    )
    fetcher = CIMDFetcher(policy=loopback_too, verify=docs.ssl_context())
    browser, storage = Browser(sandbox, "full"), MemoryStorage()
    with OAuthApp(
        oauth_settings(tmp_path), tmp_path / "s.sqlite3", sandbox_verify(sandbox), fetcher=fetcher
    ) as app:
        provider = _provider(app.url, browser, storage, metadata_url)
        async with httpx2.AsyncClient(auth=provider, timeout=10) as client:
            seen = await _whoami(client, app.url)
    assert seen["access"] == "full"
    assert storage.client_info is not None and storage.client_info.client_id == metadata_url
    assert docs.hits == ["/sdk/client.json"]
