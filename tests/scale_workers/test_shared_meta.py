"""``/objects/meta`` fetched once for all the processes that share a store: one fetches (under a
lock in the store), the others read its copy or wait for it."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator

import httpx
import pytest

from ontraport_mcp.sandbox.config import SandboxConfig
from ontraport_mcp.sandbox.testing import SandboxServer
from tests.conftest import server_settings
from tests.server_thread import ServerThread

ERA = "2026-07-28"
META = {
    "io.modelcontextprotocol/protocolVersion": ERA,
    "io.modelcontextprotocol/clientCapabilities": {},
}
LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": META}}


@pytest.fixture
def own_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(db=":memory:", rate_limit=1_000_000)) as sandbox:
        yield sandbox


def _pair(sandbox: SandboxServer) -> tuple[ServerThread, ServerThread]:
    shared = tempfile.mkdtemp(prefix="ontraport-mcp-shared-meta-")  # one SQLite store for both
    return (
        ServerThread(server_settings(sandbox.base_url, data_dir=shared)),
        ServerThread(server_settings(sandbox.base_url, data_dir=shared)),
    )


def _list(server: ServerThread, sandbox: SandboxServer) -> int:
    headers = {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": ERA,
        "Mcp-Method": "tools/list",
        **sandbox.headers,
    }
    reply = httpx.post(server.url, json=LIST, headers=headers, timeout=30)
    assert reply.status_code == 200, reply.text
    return len(reply.json()["result"]["tools"])


def _meta_fetches(sandbox: SandboxServer) -> int:
    return sum(1 for r in sandbox.requests() if r.get("path", "").endswith("/objects/meta"))


def test_a_second_process_reads_the_first_ones_copy(own_sandbox: SandboxServer) -> None:
    first, second = _pair(own_sandbox)
    with first, second:
        own_sandbox.clear_requests()
        listed = _list(first, own_sandbox)
        assert _meta_fetches(own_sandbox) == 1
        assert _list(second, own_sandbox) == listed  # the custom-object tools too
        assert _meta_fetches(own_sandbox) == 1
        assert second.mcp.services.meta.fetches == 0


def test_processes_asking_at_once_fetch_once(own_sandbox: SandboxServer) -> None:
    first, second = _pair(own_sandbox)
    with first, second:
        own_sandbox.clear_requests()
        counts: list[int] = []
        threads = [
            threading.Thread(target=lambda s=s: counts.append(_list(s, own_sandbox)))
            for s in (first, second, first, second)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert len(counts) == 4 and len(set(counts)) == 1
        assert _meta_fetches(own_sandbox) == 1


def test_a_copy_written_between_the_read_and_the_claim_is_used(tmp_path) -> None:  # noqa: ANN001
    """The race the concurrent test above can hit: process B reads no copy; A fetches, writes
    its copy and lets go of the lock; then B claims the free lock.  B must read A's copy, not
    fetch again.  Two caches over one SQLite store, B's reads of the copy stalled until A is
    done (their own fetch counted, never sent: a narrow unit test of the store protocol)."""
    import asyncio
    import json
    from importlib.resources import files
    from typing import Any

    from ontraport_mcp.credentials import Credentials
    from ontraport_mcp.state.sqlite import SQLiteStore
    from ontraport_mcp.upstream.meta import META_KEY, MetaCache

    text = files("ontraport_mcp.openapi").joinpath("objects_meta.json").read_text("utf-8")
    data = json.loads(text)["data"]
    creds = Credentials(app_id="race-app", api_key="race-key")
    store = SQLiteStore(tmp_path / "state.sqlite3")
    first, second = (MetaCache(None, 300.0, store) for _ in range(2))  # type: ignore[arg-type]
    fetched: list[MetaCache] = []

    async def fetch(cache: MetaCache, _creds: Credentials) -> Any:
        fetched.append(cache)
        return data

    for cache in (first, second):
        cache._fetch = fetch.__get__(cache)  # type: ignore[method-assign]

    class Stalled:
        """B's view of the store: its first read of the copy finds none, and returns only after
        A has fetched, written the copy and released the lock."""

        def __init__(self) -> None:
            self.stalled = False

        def __getattr__(self, name: str) -> Any:
            return getattr(store, name)

        async def get(self, key: str) -> bytes | None:
            value = await store.get(key)
            if key.startswith(META_KEY) and not self.stalled:
                self.stalled = True
                assert value is None
                await first.get(creds)
                return None
            return value

    second._store = Stalled()  # type: ignore[assignment]

    async def both() -> tuple[Any, Any]:
        b = await second.get(creds)
        return await first.get(creds), b

    a_meta, b_meta = asyncio.run(both())
    assert fetched == [first]
    assert [t.type_id for t in b_meta.custom_types] == [t.type_id for t in a_meta.custom_types]
