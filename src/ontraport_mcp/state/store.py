"""The ``Store`` contract every backend keeps.

Keys are short ASCII strings with a ``kind:`` prefix (``confirm:``, ``dup:``, ``oauth:grant:``…).
Every write may carry a time to live; an expired key reads as absent everywhere (``get``,
``claim``, ``take``, ``scan``).  The atomic operations are the point of the interface:

* ``claim`` — set only if absent, atomically: exactly one of N racing callers (threads,
  processes, replicas) gets ``True``.  The money duplicate guard and single-use codes rest on it.
* ``take`` — read and delete in one step: a confirmation token or an authorization code is
  redeemed at most once, even when two replicas race.
* ``incr`` — add to an integer counter, creating it (with ``ttl_s``) when absent.

Errors: a backend that cannot be reached raises ``StoreUnavailable`` (never a library
exception), so callers can fail closed for money and destructive tools and keep reads going.
Its message says what to do and never holds the Redis URL (it may carry a password).  Caller
bugs are ``ValueError``: a ``ttl_s`` that is not positive, ``incr`` on a value that is not an
integer.

Backends: ``sqlite.SQLiteStore`` (one host, every worker process; wall-clock expiry) and
``redis.RedisStore`` (replicas; keys under a namespace prefix).  The per-account rate budget
that rides on them is ``governor.Governor``.  ``tests/state/test_store_contract.py`` holds every
backend to this contract.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol, runtime_checkable


class StoreUnavailable(Exception):
    """The store cannot be reached or answered with an error; nothing is known to be written."""


class StoreLapse:
    """The warning of a caller that carries on without the store (reads, the rate budget, light
    sessions): logged at most once per ``every_s``, since a dead store would otherwise log once
    per request.  The text must say what goes on meanwhile; it never holds customer data."""

    def __init__(self, logger: logging.Logger, text: str, every_s: float = 60.0) -> None:
        self.logger = logger
        self.text = text
        self.every_s = every_s
        self._warned_at = -every_s

    def __call__(self) -> None:
        now = time.monotonic()
        if now - self._warned_at >= self.every_s:
            self._warned_at = now
            self.logger.warning("%s (not logged again for %g s)", self.text, self.every_s)


@runtime_checkable
class Store(Protocol):
    """A key-value store with expiry and the few atomic steps the server's safety needs."""

    name: str  # "sqlite" or "redis", for /health and logs (never the URL: it may hold a password)

    async def get(self, key: str) -> bytes | None:
        """The value, or None when absent or expired."""
        ...

    async def put(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None:
        """Write (overwrite) a value; ``ttl_s`` None keeps it until deleted."""
        ...

    async def claim(self, key: str, value: bytes, *, ttl_s: float | None = None) -> bool:
        """Write only if absent (or expired), atomically; True when this caller wrote it."""
        ...

    async def take(self, key: str) -> bytes | None:
        """Read and delete atomically; None when absent or expired (or taken by another)."""
        ...

    async def delete(self, key: str) -> bool:
        """Delete; True when a live value was there."""
        ...

    async def incr(self, key: str, amount: int = 1, *, ttl_s: float | None = None) -> int:
        """Add to an integer counter and return the new value; a new counter gets ``ttl_s``
        (an existing one keeps its expiry).  ``get`` reads it as decimal digits (``b"3"``)."""
        ...

    async def scan(self, prefix: str, *, limit: int = 1000) -> list[tuple[str, bytes]]:
        """Live keys starting with ``prefix`` and their values, sorted by key, at most ``limit``."""
        ...

    async def health(self) -> dict[str, object]:
        """``{"backend": name, "ok": True, "latency_ms": float}`` or ``{…, "ok": False,
        "error": message}``, without secrets; never raises."""
        ...

    async def aclose(self) -> None:
        """Release connections (SQLite reopens on the next call; Redis's pool is closed)."""
        ...
