"""The happy path over real HTTP: metadata, registration, consent, token, the gate."""

from __future__ import annotations

import httpx
import pytest

from ontraport_mcp.oauth import CREDENTIALS_SCOPE_KEY
from ontraport_mcp.sandbox.testing import SandboxServer
from tests.oauth.flow import OAuthApp, bearer, redirect_params, tokens_for

SCOPES = ["ontraport:read", "ontraport:write", "ontraport:full"]


def test_protected_resource_metadata_is_path_aware(oauth_app: OAuthApp, http: httpx.Client) -> None:
    base = oauth_app.url
    for path, resource in (("/mcp", base + "/mcp"), ("/v1", base + "/v1"), ("", base)):
        answer = http.get("/.well-known/oauth-protected-resource" + path)
        assert answer.status_code == 200
        assert answer.json() == {
            "resource": resource,
            "authorization_servers": [base],
            "scopes_supported": SCOPES,
            "bearer_methods_supported": ["header"],
            "resource_name": "Ontraport MCP server",
        }


def test_authorization_server_metadata(oauth_app: OAuthApp, http: httpx.Client) -> None:
    base = oauth_app.url
    answer = http.get("/.well-known/oauth-authorization-server")
    assert answer.json() == {
        "issuer": base,
        "authorization_endpoint": base + "/authorize",
        "token_endpoint": base + "/token",
        "registration_endpoint": base + "/register",
        "revocation_endpoint": base + "/revoke",
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "code_challenge_methods_supported": ["S256"],
        "client_id_metadata_document_supported": True,
        "authorization_response_iss_parameter_supported": True,
    }


def test_public_url_names_issuer_and_resource(sandbox: SandboxServer, tmp_path) -> None:  # noqa: ANN001
    from tests.oauth.conftest import oauth_settings
    from tests.oauth.flow import sandbox_verify

    settings = oauth_settings(tmp_path, public_url="https://mcp.example.com/")
    with OAuthApp(settings, tmp_path / "s.sqlite3", sandbox_verify(sandbox)) as app:
        document = httpx.get(app.url + "/.well-known/oauth-protected-resource/mcp").json()
        assert document["resource"] == "https://mcp.example.com/mcp"
        assert document["authorization_servers"] == ["https://mcp.example.com"]
        answer = httpx.get(app.url + "/mcp")
        assert answer.headers["www-authenticate"] == (
            'Bearer resource_metadata="https://mcp.example.com/.well-known/'
            'oauth-protected-resource/mcp", scope="ontraport:read ontraport:write ontraport:full"'
        )


def test_no_credentials_gets_the_discovery_challenge(
    oauth_app: OAuthApp, http: httpx.Client
) -> None:
    answer = http.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == (
        f'Bearer resource_metadata="{oauth_app.url}/.well-known/oauth-protected-resource/mcp", '
        'scope="ontraport:read ontraport:write ontraport:full"'
    )
    body = answer.json()
    assert body["jsonrpc"] == "2.0" and body["id"] is None
    assert body["error"]["code"] == -32600 and body["error"]["data"] == {"reason": "unauthorized"}
    root = http.get("/")
    assert 'oauth-protected-resource"' in root.headers["www-authenticate"]


def test_header_credentials_and_static_bearer_pass_untouched(
    http: httpx.Client, sandbox: SandboxServer
) -> None:
    answer = http.post("/mcp", headers=sandbox.headers)
    assert answer.json() == {
        "credentials": False,
        "account": None,
        "access": None,
        "header_credentials": True,
    }
    assert http.post("/mcp", headers=bearer("static-single-account-token")).status_code == 200


def test_dcr_then_consent_then_token_at_each_level(
    oauth_app: OAuthApp, http: httpx.Client, sandbox: SandboxServer, resource: str
) -> None:
    for level in ("read", "write", "full"):
        _, tokens = tokens_for(http, sandbox, resource, level)
        assert tokens["token_type"] == "Bearer" and tokens["scope"] == f"ontraport:{level}"
        assert tokens["expires_in"] == 3600
        assert tokens["access_token"].startswith("omcp_at_")
        assert tokens["refresh_token"].startswith("omcp_rt_")
        for path in ("/mcp", "/v1", "/"):
            seen = http.post(path, headers=bearer(tokens["access_token"])).json()
            assert seen["credentials"] is True and seen["access"] == level
    account = tokens_for(http, sandbox, resource)[1]
    seen = http.get("/mcp", headers=bearer(account["access_token"])).json()
    from ontraport_mcp.credentials import Credentials

    assert seen["account"] == Credentials(sandbox.app_id, sandbox.api_key).account_hash


def test_token_response_is_never_cached(
    http: httpx.Client, sandbox: SandboxServer, resource: str
) -> None:
    from tests.oauth.flow import code_for, exchange, new_verifier, register

    client_id = register(http)
    verifier = new_verifier()
    answer = exchange(
        http, client_id, code_for(http, sandbox, client_id, verifier, resource), verifier, resource
    )
    assert answer.headers["cache-control"] == "no-store"
    bad = exchange(http, client_id, "omcp_ac_nothing", verifier, resource)
    assert bad.headers["cache-control"] == "no-store"


def test_redirect_carries_code_state_and_iss(
    oauth_app: OAuthApp, http: httpx.Client, sandbox: SandboxServer, resource: str
) -> None:
    from tests.oauth.flow import authorize_params, consent, new_verifier, register

    client_id = register(http, redirect="http://127.0.0.1:9/callback?keep=1")
    params = authorize_params(
        client_id, new_verifier(), resource, redirect="http://127.0.0.1:9/callback?keep=1"
    )
    answer = consent(http, params, app_id=sandbox.app_id, api_key=sandbox.api_key)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("http://127.0.0.1:9/callback?keep=1&code=omcp_ac_")
    got = redirect_params(answer)
    assert got["state"] == "st-123" and got["iss"] == oauth_app.url and got["keep"] == "1"


def test_levels_and_scope_keys_agree_with_the_dispatch() -> None:
    from ontraport_mcp.oauth import ACCESS_SCOPE_KEY, LEVELS

    toolspec = pytest.importorskip("ontraport_mcp.runtime.toolspec")
    dispatch = pytest.importorskip("ontraport_mcp.runtime.dispatch")
    assert dict(LEVELS) == dict(toolspec.ACCESS_LEVELS)
    assert ACCESS_SCOPE_KEY == dispatch.ACCESS_SCOPE_KEY


def test_scope_key_agrees_with_the_transport() -> None:
    transport_auth = pytest.importorskip("ontraport_mcp.transport.auth")
    assert CREDENTIALS_SCOPE_KEY == transport_auth.CREDENTIALS_SCOPE_KEY
