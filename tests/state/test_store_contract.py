"""The ``Store`` contract, run against every backend (SQLite in a temp folder, a real Redis).

The atomic steps are tested by racing: many tasks on one store, and, for SQLite, several OS
processes on one file (what ``serve --workers N`` does).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import anyio
import pytest

from ontraport_mcp.state import Store, StoreUnavailable, open_store
from ontraport_mcp.state.redis import RedisStore
from ontraport_mcp.state.sqlite import SQLiteStore
from tests.redis_server import RedisServer

pytestmark = pytest.mark.anyio

RACERS = 40
T = TypeVar("T")


async def race(count: int, step: Callable[[int], Awaitable[T]]) -> list[T]:
    """Run ``step(i)`` for i in range(count) concurrently; the results in order."""
    results: dict[int, T] = {}

    async def one(index: int) -> None:
        results[index] = await step(index)

    async with anyio.create_task_group() as group:
        for index in range(count):
            group.start_soon(one, index)
    return [results[index] for index in range(count)]


async def test_put_get_overwrite_delete(store: Store) -> None:
    assert await store.get("confirm:a") is None
    await store.put("confirm:a", b"one")
    assert await store.get("confirm:a") == b"one"
    await store.put("confirm:a", b"two\x00\xff")
    assert await store.get("confirm:a") == b"two\x00\xff"
    assert await store.delete("confirm:a") is True
    assert await store.delete("confirm:a") is False
    assert await store.get("confirm:a") is None


async def test_expired_values_read_as_absent_everywhere(store: Store) -> None:
    await store.put("dup:short", b"x", ttl_s=0.3)
    await store.put("dup:claimed", b"x", ttl_s=0.3)
    await store.put("dup:taken", b"x", ttl_s=0.3)
    await store.put("dup:keep", b"k")
    assert await store.get("dup:short") == b"x"
    await anyio.sleep(0.45)
    assert await store.get("dup:short") is None
    assert await store.take("dup:taken") is None
    assert await store.claim("dup:claimed", b"new", ttl_s=10) is True
    assert await store.get("dup:claimed") == b"new"
    assert await store.delete("dup:short") is False
    assert await store.scan("dup:") == [("dup:claimed", b"new"), ("dup:keep", b"k")]


async def test_claim_is_exclusive_under_concurrency(store: Store) -> None:
    wins = await race(RACERS, lambda i: store.claim("dup:charge", f"{i}".encode(), ttl_s=60))
    winners = [index for index, won in enumerate(wins) if won is True]
    assert len(winners) == 1
    assert all(won in (True, False) for won in wins)
    assert await store.get("dup:charge") == f"{winners[0]}".encode()
    assert await store.claim("dup:charge", b"later") is False


async def test_take_is_single_use_under_races(store: Store) -> None:
    await store.put("confirm:token", b"payload", ttl_s=60)
    taken = await race(RACERS, lambda _i: store.take("confirm:token"))
    assert [value for value in taken if value is not None] == [b"payload"]
    assert await store.get("confirm:token") is None
    assert await store.take("confirm:token") is None


async def test_incr_counts_atomically_and_expires_new_counters(store: Store) -> None:
    assert await store.incr("rate:n", ttl_s=0.3) == 1
    totals = await race(RACERS, lambda _i: store.incr("rate:n", 2))
    assert sorted(totals) == list(range(3, 2 * RACERS + 2, 2))  # every step saw a distinct total
    assert await store.get("rate:n") == str(1 + 2 * RACERS).encode()
    await anyio.sleep(0.45)  # the TTL was set when the counter was created, not extended
    assert await store.get("rate:n") is None
    assert await store.incr("rate:n", 5) == 5
    assert await store.incr("rate:n", -7) == -2


async def test_incr_on_a_non_integer_is_a_caller_error(store: Store) -> None:
    await store.put("rate:text", b"not a number")
    with pytest.raises(ValueError, match="not an integer"):
        await store.incr("rate:text")
    assert await store.get("rate:text") == b"not a number"


async def test_scan_by_prefix_sorted_with_limit(store: Store) -> None:
    for key in ("oauth:grant:b", "oauth:grant:a", "oauth:grant:c", "oauth:code:a", "oauth:gr"):
        await store.put(key, key.encode())
    await store.put("oauth:grant:gone", b"x", ttl_s=0.2)
    # glob and LIKE wildcards in a prefix are literal
    await store.put("odd*[x]?_%:1", b"1")
    await store.put("odd*[x]?_%:2", b"2")
    await store.put("oddX[x]?_%:3", b"3")
    await anyio.sleep(0.3)
    assert await store.scan("oauth:grant:") == [
        ("oauth:grant:a", b"oauth:grant:a"),
        ("oauth:grant:b", b"oauth:grant:b"),
        ("oauth:grant:c", b"oauth:grant:c"),
    ]
    assert [key for key, _ in await store.scan("oauth:grant:", limit=2)] == [
        "oauth:grant:a",
        "oauth:grant:b",
    ]
    assert await store.scan("oauth:grant:", limit=0) == []
    assert await store.scan("odd*[x]?_%:") == [("odd*[x]?_%:1", b"1"), ("odd*[x]?_%:2", b"2")]
    assert await store.scan("nothing:") == []


async def test_scan_limit_keeps_the_smallest_keys_of_many(store: Store) -> None:
    names = [f"sess:{index:04d}" for index in range(1200)]
    for start in range(0, len(names), 100):
        async with anyio.create_task_group() as group:
            for name in names[start : start + 100]:
                group.start_soon(store.put, name, b"v")
    found = await store.scan("sess:", limit=7)
    assert [key for key, _ in found] == names[:7]
    assert len(await store.scan("sess:", limit=5000)) == 1200


async def test_health_reports_ok_without_secrets(store: Store) -> None:
    report = await store.health()
    assert report["backend"] == store.name and report["ok"] is True
    assert isinstance(report["latency_ms"], float)
    assert "url" not in report and "redis://" not in json.dumps(report)


async def test_a_ttl_must_be_positive(store: Store) -> None:
    with pytest.raises(ValueError, match="positive"):
        await store.put("x", b"1", ttl_s=0)
    with pytest.raises(ValueError, match="positive"):
        await store.claim("x", b"1", ttl_s=-1)


# --- SQLite: several processes of one host on one file -----------------------------------------

WORKER = textwrap.dedent(
    """
    import asyncio, json, os, sys, time
    from ontraport_mcp.state.sqlite import SQLiteStore

    async def main(path, go, rounds):
        store = SQLiteStore(path)
        deadline = time.monotonic() + 30
        while not os.path.exists(go) and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        claimed, taken = [], []
        for index in range(rounds):
            if await store.claim(f"dup:{index}", str(os.getpid()).encode()):
                claimed.append(index)
            if await store.take(f"confirm:{index}") is not None:
                taken.append(index)
            await store.incr("rate:shared")
        await store.aclose()
        print(json.dumps({"claimed": claimed, "taken": taken}))

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
    """
)


def test_sqlite_claim_take_incr_are_atomic_across_processes(tmp_path: Path) -> None:
    path, go, workers, rounds = tmp_path / "state.sqlite3", tmp_path / "go", 4, 150

    async def prepare() -> None:
        store = SQLiteStore(path)
        for index in range(rounds):
            await store.put(f"confirm:{index}", b"token")
        await store.aclose()

    anyio.run(prepare)
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(path), str(go), str(rounds)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
        )
        for _ in range(workers)
    ]
    try:
        time.sleep(0.5)  # let every worker import and wait at the start line
        go.touch()
        outputs = [process.communicate(timeout=120) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    results = []
    for (stdout, stderr), process in zip(outputs, processes, strict=True):
        assert process.returncode == 0, stderr.decode()[-2000:]
        results.append(json.loads(stdout))
    claimed = sorted(index for result in results for index in result["claimed"])
    taken = sorted(index for result in results for index in result["taken"])
    assert claimed == list(range(rounds))  # every key won exactly once
    assert taken == list(range(rounds))  # every token redeemed exactly once

    async def total() -> bytes | None:
        store = SQLiteStore(path)
        try:
            return await store.get("rate:shared")
        finally:
            await store.aclose()

    assert anyio.run(total) == str(workers * rounds).encode()


def test_sqlite_store_is_shared_by_event_loops_in_several_threads(tmp_path: Path) -> None:
    """A server thread and a test (or two servers in one process) may share one store object."""
    store = SQLiteStore(tmp_path / "state.sqlite3")
    failures: list[BaseException] = []

    def loop_in_a_thread() -> None:
        async def spend() -> None:
            async with anyio.create_task_group() as group:
                for _ in range(100):
                    group.start_soon(store.incr, "rate:shared")

        try:
            anyio.run(spend)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            failures.append(error)

    threads = [threading.Thread(target=loop_in_a_thread, daemon=True) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a loop is stuck on the store"
    assert failures == []
    assert anyio.run(store.get, "rate:shared") == b"300"
    anyio.run(store.aclose)


# --- SQLite: files it cannot use -----------------------------------------------------------------


async def test_sqlite_creates_a_private_folder_and_file(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "data" / "deep" / "state.sqlite3")
    await store.put("k", b"v")
    await store.aclose()
    assert stat.S_IMODE((tmp_path / "data" / "deep").stat().st_mode) == 0o700
    for name in ("state.sqlite3", "state.sqlite3-wal", "state.sqlite3-shm"):
        file = tmp_path / "data" / "deep" / name
        if file.exists():
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, name


def unusable_paths(tmp_path: Path) -> dict[str, Path]:
    """Paths the SQLite store cannot use, by what is wrong with them."""
    directory = tmp_path / "is-a-directory.sqlite3"
    directory.mkdir()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    corrupt = tmp_path / "corrupt.sqlite3"
    corrupt.write_bytes(b"this is not a SQLite database at all" * 200)
    return {
        "directory": directory,
        "parent is a file": blocker / "state.sqlite3",
        "corrupt": corrupt,
    }


@pytest.mark.parametrize("case", ["directory", "parent is a file", "corrupt"])
async def test_sqlite_unusable_file_is_unavailable_with_advice(tmp_path: Path, case: str) -> None:
    store = SQLiteStore(unusable_paths(tmp_path)[case])
    with pytest.raises(StoreUnavailable, match="--store") as raised:
        await store.put("k", b"v")
    assert "Traceback" not in str(raised.value) and raised.value.__cause__ is None
    with pytest.raises(StoreUnavailable):
        await store.claim("k", b"v")
    report = await store.health()
    assert report["ok"] is False and "--store" in str(report["error"])
    await store.aclose()


async def test_sqlite_corrupt_file_message_says_to_move_it_aside(tmp_path: Path) -> None:
    store = SQLiteStore(unusable_paths(tmp_path)["corrupt"])
    with pytest.raises(StoreUnavailable, match="move it aside"):
        await store.get("k")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes a read-only file anyway")
async def test_sqlite_read_only_file_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    store = SQLiteStore(path)
    await store.put("k", b"v")
    await store.aclose()
    for name in os.listdir(tmp_path):
        os.chmod(tmp_path / name, 0o400)
    os.chmod(tmp_path, 0o500)
    try:
        with pytest.raises(StoreUnavailable, match="read-only|cannot be opened"):
            await store.put("k", b"w")
    finally:
        os.chmod(tmp_path, 0o700)
    await store.aclose()


async def test_sqlite_sweeps_expired_rows(tmp_path: Path) -> None:
    now = [1000.0]
    store = SQLiteStore(tmp_path / "state.sqlite3", clock=lambda: now[0])
    for index in range(20):
        await store.put(f"k:{index}", b"v", ttl_s=10)
    await store.put("k:forever", b"v")
    now[0] += 11
    assert await store.sweep() == 20
    assert await store.scan("k:") == [("k:forever", b"v")]
    await store.aclose()


# --- Redis: losing the server ---------------------------------------------------------------------

SECRET = "s3cret-redis-password"


async def test_redis_stopped_mid_run_raises_unavailable_fast(tmp_path: Path) -> None:
    with RedisServer.start(tmp_path / "redis", password=SECRET) as server:
        store = RedisStore(server.url, namespace="mid-run:")
        await store.put("confirm:a", b"v")
        assert await store.get("confirm:a") == b"v"
        server.stop()
        for step in (
            lambda: store.get("confirm:a"),
            lambda: store.claim("dup:x", b"v"),
            lambda: store.take("confirm:a"),
            lambda: store.incr("rate:x", ttl_s=60),
            lambda: store.scan("confirm:"),
        ):
            started = time.monotonic()
            with pytest.raises(StoreUnavailable) as raised:
                await step()
            assert time.monotonic() - started < 3.0
            message = str(raised.value)
            assert (
                SECRET not in message and "redis://" not in message and "127.0.0.1" not in message
            )
            assert raised.value.__cause__ is None and raised.value.__suppress_context__
        report = await store.health()
        assert report["ok"] is False and SECRET not in json.dumps(report)
        await store.aclose()


async def test_redis_wrong_password_is_unavailable_without_echoing_it(tmp_path: Path) -> None:
    with RedisServer.start(tmp_path / "redis", password=SECRET) as server:
        store = RedisStore(server.url.replace(SECRET, "wrong-secret-key"))
        with pytest.raises(StoreUnavailable) as raised:
            await store.get("k")
        assert "wrong-secret-key" not in str(raised.value)
        await store.aclose()


def test_open_store_picks_the_backend(tmp_path: Path) -> None:
    assert isinstance(open_store(None, data_dir=str(tmp_path)), SQLiteStore)
    default = open_store(None, data_dir=str(tmp_path))
    assert isinstance(default, SQLiteStore) and default.path == tmp_path / "state.sqlite3"
    chosen = open_store(f"sqlite://{tmp_path}/other.sqlite3", data_dir="/unused")
    assert isinstance(chosen, SQLiteStore) and chosen.path == tmp_path / "other.sqlite3"
    assert isinstance(open_store("redis://:pw@127.0.0.1:1/0", data_dir="/unused"), RedisStore)
    with pytest.raises(ValueError, match="--store takes"):
        open_store("postgres://x", data_dir="/unused")
