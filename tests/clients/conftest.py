"""One fresh seeded sandbox and one MCP server per test module of the client suite.

The scenario writes (a contact, a paid invoice, a deletion), so it does not share the session
sandbox that other suites read."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ontraport_mcp.sandbox.config import SandboxConfig
from ontraport_mcp.sandbox.testing import SandboxServer
from ontraport_mcp.settings import Settings
from tests.clients.harness import (
    BAD_ARGUMENTS,
    Compat,
    expected_tool_names,
    facade_error,
    require_clients,
)
from tests.server_thread import ServerThread


@pytest.fixture(scope="module")
def compat() -> Iterator[Compat]:
    with SandboxServer(SandboxConfig(db=":memory:", rate_limit=1_000_000)) as sandbox:
        settings = Settings(base_url=sandbox.base_url, audit_log="off")
        with ServerThread(settings) as server:
            headers = dict(sandbox.headers)
            yield Compat(
                sandbox,
                server,
                expected_tool_names(sandbox.base_url, headers),
                facade_error(server.root, headers, "get_objects", BAD_ARGUMENTS),
            )


@pytest.fixture(scope="module")
def node_clients() -> None:
    """Skips when the pinned Node clients are not installed (before any server starts)."""
    require_clients()
