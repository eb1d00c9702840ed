"""What the store holds: hashes and sealed blobs only; and what happens when it is down."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import httpx
import pytest

from ontraport_mcp.credentials import Credentials
from ontraport_mcp.oauth.crypto import SealError, pkce_challenge, seal, token_hash, unseal
from ontraport_mcp.oauth.grants import Grants, Lifetimes
from ontraport_mcp.sandbox.testing import SandboxServer
from ontraport_mcp.state import StoreUnavailable
from ontraport_mcp.state.sqlite import SQLiteStore
from tests.oauth.conftest import oauth_settings
from tests.oauth.flow import (
    REDIRECT,
    OAuthApp,
    authorize_params,
    bearer,
    code_for,
    consent,
    exchange,
    new_verifier,
    refresh,
    register,
    sandbox_verify,
    tokens_for,
)


def _dump(path: Path) -> list[tuple[str, bytes]]:
    with sqlite3.connect(path) as db:
        return [(str(key), bytes(value)) for key, value in db.execute("SELECT key, value FROM kv")]


def test_a_dump_of_the_store_holds_no_secret(
    oauth_app: OAuthApp, http: httpx.Client, sandbox: SandboxServer, resource: str
) -> None:
    client_id, tokens = tokens_for(http, sandbox, resource, "full")
    rotated = refresh(http, client_id, tokens["refresh_token"]).json()
    assert http.get("/mcp", headers=bearer(rotated["access_token"])).status_code == 200
    # a pending request and an unredeemed code too
    verifier = new_verifier()
    code = code_for(http, sandbox, client_id, verifier, resource)
    rows = _dump(oauth_app.store_path)
    text = "\n".join(f"{key}={value.decode(errors='replace')}" for key, value in rows)
    issued = [
        pair[name] for pair in (tokens, rotated) for name in ("access_token", "refresh_token")
    ]
    for secret in (sandbox.api_key, sandbox.app_id, code, *issued):
        assert secret not in text
    keys = {key for key, _ in rows}
    assert "oauth:at:" + token_hash(rotated["access_token"]) in keys
    assert "oauth:rt:" + token_hash(rotated["refresh_token"]) in keys
    assert "oauth:code:" + token_hash(code) in keys
    assert "oauth:rtspent:" + token_hash(tokens["refresh_token"]) in keys
    assert any(key.startswith("oauth:grant:") for key in keys)
    assert exchange(http, client_id, code, verifier, resource).status_code == 200


def test_sealed_credentials_open_only_with_their_token_and_record() -> None:
    creds = Credentials(app_id="2_AppID_X", api_key="key-123456")
    blob = seal(creds, "omcp_at_token", bound_to="oauth:at:aaa")
    assert unseal(blob, "omcp_at_token", bound_to="oauth:at:aaa") == creds
    with pytest.raises(SealError):
        unseal(blob, "omcp_at_other", bound_to="oauth:at:aaa")
    with pytest.raises(SealError):
        unseal(blob, "omcp_at_token", bound_to="oauth:at:bbb")
    with pytest.raises(SealError):
        unseal(blob[:-4] + "AAAA", "omcp_at_token", bound_to="oauth:at:aaa")
    assert seal(creds, "omcp_at_token", bound_to="k") != seal(creds, "omcp_at_token", bound_to="k")


def test_an_unreachable_store_is_a_503_not_a_traceback(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the store's folder should be")
    settings = oauth_settings(tmp_path)
    with (
        OAuthApp(settings, blocker / "state.sqlite3", sandbox_verify(sandbox)) as app,
        httpx.Client(base_url=app.url) as http,
    ):
        answer = http.post("/register", json={"redirect_uris": ["http://127.0.0.1/cb"]})
        assert answer.status_code == 503 and answer.json()["error"] == "temporarily_unavailable"
        gated = http.get("/mcp", headers=bearer("omcp_at_" + "x" * 43))
        assert gated.status_code == 503 and gated.json()["error"]["data"]["reason"] == "unavailable"
        page = http.get("/authorize", params={"client_id": "omcp_client_x"})
        assert page.status_code == 503 and "Retry shortly" in page.text
        # metadata needs no store
        assert http.get("/.well-known/oauth-authorization-server").status_code == 200


def test_no_secret_reaches_a_log_line(
    sandbox: SandboxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with (
        OAuthApp(oauth_settings(tmp_path), tmp_path / "s.sqlite3", sandbox_verify(sandbox)) as app,
        httpx.Client(base_url=app.url) as http,
    ):
        resource = app.url + "/mcp"
        client_id, tokens = tokens_for(http, sandbox, resource, "write")
        rotated = refresh(http, client_id, tokens["refresh_token"]).json()
        http.get("/mcp", headers=bearer(rotated["access_token"]))
        refresh(http, client_id, tokens["refresh_token"])  # reuse: revokes
        http.get("/mcp", headers=bearer(rotated["access_token"]))
        consent(
            http,
            authorize_params(client_id, new_verifier(), resource),
            app_id=sandbox.app_id,
            api_key="wrong-secret-key",
        )
        http.post("/revoke", data={"token": rotated["refresh_token"]})
        register(http)
    assert any(record.name.startswith("ontraport_mcp.oauth") for record in caplog.records)
    # httpx/httpcore lines are the test's own HTTP clients tracing what they received
    server_side = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    text = "\n".join(record.getMessage() for record in server_side)
    issued = [
        pair[name] for pair in (tokens, rotated) for name in ("access_token", "refresh_token")
    ]
    for secret in (sandbox.api_key, sandbox.app_id, "wrong-secret-key", *issued):
        assert secret not in text
    assert "omcp_at_" not in text and "omcp_rt_" not in text and "omcp_ac_" not in text


class FailingWrites:
    """A real SQLite store whose writes of one key prefix fail while ``failing`` is set."""

    def __init__(self, store: SQLiteStore, prefix: str) -> None:
        self.store, self.prefix, self.failing = store, prefix, False
        self.name = store.name

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)

    async def put(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None:
        if self.failing and key.startswith(self.prefix):
            raise StoreUnavailable("disk full")
        await self.store.put(key, value, ttl_s=ttl_s)


@pytest.mark.anyio
async def test_a_refresh_that_failed_to_write_can_be_retried(tmp_path: Path) -> None:
    store = FailingWrites(SQLiteStore(tmp_path / "s.sqlite3"), "oauth:at:")
    grants = Grants(store, Lifetimes())  # type: ignore[arg-type]
    resource = "http://127.0.0.1:1/mcp"
    verifier = new_verifier()
    pending, _ = await grants.open_request(
        client_id="c",
        client_name="C",
        redirect_uri=REDIRECT,
        state=None,
        code_challenge=pkce_challenge(verifier),
        resource=resource,
        scope=None,
    )
    code = await grants.issue_code(pending, Credentials("2_AppID_X", "key-1234"), "write")
    first = await grants.redeem_code(
        code,
        client_id="c",
        redirect_uri=REDIRECT,
        verifier=verifier,
        resources=frozenset({resource}),
        resource=resource,
    )
    store.failing = True
    with pytest.raises(StoreUnavailable):
        await grants.refresh(
            first.refresh_token,
            client_id="c",
            scope=None,
            resources=frozenset({resource}),
            resource=None,
        )
    store.failing = False
    second = await grants.refresh(
        first.refresh_token,
        client_id="c",
        scope=None,
        resources=frozenset({resource}),
        resource=None,
    )
    assert (await grants.authenticate(second.access_token, frozenset({resource}))) is not None
    await store.store.aclose()
