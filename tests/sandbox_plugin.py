"""Pytest fixtures: ``sandbox`` (one server per test session) and ``fresh_sandbox`` (one per test).

Enabled by ``pytest_plugins = ["tests.sandbox_plugin"]`` in ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ontraport_mcp.sandbox.config import SandboxConfig
from ontraport_mcp.sandbox.testing import SandboxServer

# Test servers allow plenty of requests; call ``server.set_rate_limit(180, 60)`` to test throttling.
TEST_RATE_LIMIT = 1_000_000


def _config() -> SandboxConfig:
    return SandboxConfig(db=":memory:", rate_limit=TEST_RATE_LIMIT)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    """One seeded sandbox for the whole session (shared: prefer read-only use)."""
    with SandboxServer(_config()) as server:
        yield server


@pytest.fixture
def fresh_sandbox() -> Iterator[SandboxServer]:
    """A new, freshly seeded sandbox for one test."""
    with SandboxServer(_config()) as server:
        yield server
