"""Fixtures for the state store tests: a real ``redis-server`` and each backend in turn."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from ontraport_mcp.state import Store
from ontraport_mcp.state.redis import RedisStore
from ontraport_mcp.state.sqlite import SQLiteStore
from tests.redis_server import RedisServer

BACKENDS = ("sqlite", "redis")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One loopback ``redis-server`` for the session (tests isolate by key namespace)."""
    with RedisServer.start(tmp_path_factory.mktemp("redis")) as server:
        yield server


def open_backend(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """A fresh, empty store of ``backend``: a new file, or a new namespace on the session Redis
    (the Redis fixture is only requested, and so only started, when a Redis test runs)."""
    if backend == "sqlite":
        return SQLiteStore(tmp_path / "state" / "state.sqlite3")
    server: RedisServer = request.getfixturevalue("redis_server")
    return RedisStore(server.url, namespace=f"test-{uuid.uuid4().hex[:12]}:")


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    backend = open_backend(request.param, request, tmp_path)
    try:
        yield backend
    finally:
        await backend.aclose()
