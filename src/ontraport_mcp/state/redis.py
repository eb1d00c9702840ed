"""The shared backend: Redis 7, for several replicas on several hosts.

Each ``Store`` step is one Redis command or one ``MULTI`` transaction, so it is atomic on the
server whatever the number of replicas:

* ``claim`` = ``SET key value NX [PX ms]``: exactly one racer gets OK;
* ``take`` = ``GETDEL``: one racer gets the value, the others nil;
* ``incr`` = ``MULTI; SET key 0 NX [PX ms]; INCRBY key n; EXEC``: the counter is created with its
  expiry in the same transaction as the first increment, so it can never be left without one;
* ``scan`` = ``SCAN MATCH <prefix>*`` (the prefix's glob characters escaped) + ``MGET`` in chunks;
  it keeps only the ``limit`` smallest keys in memory.

Every key lives under a namespace prefix (``ontraport-mcp:`` by default) so one Redis can serve
other applications, or several deployments, without collisions.

Failing fast and failing closed: short socket and connect timeouts (1 s by default) and one retry
(a pooled connection that died with a Redis restart is reopened once), then ``StoreUnavailable``.
The URL may hold a password: it is never put in a message, a log line or ``health()``; an error
names only the failure's kind (``ConnectionError``, ``TimeoutError``, …).

One event loop: redis-py's asyncio connections belong to the loop that opened them, so open the
store in the loop that serves requests (the server's lifespan) and close it there.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis import exceptions as redis_errors
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from .store import StoreUnavailable

T = TypeVar("T")

DEFAULT_NAMESPACE = "ontraport-mcp:"
SOCKET_TIMEOUT_S = 1.0
SCAN_COUNT = 500
"""Keys Redis examines per ``SCAN`` call: the round-trip/latency trade-off of ``scan``."""
MGET_CHUNK = 500

GLOB_SPECIALS = "\\*?[]"


def glob_escape(text: str) -> str:
    """``text`` as a literal in a Redis ``MATCH`` pattern."""
    return "".join("\\" + char if char in GLOB_SPECIALS else char for char in text)


def milliseconds(ttl_s: float | None) -> int | None:
    """A time to live in whole milliseconds, rounded up (a TTL never ends early)."""
    if ttl_s is None:
        return None
    if ttl_s <= 0:
        raise ValueError("ttl_s must be positive (or None to keep the value until deleted)")
    return max(1, math.ceil(ttl_s * 1000))


class RedisStore:
    """The ``Store`` contract over Redis (see the module docstring for each step's command)."""

    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        socket_timeout_s: float = SOCKET_TIMEOUT_S,
    ) -> None:
        self.namespace = namespace
        try:
            self._client: Redis = Redis.from_url(
                url,
                socket_timeout=socket_timeout_s,
                socket_connect_timeout=socket_timeout_s,
                retry=Retry(NoBackoff(), 1),
                retry_on_error=[redis_errors.ConnectionError, redis_errors.TimeoutError],
                health_check_interval=30,
            )
        except (ValueError, redis_errors.RedisError):
            # The library's message may quote the URL (and so a password): say what is wrong
            # without it.
            raise ValueError(
                "--store: not a valid Redis URL (expected redis://[:password@]host:port/db or "
                "rediss://…)"
            ) from None

    @property
    def connection_pool(self) -> ConnectionPool:
        """The client's pool (timeouts, retry and credentials included), for companions that talk
        to the same Redis without ever seeing the URL: the rate governor's ``limits`` storage."""
        return self._client.connection_pool

    def _key(self, key: str) -> str:
        return self.namespace + key

    async def _run(self, step: Callable[[], Awaitable[T]]) -> T:
        """Await one Redis step, turning every connection/server failure into
        ``StoreUnavailable`` whose message holds no URL and no library text."""
        try:
            return await step()
        except (redis_errors.RedisError, OSError, TimeoutError) as error:
            raise StoreUnavailable(
                f"The Redis state store did not answer ({type(error).__name__}): check that Redis "
                "is running and reachable from this server, and the --store setting."
            ) from None

    # --- the Store contract -------------------------------------------------------------------

    async def get(self, key: str) -> bytes | None:
        """The value, or None when absent or expired."""
        value = await self._run(lambda: self._client.get(self._key(key)))
        return None if value is None else bytes(value)

    async def put(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None:
        """Write (overwrite) a value; ``ttl_s`` None keeps it until deleted."""
        px = milliseconds(ttl_s)
        await self._run(lambda: self._client.set(self._key(key), bytes(value), px=px))

    async def claim(self, key: str, value: bytes, *, ttl_s: float | None = None) -> bool:
        """Write only if absent (or expired), atomically; True when this caller wrote it."""
        px = milliseconds(ttl_s)
        won = await self._run(
            lambda: self._client.set(self._key(key), bytes(value), nx=True, px=px)
        )
        return bool(won)

    async def take(self, key: str) -> bytes | None:
        """Read and delete atomically; None when absent or expired (or taken by another)."""
        value = await self._run(lambda: self._client.getdel(self._key(key)))
        return None if value is None else bytes(value)

    async def delete(self, key: str) -> bool:
        """Delete; True when a live value was there."""
        removed = await self._run(lambda: self._client.delete(self._key(key)))
        return int(removed) > 0

    async def incr(self, key: str, amount: int = 1, *, ttl_s: float | None = None) -> int:
        """Add to an integer counter and return the new value; a new counter gets ``ttl_s``.

        A value that is not an integer raises ``ValueError`` (a caller bug, not an outage)."""
        px = milliseconds(ttl_s)
        name = self._key(key)

        async def step() -> list[Any]:
            async with self._client.pipeline(transaction=True) as pipeline:
                pipeline.set(name, 0, nx=True, px=px)
                pipeline.incrby(name, amount)
                return list(await pipeline.execute(raise_on_error=False))

        results = await self._run(step)
        total = results[-1]
        if isinstance(total, redis_errors.ResponseError):
            if "not an integer" in str(total):
                raise ValueError(f"incr: the value at {key!r} is not an integer")
            raise StoreUnavailable(
                "The Redis state store refused a write (ResponseError): check its memory limit "
                "and that it is a writable primary."
            )
        return int(total)

    async def scan(self, prefix: str, *, limit: int = 1000) -> list[tuple[str, bytes]]:
        """Live keys starting with ``prefix`` and their values, sorted by key, at most ``limit``.

        SCAN returns keys in no order, so every matching key is visited (``SCAN_COUNT`` per round
        trip), but only the ``limit`` smallest are kept; a key that expires between SCAN and MGET
        is left out, as an expired key should be."""
        if limit <= 0:
            return []
        pattern = glob_escape(self._key(prefix)) + "*"
        cut = len(self.namespace)

        async def collect() -> list[str]:
            smallest: list[_Descending] = []  # the kept keys; the largest on top
            kept: set[str] = set()  # the same keys: SCAN may return a key twice
            async for raw in self._client.scan_iter(match=pattern, count=SCAN_COUNT):
                key = (raw.decode() if isinstance(raw, bytes) else str(raw))[cut:]
                if key in kept or (len(smallest) >= limit and key > smallest[0].key):
                    continue
                kept.add(key)
                if len(smallest) < limit:
                    heapq.heappush(smallest, _Descending(key))
                else:
                    kept.discard(heapq.heapreplace(smallest, _Descending(key)).key)
            return sorted(kept)

        async def fetch() -> list[tuple[str, bytes]]:
            keys, found = await collect(), []
            for start in range(0, len(keys), MGET_CHUNK):
                chunk = keys[start : start + MGET_CHUNK]
                values = await self._client.mget([self._key(key) for key in chunk])
                found += [
                    (k, bytes(v)) for k, v in zip(chunk, values, strict=True) if v is not None
                ]
            return found

        return await self._run(fetch)

    async def health(self) -> dict[str, object]:
        """``{"backend": "redis", "ok": bool, "latency_ms": …}``; never the URL; never raises."""
        started = time.perf_counter()
        try:
            await self._run(lambda: self._client.ping())
        except StoreUnavailable as error:
            return {"backend": self.name, "ok": False, "error": str(error)}
        latency_ms = round((time.perf_counter() - started) * 1000, 3)
        return {"backend": self.name, "ok": True, "latency_ms": latency_ms}

    async def aclose(self) -> None:
        """Close the connection pool."""
        try:
            await self._client.aclose()
        except (redis_errors.RedisError, OSError):
            pass


class _Descending:
    """A key that sorts in reverse, so ``heapq`` (a min-heap) keeps the largest kept key on top."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key

    def __lt__(self, other: _Descending) -> bool:
        return self.key > other.key
