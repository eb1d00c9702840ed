"""The per-Ontraport-account request budget, shared by every worker and every replica.

Ontraport allows 180 requests per *rolling* minute per account (``X-Rate-Limit-*`` headers on
every response, 429 beyond), whoever sends them.  The governor spends that budget before the
request leaves: reads and writes alike take one entry; a request beyond the budget waits while a
slot frees within ``wait_max_s`` (2 s by default), or is refused at once with the time until one
frees (``RateBudgetExhausted.retry_after_s``, which the caller turns into ``rate_limited``).

Why a moving window, and which code keeps it:

* **Exact, because Ontraport's window rolls.**  A fixed window lets 2 × the budget through
  around a boundary, and the sliding-window *counter* (a weighted previous window) can let
  ~1.5 × through in some rolling minute: either earns real 429s.  A moving window (a log of the
  grant times, at most ``limit`` long) never grants more than ``limit`` in any ``window_s``.
* **Redis: the ``limits`` package.**  Its ``RedisStorage`` keeps the log in a list and checks and
  appends in one Lua script, atomic on the server: replicas on several hosts share it, one round
  trip per request.  It runs over the ``RedisStore``'s own connection pool (same timeouts, same
  credentials, the URL never copied), under the store's namespace.  Grant times are the
  replicas' wall clocks: keep them in sync (NTP), as any distributed limiter needs.
* **SQLite: the same algorithm, same semantics, in the state file.**  ``limits`` has no SQLite
  storage, and its memory storage is per process: ``serve --workers N`` would then spend N
  budgets.  ``SQLiteMovingWindow`` keeps the log (and a live count per
  account, so a decision costs the same at any budget) in tables of the store's file and checks
  and appends in one ``BEGIN IMMEDIATE`` transaction, so every worker of the host shares one
  budget.  It answers ``acquire_entry``/``get_moving_window`` exactly as ``limits``'
  Lua scripts do, so the governor cannot tell the two apart (the contract tests run both).

A running server holds each grant ``ARRIVAL_MARGIN_S`` (1 s) past the window: grants are
recorded when a request leaves, Ontraport counts it when it arrives (see the constant).

Tightening from Ontraport's headers (``observe``): a lower ``X-Rate-Limit-Limit`` lowers this
account's budget (never above the configured one); an ``X-Rate-Limit-Remaining`` below what the
window has left fills the gap (other clients of the account spend the same budget); a remaining
of 0 holds the account for ``X-Rate-Limit-Reset`` seconds.  Learned limits and holds live in this
process (each replica sees its own responses); the fill lives in the shared window.

Account keys: the caller passes an account identity that is already a hash (``account_key``
makes one from the App ID), never a credential; a key that does not look like one is refused.

A store that cannot be reached raises ``StoreUnavailable``: the caller decides (fail closed for
money and destructive tools, let reads through).
"""

from __future__ import annotations

import hashlib
import math
import random
import re
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol, TypeVar

import anyio
from limits.aio.storage import RedisStorage
from limits.errors import StorageError
from redis import exceptions as redis_errors

from .redis import RedisStore
from .sqlite import SQLiteStore
from .store import Store, StoreUnavailable

T = TypeVar("T")

DEFAULT_WINDOW_S = 60
MIN_RETRY_S = 0.01
"""The shortest wait before trying again (a slot freeing "now" is still a round trip away)."""
JITTER_S = 0.02
"""Up to this much random delay is added to a wait, so waiters do not all retry at one instant."""
MAX_ATTEMPTS = 50
"""A hard bound on the wait loop, on top of the ``wait_max_s`` deadline."""
LEARNED_TTL_S = 600.0
"""A limit learned from ``X-Rate-Limit-Limit`` is trusted this long, then learned again."""
ARRIVAL_MARGIN_S = 1
"""A running server keeps each grant in its window this much longer than Ontraport's window.
The governor records a grant when the request *leaves*; Ontraport counts it when it *arrives*,
a round trip's share later.  Without a margin, a slot freed here at the exact end of the window
can reach Ontraport a few milliseconds before its own entry expires there (a later request
travelling faster than the earlier one), and earn a real 429 at full load.  One second covers
any latency jitter worth serving through, and costs at most 1/61 of the budget at saturation."""
RECONCILE_BELOW = 0.5
"""``observe`` compares the window with Ontraport's ``X-Rate-Limit-Remaining`` only once that is
at most this share of the budget: above it, a later answer (every one is observed) reconciles
before the budget runs out — short of a burst of over half the budget in flight at once, which
reconciling now would not stop either — and a busy account saves a store read per request."""
MAX_ACCOUNTS_TRACKED = 10_000
# Leases: a busy account takes several slots of its shared window in one store step and hands
# them out in this process, so the store sees one transaction per lease, not one per request.
# A leased slot is recorded in the window when leased; unused after LEASE_LIFE_S it is dropped
# (it stays counted: conservative), and it is always used well inside the ARRIVAL_MARGIN_S a
# grant is held past the window, so no rolling minute can hold more than the budget.  An account
# is busy when its requests come closer than BUSY_GAP_S: then each lease doubles, up to
# LEASE_MAX and never more than 1/LEASE_SHARE of the budget; a quiet account leases one slot
# at a time and wastes none.
LEASE_MAX = 64
LEASE_LIFE_S = 0.5
LEASE_SHARE = 20
BUSY_GAP_S = 0.05
"""Learned limits and holds kept per process (the oldest are forgotten first)."""
ACCOUNT_KEY = re.compile(r"[0-9a-f]{16,128}")


def account_key(app_id: str) -> str:
    """The governor's key for an Ontraport account: a digest of its App ID.  Every API key of
    one account shares the budget (it is Ontraport's per-account limit); the App ID itself never
    reaches the store."""
    return hashlib.sha256(f"ontraport-account:{app_id}".encode()).hexdigest()[:32]


class RateBudgetExhausted(Exception):
    """The account's budget is spent; a slot frees in ``retry_after_s`` seconds."""

    def __init__(self, retry_after_s: float, *, limit: int, window_s: int) -> None:
        self.retry_after_s = retry_after_s
        self.limit = limit
        self.window_s = window_s
        super().__init__(
            f"This Ontraport account's budget of {limit} requests per {window_s} s is spent; "
            f"try again in {retry_after_s:g} s."
        )


class MovingWindow(Protocol):
    """The two calls of ``limits``' moving-window storages that the governor uses.

    ``acquire_entry``: when fewer than ``limit`` entries are younger than ``expiry`` seconds,
    record ``amount`` entries now and answer True; else False.  ``get_moving_window``: among the
    newest ``limit`` entries younger than ``expiry``, (the oldest one's time, how many); (now, 0)
    when there are none."""

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool: ...

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]: ...


class SQLiteMovingWindow:
    """``limits``' moving window over two tables of the SQLite state file (see the module
    docstring for why), shared by every process of the host through ``BEGIN IMMEDIATE``.

    ``rate_log`` holds each grant's time; ``rate_count`` each account's number of live grants
    and its newest.  Each call first drops the account's grants older than the window (a range
    of the ``(key, at)`` index) and takes them off the count, so deciding costs the same however
    large the budget: no step reads more than the grants that just expired (a budget of
    millions a minute, as the benchmark sets, stays as cheap as Ontraport's 180).  Accounts idle
    for a whole window are dropped a bounded batch at a time."""

    SCHEMA = (
        "CREATE TABLE IF NOT EXISTS rate_log (key TEXT NOT NULL, at REAL NOT NULL)",
        "CREATE INDEX IF NOT EXISTS rate_log_key_at ON rate_log(key, at)",
        "CREATE TABLE IF NOT EXISTS rate_count (key TEXT PRIMARY KEY, n INTEGER NOT NULL, "
        "newest REAL NOT NULL)",
        "CREATE INDEX IF NOT EXISTS rate_count_newest ON rate_count(newest)",
    )
    SWEEP_BATCH = 100
    """Idle accounts dropped per sweep at most (bounded work)."""
    SWEEP_EVERY = 1000
    """A sweep of idle accounts runs once every this many acquisitions (per process)."""
    IDLE_AFTER_S = 3600.0
    """An account with no grant for this long (longer than any window) is dropped entirely."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store
        self._ready = False
        self._acquisitions = 0

    async def _transaction(self, step: Callable[[sqlite3.Connection], T]) -> T:
        """The step right on the event loop when the file is free (``transaction_now``: the
        step is far cheaper than a hand-off to the store's thread), else in that thread."""
        done, result = self.store.transaction_now(step)
        if done:
            return result  # type: ignore[return-value]  # done: the step's own result
        return await self.store.transaction(step)

    def _prepare(self, connection: sqlite3.Connection) -> None:
        if not self._ready:
            for statement in self.SCHEMA:
                connection.execute(statement)
            self._ready = True

    def _live(self, connection: sqlite3.Connection, key: str, since: float) -> int:
        """Drop ``key``'s grants older than ``since`` and return how many are left."""
        dropped = connection.execute(
            "DELETE FROM rate_log WHERE key = ? AND at < ?", (key, since)
        ).rowcount
        row = connection.execute("SELECT n FROM rate_count WHERE key = ?", (key,)).fetchone()
        if row is None:
            return 0
        live = max(0, int(row[0]) - max(0, dropped))
        if dropped > 0:
            connection.execute("UPDATE rate_count SET n = ? WHERE key = ?", (live, key))
        return live

    def _sweep_idle(self, connection: sqlite3.Connection, now: float) -> None:
        idle = connection.execute(
            "SELECT key FROM rate_count WHERE newest < ? LIMIT ?",
            (now - self.IDLE_AFTER_S, self.SWEEP_BATCH),
        ).fetchall()
        for (key,) in idle:
            connection.execute("DELETE FROM rate_log WHERE key = ?", (key,))
            connection.execute("DELETE FROM rate_count WHERE key = ?", (key,))

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Record ``amount`` entries now when the window has room for them (atomically)."""
        if amount > limit:
            return False

        def step(connection: sqlite3.Connection) -> bool:
            self._prepare(connection)
            now = self.store.clock()
            self._acquisitions += 1
            if self._acquisitions % self.SWEEP_EVERY == 0:
                self._sweep_idle(connection, now)
            used = self._live(connection, key, now - expiry)
            if used > limit - amount:
                return False
            connection.executemany(
                "INSERT INTO rate_log (key, at) VALUES (?, ?)", [(key, now)] * amount
            )
            connection.execute(
                "INSERT INTO rate_count (key, n, newest) VALUES (?, ?, ?) ON CONFLICT(key) DO "
                "UPDATE SET n = ?, newest = excluded.newest",
                (key, used + amount, now, used + amount),
            )
            return True

        return await self._transaction(step)

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(the oldest of the newest ``limit`` live entries, their count), or (now, 0)."""

        def step(connection: sqlite3.Connection) -> tuple[float, int]:
            self._prepare(connection)
            now = self.store.clock()
            used = self._live(connection, key, now - expiry)
            if used == 0:
                return now, 0
            if used <= limit:
                (oldest,) = connection.execute(
                    "SELECT MIN(at) FROM rate_log WHERE key = ?", (key,)
                ).fetchone()
            else:  # more live grants than a lowered (learned) limit: the limit-th newest
                (oldest,) = connection.execute(
                    "SELECT at FROM rate_log WHERE key = ? ORDER BY at DESC LIMIT 1 OFFSET ?",
                    (key, limit - 1),
                ).fetchone()
            return float(oldest), min(used, limit)

        return await self._transaction(step)


def moving_window_for(store: Store) -> MovingWindow:
    """The shared moving-window storage that goes with ``store`` (see the module docstring)."""
    if isinstance(store, SQLiteStore):
        return SQLiteMovingWindow(store)
    if isinstance(store, RedisStore):
        storage: MovingWindow = RedisStorage(
            "async+redis://",  # the pool carries the address and credentials
            implementation="redispy",
            key_prefix=store.namespace.rstrip(":"),
            # a documented option (passed to redis-py), typed narrower in limits' stubs
            connection_pool=store.connection_pool,  # type: ignore[arg-type]
        )
        return storage
    raise TypeError(f"no rate window storage for a {type(store).__name__} store")


class Governor:
    """The request budget of each Ontraport account (see the module docstring)."""

    def __init__(
        self,
        window: MovingWindow,
        *,
        limit: int = 180,
        window_s: int = DEFAULT_WINDOW_S,
        wait_max_s: float = 2.0,
        margin_s: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window_s < 1 or wait_max_s < 0 or margin_s < 0:
            raise ValueError(
                "the rate budget needs limit >= 1, window_s >= 1, wait_max_s >= 0, margin_s >= 0"
            )
        self.window = window
        self.limit = limit
        self.window_s = int(window_s)  # the upstream's window, as messages state it
        # how long a grant counts here: the window plus the arrival margin (ARRIVAL_MARGIN_S)
        self.expiry_s = self.window_s + int(margin_s)
        self.wait_max_s = wait_max_s
        self._clock = clock
        self._learned: OrderedDict[str, tuple[int, float]] = OrderedDict()  # limit, until
        self._holds: OrderedDict[str, float] = OrderedDict()  # until (monotonic)
        # leases only when a leased slot is surely used inside the margin a grant is held
        self._lease_max = LEASE_MAX if margin_s >= LEASE_LIFE_S else 1
        # slots leased from the shared window: left, expires at, size, last request (monotonic)
        self._leases: OrderedDict[str, tuple[int, float, int, float]] = OrderedDict()

    @classmethod
    def for_store(cls, store: Store, *, per_minute: int = 180, wait_max_s: float = 2.0) -> Governor:
        """The governor of a running server: ``Settings.rate_limit_per_minute`` over one minute
        (held ``ARRIVAL_MARGIN_S`` longer), sharing ``store``'s backend."""
        return cls(
            moving_window_for(store),
            limit=per_minute,
            wait_max_s=wait_max_s,
            margin_s=ARRIVAL_MARGIN_S,
        )

    # --- spending ----------------------------------------------------------------------------

    async def acquire(self, account: str) -> None:
        """Take one request from ``account``'s budget, waiting at most ``wait_max_s`` for a slot;
        raise ``RateBudgetExhausted`` (at once when no slot frees in time) or
        ``StoreUnavailable``."""
        now = self._clock()
        if self._from_lease(account, now):  # only a key that passed _key below holds a lease
            return
        key = self._key(account)
        deadline = now + self.wait_max_s
        retry_after = MIN_RETRY_S
        for _attempt in range(MAX_ATTEMPTS):
            limit = self.limit_for(account)
            retry_after = self._held_for(account)
            if retry_after <= 0:
                size = self._lease_size(account, limit)
                for amount in dict.fromkeys((size, 1)):  # a whole lease, else one slot
                    if await _guarded(self.window.acquire_entry(key, limit, self.expiry_s, amount)):
                        self._lease(account, amount)
                        return
                retry_after = await self._until_a_slot_frees(key, limit)
            if retry_after > deadline - self._clock():
                break
            await anyio.sleep(retry_after + random.uniform(0, JITTER_S))
        raise RateBudgetExhausted(
            _round_up(retry_after), limit=self.limit_for(account), window_s=self.window_s
        )

    async def remaining(self, account: str) -> int:
        """How many requests ``account`` may still send in the current window (for /health and
        tests; a snapshot, not a reservation)."""
        limit = self.limit_for(account)
        _oldest, used = await _guarded(
            self.window.get_moving_window(self._key(account), limit, self.expiry_s)
        )
        return max(0, limit - used)

    # --- learning from Ontraport -------------------------------------------------------------

    async def observe(self, account: str, headers: Mapping[str, str]) -> None:
        """Tighten ``account``'s budget from a response's ``X-Rate-Limit-*`` headers (any case;
        missing or malformed values are ignored)."""
        key = self._key(account)
        values = {name.lower(): value for name, value in headers.items()}
        limit_header = _number(values.get("x-rate-limit-limit"))
        remaining_header = _number(values.get("x-rate-limit-remaining"))
        reset_header = _number(values.get("x-rate-limit-reset"))
        now = self._clock()
        if limit_header is not None and 1 <= limit_header < self.limit:
            _remember(self._learned, account, (int(limit_header), now + LEARNED_TTL_S))
        if remaining_header is None:
            return
        if remaining_header <= 0:
            hold_s = reset_header if reset_header is not None and reset_header > 0 else 1.0
            _remember(self._holds, account, now + min(hold_s, float(self.window_s)))
        if remaining_header > self.limit_for(account) * RECONCILE_BELOW:
            return  # plenty left: the next answers reconcile long before the budget runs out
        left = await self.remaining(account)
        gap = left - max(0, int(remaining_header))
        if gap > 0:
            limit = self.limit_for(account)
            await _guarded(self.window.acquire_entry(key, limit, self.expiry_s, gap))

    def limit_for(self, account: str) -> int:
        """The budget now in force for ``account``: the configured one, or lower if learned."""
        learned = self._learned.get(account)
        if learned is None:
            return self.limit
        limit, until = learned
        if until <= self._clock():
            self._learned.pop(account, None)
            return self.limit
        return min(limit, self.limit)

    # --- internals ---------------------------------------------------------------------------

    def _from_lease(self, account: str, now: float) -> bool:
        """Spend a leased slot (no store step) when one is left and fresh, and no hold stands."""
        lease = self._leases.get(account)
        if lease is None or lease[0] <= 0 or lease[1] <= now or self._held_for(account) > 0:
            return False
        left, expires, size, _last = lease
        self._leases[account] = (left - 1, expires, size, now)
        return True

    def _lease_size(self, account: str, limit: int) -> int:
        lease = self._leases.get(account)
        busy = lease is not None and self._clock() - lease[3] < BUSY_GAP_S
        size = min(self._lease_max, lease[2] * 2) if busy and lease is not None else 1
        return max(1, min(size, limit // LEASE_SHARE))

    def _lease(self, account: str, amount: int) -> None:
        now = self._clock()
        _remember(self._leases, account, (amount - 1, now + LEASE_LIFE_S, amount, now))

    @staticmethod
    def _key(account: str) -> str:
        if not ACCOUNT_KEY.fullmatch(account):
            raise ValueError(
                "the governor takes an account digest (account_key(app_id)), never an App ID or "
                "a key"
            )
        return f"rate:{account}"

    def _held_for(self, account: str) -> float:
        until = self._holds.get(account)
        if until is None:
            return 0.0
        left = until - self._clock()
        if left <= 0:
            self._holds.pop(account, None)
        return left

    async def _until_a_slot_frees(self, key: str, limit: int) -> float:
        oldest, used = await _guarded(self.window.get_moving_window(key, limit, self.expiry_s))
        if used < limit:
            return MIN_RETRY_S  # a slot freed since the refusal: try again at once
        return max(MIN_RETRY_S, oldest + self.expiry_s - time.time())


async def _guarded(call: Awaitable[T]) -> T:
    """Await a window call, turning the Redis client's and ``limits``' errors into
    ``StoreUnavailable`` (the SQLite window raises it already)."""
    try:
        return await call
    except (redis_errors.RedisError, StorageError, OSError, TimeoutError) as error:
        raise StoreUnavailable(
            f"The rate budget store did not answer ({type(error).__name__}): check that the "
            "state store (--store) is running and reachable."
        ) from None


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _remember(table: OrderedDict[str, T], account: str, value: T) -> None:
    table[account] = value
    table.move_to_end(account)
    while len(table) > MAX_ACCOUNTS_TRACKED:
        table.popitem(last=False)


def _round_up(seconds: float) -> float:
    """Seconds for ``retry_after_s``: two decimals, rounded up, never below ``MIN_RETRY_S``."""
    return max(MIN_RETRY_S, math.ceil(seconds * 100) / 100)
