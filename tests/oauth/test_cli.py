"""``ontraport-mcp grants list|revoke`` against the store a running server writes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx

from ontraport_mcp.oauth.cli import main
from ontraport_mcp.oauth.crypto import app_digest
from ontraport_mcp.sandbox.testing import SandboxServer
from tests.oauth.conftest import oauth_settings
from tests.oauth.flow import OAuthApp, bearer, tokens_for


def _run(argv: list[str], tmp_path: Path) -> tuple[int, str]:
    out = io.StringIO()
    status = main(argv, oauth_settings(tmp_path), out=out)
    return status, out.getvalue()


def test_list_and_revoke_grants(
    oauth_app: OAuthApp, http: httpx.Client, sandbox: SandboxServer, resource: str, tmp_path: Path
) -> None:
    issued = [tokens_for(http, sandbox, resource, level)[1] for level in ("read", "write", "full")]
    http.get("/mcp", headers=bearer(issued[0]["access_token"]))  # marks "last used"

    status, text = _run(["list"], tmp_path)
    assert status == 0
    lines = text.splitlines()
    assert lines[0].split() == ["grant", "client", "account", "level", "created", "last", "used"]
    assert len(lines) == 4 and all("Test Client (omcp_client_" in line for line in lines[1:])
    for secret in (sandbox.api_key, sandbox.app_id, *(t["access_token"] for t in issued)):
        assert secret not in text

    status, text = _run(["list", "--json"], tmp_path)
    rows = [json.loads(line) for line in text.splitlines()]
    assert [row["level"] for row in rows] == ["read", "write", "full"]
    assert {row["account"] for row in rows} == {app_digest(sandbox.app_id)}
    assert rows[0]["last_used"] is not None and rows[1]["last_used"] is None

    status, text = _run(["revoke", rows[1]["grant_id"]], tmp_path)
    assert status == 0 and "revoked grant" in text
    assert http.get("/mcp", headers=bearer(issued[1]["access_token"])).status_code == 401
    assert http.get("/mcp", headers=bearer(issued[0]["access_token"])).status_code == 200
    assert _run(["revoke", rows[1]["grant_id"]], tmp_path)[0] == 1

    assert _run(["revoke", "--account", "2_AppID_SOMEONE_ELSE"], tmp_path)[0] == 1
    status, text = _run(["revoke", "--account", sandbox.app_id], tmp_path)
    assert status == 0 and text == "revoked 2 grants of that account\n"
    for tokens in issued:
        assert http.get("/mcp", headers=bearer(tokens["access_token"])).status_code == 401
    assert _run(["list"], tmp_path) == (0, "no OAuth grants\n")


def test_usage_errors(tmp_path: Path) -> None:
    assert _run([], tmp_path)[0] == 2
    assert _run(["revoke"], tmp_path)[0] == 2
    assert _run(["revoke", "g1", "--account", "x"], tmp_path)[0] == 2
    assert _run(["frobnicate"], tmp_path)[0] == 2


def test_unreachable_store(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    status = main(["list"], oauth_settings(blocker), out=io.StringIO())
    assert status == 3
