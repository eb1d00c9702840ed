"""The per-account rate governor, on both backends, with a short window so a test takes seconds.

The budget is checked the way Ontraport counts it: never more than ``limit`` grants in any
rolling window, whoever (task, worker, replica) asked.
"""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest

from ontraport_mcp.state import Store, StoreUnavailable
from ontraport_mcp.state.governor import (
    Governor,
    RateBudgetExhausted,
    SQLiteMovingWindow,
    account_key,
    moving_window_for,
)
from ontraport_mcp.state.redis import RedisStore
from ontraport_mcp.state.sqlite import SQLiteStore
from tests.redis_server import RedisServer

pytestmark = pytest.mark.anyio

ACCOUNT = account_key("2_AppID_SANDBOX")
OTHER = account_key("another-account")
WINDOW_S = 2
TIMING_SLACK_S = 0.05  # a grant is timed when acquire returns, a little after it was recorded


def governor(store: Store, *, limit: int = 60, wait_max_s: float = 0.5) -> Governor:
    return Governor(moving_window_for(store), limit=limit, window_s=WINDOW_S, wait_max_s=wait_max_s)


def most_in_any_window(times: list[float], window_s: float) -> int:
    """The largest number of ``times`` inside one rolling window (less the timing slack)."""
    ordered = sorted(times)
    most, start = 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= window_s - TIMING_SLACK_S:
            start += 1
        most = max(most, end - start + 1)
    return most


async def burst(governors: list[Governor], count: int, account: str = ACCOUNT) -> dict[str, list]:
    """``count`` concurrent acquisitions spread over ``governors``; grant times, refusals, and
    how long each call took."""
    outcome: dict[str, list] = {"granted": [], "refused": [], "took": []}

    async def one(index: int) -> None:
        started = time.monotonic()
        try:
            await governors[index % len(governors)].acquire(account)
        except RateBudgetExhausted as refused:
            outcome["refused"].append(refused.retry_after_s)
        else:
            outcome["granted"].append(time.monotonic())
        outcome["took"].append(time.monotonic() - started)

    async with anyio.create_task_group() as group:
        for index in range(count):
            group.start_soon(one, index)
    return outcome


async def test_a_burst_never_exceeds_the_budget_in_any_window(store: Store) -> None:
    rate = governor(store, limit=60, wait_max_s=0.5)
    granted: list[float] = []
    for _round in range(3):  # 3 × 100 requests, one second apart: 300 over ~2.5 windows
        outcome = await burst([rate], 100)
        granted += outcome["granted"]
        assert all(0 < retry <= WINDOW_S + 0.1 for retry in outcome["refused"])
        assert max(outcome["took"]) < 0.5 + 0.4  # waits are bounded by wait_max_s
        await anyio.sleep(1.0)
    assert most_in_any_window(granted, WINDOW_S) <= 60
    assert len(granted) >= 120  # and the budget is used: a new window's worth was granted


async def test_a_request_waits_for_a_slot_that_frees_in_time(store: Store) -> None:
    rate = governor(store, limit=5, wait_max_s=2.5)
    for _ in range(5):
        await rate.acquire(ACCOUNT)
    started = time.monotonic()
    await rate.acquire(ACCOUNT)  # the first slot frees ~2 s later: within 2.5 s, so it waits
    waited = time.monotonic() - started
    assert 1.5 < waited < 2.5


async def test_a_request_is_refused_at_once_when_no_slot_frees_in_time(store: Store) -> None:
    rate = governor(store, limit=5, wait_max_s=0.3)
    for _ in range(5):
        await rate.acquire(ACCOUNT)
    started = time.monotonic()
    with pytest.raises(RateBudgetExhausted) as refused:
        await rate.acquire(ACCOUNT)
    assert time.monotonic() - started < 0.2  # not slept on: refused at once
    assert 1.5 < refused.value.retry_after_s <= WINDOW_S
    assert refused.value.limit == 5 and "try again in" in str(refused.value)
    await rate.acquire(OTHER)  # another account has its own budget


async def test_two_governors_on_one_store_share_the_budget(
    store: Store, request: pytest.FixtureRequest
) -> None:
    """Two "replicas" (two connections, two governors) spend one budget."""
    if isinstance(store, SQLiteStore):
        twin: Store = SQLiteStore(store.path)
    else:
        assert isinstance(store, RedisStore)
        server: RedisServer = request.getfixturevalue("redis_server")
        twin = RedisStore(server.url, namespace=store.namespace)
    try:
        outcome = await burst([governor(store, limit=30), governor(twin, limit=30)], 80)
        assert len(outcome["granted"]) == 30
        assert len(outcome["refused"]) == 50
    finally:
        await twin.aclose()


async def test_observed_headers_tighten_the_budget(store: Store) -> None:
    rate = governor(store, limit=60, wait_max_s=0)
    await rate.observe(ACCOUNT, {"X-Rate-Limit-Limit": "10", "X-Rate-Limit-Remaining": "10"})
    assert rate.limit_for(ACCOUNT) == 10
    await rate.observe(ACCOUNT, {"x-rate-limit-limit": "500"})  # never loosened past the setting
    assert rate.limit_for(ACCOUNT) == 10
    for _ in range(4):
        await rate.acquire(ACCOUNT)
    # other clients of the account spent more: Ontraport says 3 left, the window thought 6
    await rate.observe(ACCOUNT, {"X-Rate-Limit-Remaining": "3", "X-Rate-Limit-Reset": "40"})
    assert await rate.remaining(ACCOUNT) == 3
    for _ in range(3):
        await rate.acquire(ACCOUNT)
    with pytest.raises(RateBudgetExhausted):
        await rate.acquire(ACCOUNT)
    assert rate.limit_for(OTHER) == 60


async def test_remaining_zero_holds_the_account_for_the_reset(store: Store) -> None:
    rate = governor(store, limit=60, wait_max_s=0)
    await rate.observe(ACCOUNT, {"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": "1.5"})
    with pytest.raises(RateBudgetExhausted) as refused:
        await rate.acquire(ACCOUNT)
    assert 1.0 < refused.value.retry_after_s <= 1.5


async def test_malformed_headers_are_ignored(store: Store) -> None:
    rate = governor(store, limit=60)
    await rate.observe(
        ACCOUNT,
        {"X-Rate-Limit-Limit": "lots", "X-Rate-Limit-Remaining": "nan", "X-Rate-Limit-Reset": ""},
    )
    assert rate.limit_for(ACCOUNT) == 60 and await rate.remaining(ACCOUNT) == 60


async def test_the_account_must_be_a_digest(store: Store) -> None:
    rate = governor(store)
    for credential in ("2_AppID_SANDBOX", "sandbox-key", "", "A" * 32):
        with pytest.raises(ValueError, match="account digest"):
            await rate.acquire(credential)
        with pytest.raises(ValueError, match="account digest"):
            await rate.observe(credential, {"X-Rate-Limit-Limit": "10"})
    assert account_key("x") == account_key("x") != account_key("y")


async def test_redis_down_is_unavailable_so_the_caller_decides(tmp_path: Path) -> None:
    with RedisServer.start(tmp_path / "redis") as server:
        store = RedisStore(server.url)
        rate = governor(store)
        await rate.acquire(ACCOUNT)
        server.stop()
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as raised:
            await rate.acquire(ACCOUNT)
        assert time.monotonic() - started < 3.0
        assert "127.0.0.1" not in str(raised.value)
        with pytest.raises(StoreUnavailable):
            await rate.observe(ACCOUNT, {"X-Rate-Limit-Remaining": "1"})
        await store.aclose()


async def test_sqlite_window_unusable_file_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "dir.sqlite3").mkdir()
    rate = Governor(SQLiteMovingWindow(SQLiteStore(tmp_path / "dir.sqlite3")), limit=5)
    with pytest.raises(StoreUnavailable, match="--store"):
        await rate.acquire(ACCOUNT)


def test_limits_are_validated() -> None:
    store = SQLiteStore("/nonexistent/never-opened.sqlite3")
    with pytest.raises(ValueError):
        Governor(moving_window_for(store), limit=0)
    with pytest.raises(TypeError):
        moving_window_for(object())  # type: ignore[arg-type]


class CountingWindow:
    """A moving window that counts the store steps the governor takes."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.steps = 0

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        self.steps += 1
        return await self.inner.acquire_entry(key, limit, expiry, amount)  # type: ignore[attr-defined]

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        self.steps += 1
        return await self.inner.get_moving_window(key, limit, expiry)  # type: ignore[attr-defined]


async def test_a_busy_account_leases_slots_and_a_quiet_one_wastes_none(store: Store) -> None:
    """Under load the store sees one step per lease (up to 16 slots), not one per request; a
    request that comes alone takes exactly one slot; every leased slot stays counted."""
    window = CountingWindow(moving_window_for(store))
    busy = Governor(window, limit=100_000, window_s=WINDOW_S, margin_s=1)  # type: ignore[arg-type]
    for _ in range(400):
        await busy.acquire(ACCOUNT)
    assert window.steps < 400 / 8, window.steps
    assert await busy.remaining(ACCOUNT) <= 100_000 - 400

    quiet = Governor(moving_window_for(store), limit=180, window_s=WINDOW_S, margin_s=1)
    for _ in range(3):
        await quiet.acquire(OTHER)
        await anyio.sleep(0.06)  # further apart than a busy account's requests
    assert await quiet.remaining(OTHER) == 180 - 3


async def test_no_leases_without_the_margin_that_makes_them_safe(store: Store) -> None:
    window = CountingWindow(moving_window_for(store))
    strict = Governor(window, limit=100_000, window_s=WINDOW_S)  # type: ignore[arg-type]
    for _ in range(50):
        await strict.acquire(ACCOUNT)
    assert window.steps == 50
