"""Fixtures: the OAuth app (routes + gate) on 127.0.0.1 with the session sandbox as Ontraport."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from ontraport_mcp.sandbox.testing import SandboxServer
from ontraport_mcp.settings import Settings
from tests.oauth.flow import OAuthApp, sandbox_verify


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    """The Ontraport stand-in for every test here (the consent page checks keys against it).

    Defined here as well as in the sandbox plugin so these tests also run on their own
    (``--confcutdir tests/oauth``) while the rest of the tree is being reworked."""
    from ontraport_mcp.sandbox.config import SandboxConfig

    with SandboxServer(SandboxConfig(db=":memory:", rate_limit=1_000_000)) as server:
        yield server


def oauth_settings(tmp_path: object, **overrides: object) -> Settings:
    return Settings(data_dir=str(tmp_path), audit_log="off", **overrides)  # type: ignore[arg-type]


@pytest.fixture
def oauth_app(sandbox: SandboxServer, tmp_path) -> Iterator[OAuthApp]:  # noqa: ANN001
    with OAuthApp(
        oauth_settings(tmp_path), tmp_path / "state.sqlite3", sandbox_verify(sandbox)
    ) as app:
        yield app


@pytest.fixture
def http(oauth_app: OAuthApp) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=oauth_app.url, timeout=10) as client:
        yield client


@pytest.fixture
def resource(oauth_app: OAuthApp) -> str:
    return oauth_app.url + "/mcp"
