"""A burst of reads against an account whose budget is small: the agent gets ``rate_limited``,
Ontraport (the sandbox) never answers 429.

End to end: real MCP ``tools/call`` requests (2026-07-28, plain JSON over HTTP) to a real server
on 127.0.0.1 whose upstream is the embedded sandbox limited to 60 requests a minute, as
Ontraport limits an account to 180.  The server's governor (``state.governor``, wired in
``upstream.client.Upstream.call``) must spend the budget before a request leaves, so every
request beyond it comes back as ``rate_limited`` with ``retry_after_s`` and is never sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from ontraport_mcp.sandbox.config import SandboxConfig
from ontraport_mcp.sandbox.testing import SandboxServer
from ontraport_mcp.state.governor import Governor, moving_window_for
from tests.conftest import server_settings
from tests.redis_server import RedisServer
from tests.server.test_fastpath import _call, _headers
from tests.server_thread import ServerThread

pytestmark = pytest.mark.anyio

READ = {"object_type_id": 0, "range": 1, "fields": ["email"]}
BUDGET = 60
ROUNDS = 3
PER_ROUND = 100
WAIT_MAX_S = 0.3
CALL_BOUND_S = 10.0  # one call: the wait bound plus a loaded 2-core machine's latency


@pytest.fixture
def limited_sandbox() -> Iterator[SandboxServer]:
    """A sandbox that, like Ontraport, answers 429 past ``BUDGET`` requests a rolling minute."""
    config = SandboxConfig(db=":memory:", rate_limit=BUDGET, rate_window_s=60.0)
    with SandboxServer(config) as sandbox:
        yield sandbox


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """The server's state store: the default SQLite file, or a real redis-server."""
    if request.param == "sqlite":
        return None
    server: RedisServer = request.getfixturevalue("redis_server")
    return server.url


def _read(request_id: int) -> dict[str, Any]:
    """One ``get_objects`` read (a page of one contact) as a 2026-07-28 ``tools/call``."""
    return _call("get_objects", READ, request_id=request_id)


async def _round(server: ServerThread, sandbox: SandboxServer, first_id: int) -> list[dict]:
    """``PER_ROUND`` concurrent reads; each one's tool result payload and how long it took."""
    outcomes: list[dict] = []
    limits = httpx.Limits(max_connections=PER_ROUND, max_keepalive_connections=PER_ROUND)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def one(request_id: int) -> None:
            started = time.monotonic()
            reply = await client.post(server.url, json=_read(request_id), headers=_headers(sandbox))
            assert reply.status_code == 200, reply.text[:300]
            result = reply.json()["result"]
            payload: dict[str, Any] = {"ok": not result.get("isError")}
            if result.get("isError"):
                payload.update(json.loads(result["content"][0]["text"]))
            payload["took"] = time.monotonic() - started
            outcomes.append(payload)

        async with anyio.create_task_group() as group:
            for offset in range(PER_ROUND):
                group.start_soon(one, first_id + offset)
    return outcomes


def _upstream_statuses(sandbox: SandboxServer) -> list[int]:
    return [int(entry["status"]) for entry in sandbox.requests()]


async def _burst(server: ServerThread, sandbox: SandboxServer, pause_s: float) -> list[dict]:
    outcomes: list[dict] = []
    for number in range(ROUNDS):
        outcomes += await _round(server, sandbox, number * PER_ROUND)
        await anyio.sleep(pause_s)
    return outcomes


def _check_refusals(outcomes: list[dict], window_s: float) -> list[dict]:
    refused = [o for o in outcomes if not o["ok"]]
    assert {o["code"] for o in refused} == {"rate_limited"}, refused[:3]
    for outcome in refused:
        assert 0 < outcome["retry_after_s"] <= window_s + 1.5
        assert "shared by every replica" in outcome["message"]
        assert "nothing was sent to Ontraport" in outcome["message"]
    assert max(o["took"] for o in outcomes) < CALL_BOUND_S
    return refused


async def test_a_burst_past_the_budget_is_refused_here_never_by_ontraport(
    limited_sandbox: SandboxServer, store_url: str | None
) -> None:
    """3 × 100 reads against 60 a minute: at most 60 reach the sandbox, none answered 429, and
    every other read is ``rate_limited`` with the time until a slot frees (about a minute)."""
    settings = server_settings(
        limited_sandbox.base_url,
        rate_limit_per_minute=BUDGET,
        rate_wait_max_s=WAIT_MAX_S,
        store=store_url,
    )
    with ServerThread(settings) as server:
        outcomes = await _burst(server, limited_sandbox, pause_s=0.2)
    statuses = _upstream_statuses(limited_sandbox)
    assert 429 not in statuses, f"the sandbox answered 429 {statuses.count(429)} times"
    assert len(statuses) <= BUDGET  # reads and the server's own /objects/meta share the budget
    granted = [o for o in outcomes if o["ok"]]
    assert 0 < len(granted) <= BUDGET
    refused = _check_refusals(outcomes, window_s=60)
    assert len(refused) >= ROUNDS * PER_ROUND - BUDGET
    assert min(o["retry_after_s"] for o in refused) > 30  # the minute has barely begun


async def test_the_budget_frees_as_the_window_rolls(limited_sandbox: SandboxServer) -> None:
    """The same burst with a 2-second window on both sides (the sandbox's, and an injected
    governor's): later rounds get fresh slots, and across several windows the sandbox still
    never answers 429 — the governor holds each grant past the window by its arrival margin."""
    window_s = 2
    limited_sandbox.set_rate_limit(BUDGET, window_s)
    settings = server_settings(limited_sandbox.base_url, rate_wait_max_s=WAIT_MAX_S)
    with ServerThread(settings) as server:
        mcp = server.mcp
        mcp.upstream.governor = Governor(
            moving_window_for(mcp.store),
            limit=BUDGET,
            window_s=window_s,
            wait_max_s=WAIT_MAX_S,
            margin_s=1,
        )
        outcomes = await _burst(server, limited_sandbox, pause_s=window_s + 1.2)
    statuses = _upstream_statuses(limited_sandbox)
    assert 429 not in statuses, f"the sandbox answered 429 {statuses.count(429)} times"
    granted = [o for o in outcomes if o["ok"]]
    assert len(granted) > BUDGET  # the window rolled between rounds
    assert len(granted) <= ROUNDS * BUDGET
    _check_refusals(outcomes, window_s=window_s + 1)


async def test_reads_go_on_unbudgeted_while_the_store_is_down(
    limited_sandbox: SandboxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The budget is a courtesy to Ontraport: with Redis gone, reads still reach it (its own
    429 still applies), and the lapse is logged once, not once per request."""
    with RedisServer.start(tmp_path / "redis") as redis:
        settings = server_settings(
            limited_sandbox.base_url,
            store=redis.url,
            rate_limit_per_minute=BUDGET,
            rate_wait_max_s=WAIT_MAX_S,
        )
        with ServerThread(settings) as server, caplog.at_level("WARNING", "ontraport_mcp"):
            async with httpx.AsyncClient(timeout=30) as client:
                for request_id in range(3):
                    reply = await client.post(
                        server.url, json=_read(request_id), headers=_headers(limited_sandbox)
                    )
                    assert reply.json()["result"].get("isError") is not True
                redis.stop()
                for request_id in range(3, 8):
                    reply = await client.post(
                        server.url, json=_read(request_id), headers=_headers(limited_sandbox)
                    )
                    assert reply.json()["result"].get("isError") is not True, reply.text[:300]
    lapses = [r for r in caplog.records if "rate budget until it is back" in r.getMessage()]
    assert len(lapses) == 1
    assert all(status == 200 for status in _upstream_statuses(limited_sandbox))
