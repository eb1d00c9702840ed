"""Fixtures for the sandbox tests: real HTTP against SandboxServer instances on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from ontraport_mcp.sandbox.config import SandboxConfig
from ontraport_mcp.sandbox.testing import SandboxServer
from tests.sandbox_plugin import TEST_RATE_LIMIT

# ``sandbox`` / ``fresh_sandbox`` come from tests.sandbox_plugin (registered in tests/conftest.py).


@pytest.fixture(scope="module")
def msb() -> Iterator[SandboxServer]:
    """One sandbox per test module (tests in a module must not depend on each other's writes)."""
    with SandboxServer(SandboxConfig(rate_limit=TEST_RATE_LIMIT)) as server:
        yield server


@pytest.fixture(scope="module")
def api(msb: SandboxServer) -> Iterator[httpx.Client]:
    with msb.client() as client:
        yield client


@pytest.fixture(scope="session")
def ro_sandbox() -> Iterator[SandboxServer]:
    """A private session sandbox that no test writes to (the shared ``sandbox`` may be changed by other suites)."""
    with SandboxServer(SandboxConfig(rate_limit=TEST_RATE_LIMIT)) as server:
        yield server


@pytest.fixture(scope="session")
def ro(ro_sandbox: SandboxServer) -> Iterator[httpx.Client]:
    """Client of ``ro_sandbox``: read-only use only."""
    with ro_sandbox.client() as client:
        yield client
