"""Fixtures of the tool tests (the shared ``sandbox``/``mcp_server`` come from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from ontraport_mcp.sandbox.testing import SandboxServer


@pytest.fixture
def api(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    """The session sandbox's /1 API with credentials (for setting up records and checking them)."""
    with sandbox.client() as client:
        yield client
