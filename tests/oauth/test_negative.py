"""What must be refused: the issue's negative list, and bad input at every endpoint."""

from __future__ import annotations

import time

import httpx
import pytest

from ontraport_mcp.sandbox.testing import SandboxServer, free_port
from tests.oauth.conftest import oauth_settings
from tests.oauth.flow import (
    REDIRECT,
    OAuthApp,
    approval,
    authorize_params,
    bearer,
    code_for,
    consent,
    exchange,
    form_fields,
    new_verifier,
    redirect_params,
    refresh,
    register,
    sandbox_verify,
    tokens_for,
)


def _error(answer: httpx.Response) -> str:
    return str(answer.json()["error"])


def _refused(http: httpx.Client, token: str) -> bool:
    answer = http.post("/mcp", headers=bearer(token))
    if answer.status_code != 401:
        return False
    assert answer.headers["www-authenticate"].startswith('Bearer error="invalid_token", ')
    assert "resource_metadata=" in answer.headers["www-authenticate"]
    return True


# ---------------------------------------------------------------------------------- PKCE
def test_pkce_verifier_wrong_or_missing(
    http: httpx.Client, sandbox: SandboxServer, resource: str
) -> None:
    client_id = register(http)
    verifier = new_verifier()
    wrong = exchange(
        http,
        client_id,
        code_for(http, sandbox, client_id, verifier, resource),
        new_verifier(),
        resource,
    )
    assert wrong.status_code == 400 and _error(wrong) == "invalid_grant"
    missing = exchange(
        http, client_id, code_for(http, sandbox, client_id, verifier, resource), None, resource
    )
    assert missing.status_code == 400 and _error(missing) == "invalid_grant"


def test_authorize_requires_s256(http: httpx.Client, resource: str) -> None:
    client_id = register(http)
    for change in ({"code_challenge_method": "plain"}, {"code_challenge": ""}):
        params = {**authorize_params(client_id, new_verifier(), resource), **change}
        got = redirect_params(http.get("/authorize", params=params))
        assert got["error"] == "invalid_request" and got["state"] == "st-123" and "iss" in got


# ---------------------------------------------------------------------------------- codes
def test_code_used_twice_fails_and_revokes_its_grant(
    http: httpx.Client, sandbox: SandboxServer, resource: str
) -> None:
    client_id = register(http)
    verifier = new_verifier()
    code = code_for(http, sandbox, client_id, verifier, resource)
    first = exchange(http, client_id, code, verifier, resource)
    assert first.status_code == 200
    second = exchange(http, client_id, code, verifier, resource)
    assert second.status_code == 400 and _error(second) == "invalid_grant"
    assert _refused(http, first.json()["access_token"])


def test_expired_code(sandbox: SandboxServer, tmp_path) -> None:  # noqa: ANN001
    settings = oauth_settings(tmp_path, oauth_code_ttl_s=0.5)
    with (
        OAuthApp(settings, tmp_path / "s.sqlite3", sandbox_verify(sandbox)) as app,
        httpx.Client(base_url=app.url) as http,
    ):
        client_id = register(http)
        verifier = new_verifier()
        code = code_for(http, sandbox, client_id, verifier, app.url + "/mcp")
        time.sleep(0.8)
        answer = exchange(http, client_id, code, verifier, app.url + "/mcp")
        assert answer.status_code == 400 and _error(answer) == "invalid_grant"


# ---------------------------------------------------------------------------------- redirects
def test_redirect_uri_mismatch(http: httpx.Client, sandbox: SandboxServer, resource: str) -> None:
    client_id = register(http)
    params = authorize_params(
        client_id, new_verifier(), resource, redirect="https://evil.example/cb"
    )
    page = http.get("/authorize", params=params)
    assert page.status_code == 400 and "location" not in page.headers
    assert "not registered" in page.text
    verifier = new_verifier()
    code = code_for(http, sandbox, client_id, verifier, resource)
    answer = exchange(
        http, client_id, code, verifier, resource, redirect_uri="http://127.0.0.1:9/other"
    )
    assert answer.status_code == 400 and _error(answer) == "invalid_grant"


def test_loopback_redirect_matches_with_any_port(http: httpx.Client, resource: str) -> None:
    client_id = register(http, redirect="http://127.0.0.1/callback")
    params = authorize_params(
        client_id, new_verifier(), resource, redirect="http://127.0.0.1:53111/callback"
    )
    assert http.get("/authorize", params=params).status_code == 200
    params["redirect_uri"] = "http://127.0.0.1:53111/elsewhere"
    assert http.get("/authorize", params=params).status_code == 400


@pytest.mark.parametrize(
    ("uris", "code"),
    [
        (["http://example.com/cb"], "invalid_redirect_uri"),
        (["javascript:alert(1)"], "invalid_redirect_uri"),
        (["https://example.com/cb#frag"], "invalid_redirect_uri"),
        ([], "invalid_redirect_uri"),
        ("https://example.com/cb", "invalid_redirect_uri"),
    ],
)
def test_registration_refuses_bad_redirect_uris(
    http: httpx.Client, uris: object, code: str
) -> None:
    answer = http.post("/register", json={"redirect_uris": uris})
    assert answer.status_code == 400 and _error(answer) == code


def test_registration_bad_bodies(http: httpx.Client) -> None:
    assert _error(http.post("/register", content=b"{not json")) == "invalid_client_metadata"
    assert _error(http.post("/register", json=[1])) == "invalid_client_metadata"
    huge = http.post("/register", content=b"x" * 70_000)
    assert huge.status_code == 413 and _error(huge) == "invalid_request"
    only_implicit = {"redirect_uris": [REDIRECT], "grant_types": ["implicit"]}
    assert _error(http.post("/register", json=only_implicit)) == "invalid_client_metadata"
    # a confidential method asked for is replaced by "none" (RFC 7591 §3.2.1)
    asked = {"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_basic"}
    answer = http.post("/register", json=asked)
    assert answer.status_code == 201
    assert (
        answer.json()["token_endpoint_auth_method"] == "none"
        and "client_secret" not in answer.json()
    )


# ---------------------------------------------------------------------------------- resources
def test_resource_is_required_and_must_be_this_server(http: httpx.Client, resource: str) -> None:
    client_id = register(http)
    params = authorize_params(client_id, new_verifier(), resource)
    del params["resource"]
    assert redirect_params(http.get("/authorize", params=params))["error"] == "invalid_target"
    params["resource"] = "https://other.example/mcp"
    assert redirect_params(http.get("/authorize", params=params))["error"] == "invalid_target"


def test_token_for_another_resource_is_refused(
    oauth_app: OAuthApp, http: httpx.Client, sandbox: SandboxServer, resource: str
) -> None:
    client_id = register(http)
    verifier = new_verifier()
    code = code_for(http, sandbox, client_id, verifier, resource)
    answer = exchange(http, client_id, code, verifier, "http://localhost:1/mcp")
    assert answer.status_code == 400 and _error(answer) == "invalid_target"
    _, tokens = tokens_for(http, sandbox, resource)
    # the same server under another name is another resource: its token is not good there
    elsewhere = f"http://localhost:{oauth_app.port}"
    with httpx.Client(base_url=elsewhere) as other:
        assert _refused(other, tokens["access_token"])
        answer = refresh(other, client_id, tokens["refresh_token"])
        assert answer.status_code == 400
    assert http.get("/mcp", headers=bearer(tokens["access_token"])).status_code == 200


# ---------------------------------------------------------------------------------- lifetimes
def test_expired_access_token(sandbox: SandboxServer, tmp_path) -> None:  # noqa: ANN001
    settings = oauth_settings(tmp_path, oauth_access_token_ttl_s=1.0)
    with (
        OAuthApp(settings, tmp_path / "s.sqlite3", sandbox_verify(sandbox)) as app,
        httpx.Client(base_url=app.url) as http,
    ):
        client_id, tokens = tokens_for(http, sandbox, app.url + "/mcp")
        assert tokens["expires_in"] == 1
        assert http.get("/mcp", headers=bearer(tokens["access_token"])).status_code == 200
        time.sleep(1.3)
        assert _refused(http, tokens["access_token"])
        renewed = refresh(http, client_id, tokens["refresh_token"])
        assert renewed.status_code == 200
        assert http.get("/mcp", headers=bearer(renewed.json()["access_token"])).status_code == 200


def test_unknown_token_with_our_prefix(http: httpx.Client) -> None:
    assert _refused(http, "omcp_at_" + "A" * 43)


def test_a_refresh_token_or_code_is_not_a_bearer(
    http: httpx.Client, sandbox: SandboxServer, resource: str
) -> None:
    client_id, tokens = tokens_for(http, sandbox, resource)
    assert _refused(http, tokens["refresh_token"])
    assert _refused(http, code_for(http, sandbox, client_id, new_verifier(), resource))


# ---------------------------------------------------------------------------------- refresh
def test_refresh_rotates_and_reuse_revokes_the_grant(
    http: httpx.Client, sandbox: SandboxServer, resource: str
) -> None:
    client_id, first = tokens_for(http, sandbox, resource, "write")
    second = refresh(http, client_id, first["refresh_token"])
    assert second.status_code == 200
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    assert rotated["scope"] == "ontraport:write"
    assert http.get("/mcp", headers=bearer(rotated["access_token"])).json()["access"] == "write"
    reused = refresh(http, client_id, first["refresh_token"])
    assert reused.status_code == 400 and _error(reused) == "invalid_grant"
    assert _refused(http, rotated["access_token"])
    assert _refused(http, first["access_token"])
    assert refresh(http, client_id, rotated["refresh_token"]).status_code == 400


def test_refresh_cannot_widen_the_level(
    http: httpx.Client, sandbox: SandboxServer, resource: str
) -> None:
    client_id, tokens = tokens_for(http, sandbox, resource, "read")
    wider = refresh(http, client_id, tokens["refresh_token"], scope="ontraport:full")
    assert wider.status_code == 400 and _error(wider) == "invalid_scope"
    # the refused attempt did not spend the refresh token
    same = refresh(http, client_id, tokens["refresh_token"], scope="ontraport:read")
    assert same.status_code == 200 and same.json()["scope"] == "ontraport:read"
    unknown = refresh(http, client_id, same.json()["refresh_token"], scope="admin")
    assert _error(unknown) == "invalid_scope"


def test_refresh_can_narrow(http: httpx.Client, sandbox: SandboxServer, resource: str) -> None:
    client_id, tokens = tokens_for(http, sandbox, resource, "full")
    narrow = refresh(http, client_id, tokens["refresh_token"], scope="ontraport:read")
    assert narrow.status_code == 200 and narrow.json()["scope"] == "ontraport:read"
    assert (
        http.get("/mcp", headers=bearer(narrow.json()["access_token"])).json()["access"] == "read"
    )


def test_refresh_by_another_client(
    http: httpx.Client, sandbox: SandboxServer, resource: str
) -> None:
    _, tokens = tokens_for(http, sandbox, resource)
    other = register(http)
    answer = refresh(http, other, tokens["refresh_token"])
    assert answer.status_code == 400 and _error(answer) == "invalid_grant"


# ---------------------------------------------------------------------------------- revocation
def test_revoking_an_access_token(
    http: httpx.Client, sandbox: SandboxServer, resource: str
) -> None:
    client_id, tokens = tokens_for(http, sandbox, resource)
    answer = http.post("/revoke", data={"token": tokens["access_token"], "client_id": client_id})
    assert answer.status_code == 200
    assert _refused(http, tokens["access_token"])
    assert refresh(http, client_id, tokens["refresh_token"]).status_code == 200


def test_revoking_a_refresh_token_ends_the_grant(
    http: httpx.Client, sandbox: SandboxServer, resource: str
) -> None:
    client_id, tokens = tokens_for(http, sandbox, resource)
    answer = http.post(
        "/revoke", data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"}
    )
    assert answer.status_code == 200
    assert _refused(http, tokens["access_token"])
    assert _error(refresh(http, client_id, tokens["refresh_token"])) == "invalid_grant"
    assert http.post("/revoke", data={"token": "omcp_rt_unknown"}).status_code == 200
    assert _error(http.post("/revoke", data={})) == "invalid_request"


# ---------------------------------------------------------------------------------- consent
def test_consent_post_without_csrf_token(
    http: httpx.Client, sandbox: SandboxServer, resource: str
) -> None:
    client_id = register(http)
    page = http.get("/authorize", params=authorize_params(client_id, new_verifier(), resource))
    fields = form_fields(page.text)
    form = approval({}, sandbox.app_id, sandbox.api_key, "full")
    for csrf in ({}, {"csrf_token": "omcp_cs_forged"}):
        answer = http.post("/authorize", data={"request_id": fields["request_id"], **form, **csrf})
        assert answer.status_code == 403 and "location" not in answer.headers
        assert "security token" in answer.text
    # the genuine page still works afterwards, once
    good = http.post("/authorize", data={**fields, **form})
    assert "code" in redirect_params(good)
    again = http.post("/authorize", data={**fields, **form})
    assert again.status_code == 400 and "location" not in again.headers


def test_consent_with_credentials_ontraport_refuses(
    http: httpx.Client, sandbox: SandboxServer, resource: str
) -> None:
    client_id = register(http)
    params = authorize_params(client_id, new_verifier(), resource)
    answer = consent(http, params, app_id=sandbox.app_id, api_key="not-the-key-at-all")
    assert answer.status_code == 401 and "location" not in answer.headers
    assert "Ontraport refused these credentials" in answer.text
    assert "not-the-key-at-all" not in answer.text
    assert 'name="api_key"' in answer.text  # the form again
    form = approval(form_fields(answer.text), sandbox.app_id, sandbox.api_key, "read")
    assert "code" in redirect_params(http.post("/authorize", data=form))


def test_consent_attempts_are_bounded(
    http: httpx.Client, sandbox: SandboxServer, resource: str
) -> None:
    client_id = register(http)
    page = http.get("/authorize", params=authorize_params(client_id, new_verifier(), resource))
    fields = form_fields(page.text)
    statuses = []
    for _ in range(7):
        form = approval(fields, sandbox.app_id, "wrong", "read")
        statuses.append(http.post("/authorize", data=form).status_code)
    assert statuses[:5] == [401] * 5 and statuses[5] == 429 and statuses[6] == 400


def test_consent_when_ontraport_is_unreachable(sandbox: SandboxServer, tmp_path) -> None:  # noqa: ANN001
    dead = SandboxServer.__new__(SandboxServer)
    dead.host, dead.port = "127.0.0.1", free_port()  # nothing listens there
    with (
        OAuthApp(oauth_settings(tmp_path), tmp_path / "s.sqlite3", sandbox_verify(dead)) as app,
        httpx.Client(base_url=app.url) as http,
    ):
        client_id = register(http)
        params = authorize_params(client_id, new_verifier(), app.url + "/mcp")
        answer = consent(http, params, app_id=sandbox.app_id, api_key=sandbox.api_key)
        assert answer.status_code == 503 and "try again" in answer.text
        assert sandbox.api_key not in answer.text


def test_deny_redirects_access_denied(
    oauth_app: OAuthApp, http: httpx.Client, resource: str
) -> None:
    client_id = register(http)
    page = http.get("/authorize", params=authorize_params(client_id, new_verifier(), resource))
    answer = http.post("/authorize", data={**form_fields(page.text), "action": "deny"})
    got = redirect_params(answer)
    assert got == {"error": "access_denied", "state": "st-123", "iss": oauth_app.url}


def test_consent_page_headers(http: httpx.Client, resource: str) -> None:
    client_id = register(http, name="Claude <script>")
    page = http.get("/authorize", params=authorize_params(client_id, new_verifier(), resource))
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert "form-action 'self' http://127.0.0.1:9" in csp
    assert page.headers["cache-control"] == "no-store" and page.headers["x-frame-options"] == "DENY"
    assert "Claude &lt;script&gt;" in page.text and "<script" not in page.text
    assert '<meta name="viewport"' in page.text and "127.0.0.1:9" in page.text
    assert 'value="read" checked' in page.text  # least privilege preselected


def test_unknown_client_gets_an_error_page(http: httpx.Client, resource: str) -> None:
    params = authorize_params("omcp_client_nobody", new_verifier(), resource)
    page = http.get("/authorize", params=params)
    assert page.status_code == 400 and "location" not in page.headers


# ---------------------------------------------------------------------------------- token input
def test_token_endpoint_bad_input(http: httpx.Client) -> None:
    client_id = register(http)
    cases = [
        ({}, 400, "invalid_request"),
        ({"grant_type": "password", "client_id": client_id}, 400, "unsupported_grant_type"),
        ({"grant_type": "authorization_code"}, 401, "invalid_client"),
        ({"grant_type": "authorization_code", "client_id": "omcp_client_x"}, 401, "invalid_client"),
        ({"grant_type": "authorization_code", "client_id": client_id}, 400, "invalid_request"),
        ({"grant_type": "refresh_token", "client_id": client_id}, 400, "invalid_request"),
    ]
    for data, status, code in cases:
        answer = http.post("/token", data=data)
        assert (answer.status_code, _error(answer)) == (status, code), data
    as_json = http.post("/token", json={"grant_type": "authorization_code"})
    assert _error(as_json) == "invalid_request"
    twice = http.post(
        "/token",
        content=b"grant_type=refresh_token&grant_type=refresh_token",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert _error(twice) == "invalid_request"
    huge = http.post("/token", data={"grant_type": "x" * 20_000})
    assert huge.status_code == 413


def test_redirect_uri_in_token_request_only_when_it_was_in_the_authorization(
    http: httpx.Client, sandbox: SandboxServer, resource: str
) -> None:
    client_id = register(http)
    verifier = new_verifier()
    params = authorize_params(client_id, verifier, resource)
    del params["redirect_uri"]  # the client's only registered one is used
    code = redirect_params(consent(http, params, app_id=sandbox.app_id, api_key=sandbox.api_key))[
        "code"
    ]
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": client_id,
        "code_verifier": verifier,
    }
    assert http.post("/token", data=data).status_code == 200
    code = code_for(http, sandbox, client_id, verifier, resource)  # named this time
    answer = http.post("/token", data={**data, "code": code})
    assert answer.status_code == 400 and _error(answer) == "invalid_grant"


def test_registrations_are_bounded(http: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from ontraport_mcp.oauth import clients

    register(http)
    monkeypatch.setattr(clients, "MAX_CLIENTS", 2)
    register(http)
    answer = http.post("/register", json={"redirect_uris": [REDIRECT]})
    assert answer.status_code == 400 and _error(answer) == "invalid_client_metadata"
    assert "as many clients" in answer.json()["error_description"]


def test_authorization_requests_are_bounded_per_client_and_in_all(
    http: httpx.Client, resource: str, oauth_app: OAuthApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GET /authorize is public and writes a pending request: a client, and all clients
    together, may open only so many a minute; past that the client hears
    temporarily_unavailable and nothing more is stored."""
    import asyncio

    from ontraport_mcp.oauth import grants

    monkeypatch.setattr(grants, "MAX_OPEN_PER_CLIENT", 3)
    monkeypatch.setattr(grants, "MAX_OPEN_PER_MINUTE", 5)

    def opened(client_id: str) -> httpx.Response:
        return http.get("/authorize", params=authorize_params(client_id, new_verifier(), resource))

    def pending() -> int:
        return len(asyncio.run(oauth_app.store.scan("oauth:req:", limit=100)))

    first, second = register(http), register(http, name="Second")
    assert all(opened(first).status_code == 200 for _ in range(3))
    refused = redirect_params(opened(first))
    assert refused["error"] == "temporarily_unavailable" and refused["state"] == "st-123"
    assert "try again in 60 s" in refused["error_description"]
    assert pending() == 3
    assert all(opened(second).status_code == 200 for _ in range(2))  # 5 in all: the cap
    assert redirect_params(opened(second))["error"] == "temporarily_unavailable"
    assert pending() == 5
