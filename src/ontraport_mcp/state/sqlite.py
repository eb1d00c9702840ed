"""The embedded backend: one SQLite file, shared by every worker process of one host.

Why SQLite and how it stays safe:

* one table ``kv(key TEXT PRIMARY KEY, value BLOB, expires_at REAL)``; ``expires_at`` is wall
  clock (``time.time()``), because every process on the host shares that clock and a monotonic
  clock is per process;
* WAL mode, so readers never wait for the writer, and ``busy_timeout``, so a writer waits for
  another process's transaction instead of failing at once; ``synchronous=NORMAL``: a commit
  survives a crash or restart of the server, and only a power loss or OS crash may lose the last
  few (``FULL`` would fsync every commit: about +0.2 ms a write on the development machine);
* the atomic steps (``claim``, ``take``, ``incr``) run inside ``BEGIN IMMEDIATE``: the write lock
  is taken before the read, so two processes can never both see "absent" and both write;
* every blocking call runs in the store's own worker thread (one connection, used serially), so
  the event loop never waits on the disk, and event loops in several threads can share a store;
* an expired row reads as absent; writes sweep a bounded batch of expired rows now and then, so
  the file does not grow without end and no single call pays for a big clean-up;
* the folder is created 0700 and the file 0600 (SQLite gives its ``-wal``/``-shm`` files the
  database file's mode): confirmation tokens and OAuth state are nobody else's business.

A file that cannot be opened, created, written or read as a database raises ``StoreUnavailable``
with a message that says what to do; the library's own exception never leaves this module.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from .store import StoreUnavailable

T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000
"""How long a write waits for another process's transaction before giving up (then unavailable)."""

QUICK_CHECKPOINT_EVERY = 1000
"""The event-loop connection (``transaction_now``) leaves WAL checkpoints to the worker thread:
one is queued there after this many of its commits, so the loop never waits on a checkpoint."""

SWEEP_EVERY_WRITES = 200
"""Sweep expired rows once every this many writes (per process)."""

SWEEP_BATCH = 500
"""At most this many expired rows are deleted by one sweep: bounded work on the write path."""

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL, expires_at REAL)",
    "CREATE INDEX IF NOT EXISTS kv_expires ON kv(expires_at) WHERE expires_at IS NOT NULL",
)

LIVE = "(expires_at IS NULL OR expires_at > ?)"
"""The SQL condition of a live row; its parameter is the current wall-clock time."""

# What a SQLite error means for the operator, by a fragment of its message (the first match wins;
# the last entry is the fallback).  The message names the file (not a secret) and the next step.
ADVICE: tuple[tuple[str, str], ...] = (
    (
        "not a database",
        "is not a valid SQLite database (corrupt or another kind of file): move it aside and "
        "restart (the server creates a new one; pending confirmations in it are lost), or point "
        "--store at another file",
    ),
    (
        "malformed",
        "is corrupt: move it aside and restart (the server creates a new one), or point --store "
        "at another file",
    ),
    (
        "readonly",
        "is read-only: make it and its folder writable by the user running the server, or point "
        "--store at another file",
    ),
    (
        "unable to open",
        "cannot be opened: check that its folder exists and is writable by the user running the "
        "server, or point --store at another file",
    ),
    (
        "locked",
        "stayed locked by another process for too long: check for a stuck process holding it",
    ),
    (
        "disk i/o",
        "cannot be written (disk error or disk full): free space or point --store elsewhere",
    ),
    (
        "full",
        "cannot grow (disk full): free space or point --store at another file",
    ),
    ("", "failed: check the file and its folder, or point --store at another file"),
)


def advice_for(error: BaseException) -> str:
    """The operator's next step for a SQLite (or OS) error, from the ``ADVICE`` table."""
    text = str(error).lower()
    return next(advice for fragment, advice in ADVICE if fragment in text)


class SQLiteStore:
    """The ``Store`` contract over one SQLite file (see the module docstring for the why)."""

    name = "sqlite"

    def __init__(self, path: str | os.PathLike[str], *, clock: Callable[[], float] = time.time):
        self.path = Path(os.path.expanduser(os.fspath(path)))
        self.clock = clock  # wall clock: shared by every process of the host
        self._connection: sqlite3.Connection | None = None
        self._opened_by_pid = 0
        self._lock = threading.Lock()  # one connection, used by one thread at a time
        self._worker: ThreadPoolExecutor | None = None
        self._worker_pid = 0
        self._worker_lock = threading.Lock()
        self._writes = 0
        # the second connection, used on the caller's thread without waiting (transaction_now)
        self._quick: sqlite3.Connection | None = None
        self._quick_pid = 0
        self._quick_lock = threading.Lock()
        self._quick_commits = 0

    # --- plumbing -----------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        """The connection, opened on first use (and again in a forked child: a SQLite connection
        must never cross a fork)."""
        if self._connection is not None and self._opened_by_pid == os.getpid():
            return self._connection
        self._connection = None
        folder = self.path.parent
        if not folder.exists():
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not self.path.exists():
            os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        if self.path.is_file() and (self.path.stat().st_mode & 0o077):
            os.chmod(self.path, 0o600)
        connection = sqlite3.connect(
            self.path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,  # autocommit; the atomic steps open their own transaction
            check_same_thread=False,  # serialised by self._lock instead
        )
        try:
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            for statement in SCHEMA:
                connection.execute(statement)
        except BaseException:
            connection.close()
            raise
        self._connection, self._opened_by_pid = connection, os.getpid()
        return connection

    def _call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` on the connection in the calling (worker) thread, turning every SQLite or
        OS error into ``StoreUnavailable``."""
        with self._lock:
            try:
                return work(self._open())
            except (sqlite3.Error, OSError) as error:
                if self._connection is not None and isinstance(error, sqlite3.DatabaseError):
                    self._drop_connection()  # reopen next time: the file may have been fixed
                raise StoreUnavailable(
                    f"The state store file {self.path} {advice_for(error)}."
                ) from None

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        _close_quietly(connection)

    def _thread(self) -> ThreadPoolExecutor:
        """The store's own worker thread, started on first use (and again after a fork).

        One thread per store, not a shared pool: the calls are serial anyway (one connection),
        waiting callers queue here instead of holding pool threads, and the queue belongs to no
        event loop, so servers running in several threads and loops can share one store."""
        with self._worker_lock:
            if self._worker is None or self._worker_pid != os.getpid():
                self._worker = ThreadPoolExecutor(1, thread_name_prefix="state-sqlite")
                self._worker_pid = os.getpid()
            return self._worker

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work`` in the worker thread; a caller cancelled before it starts leaves it undone."""
        return await asyncio.wrap_future(self._thread().submit(self._call, work))

    def _wrote(self, connection: sqlite3.Connection, now: float) -> None:
        """Count a write; every ``SWEEP_EVERY_WRITES`` writes, delete a bounded batch of expired
        rows (outside the caller's transaction)."""
        self._writes += 1
        if self._writes % SWEEP_EVERY_WRITES == 0:
            self._sweep(connection, now)

    @staticmethod
    def _sweep(connection: sqlite3.Connection, now: float) -> int:
        cursor = connection.execute(
            "DELETE FROM kv WHERE rowid IN (SELECT rowid FROM kv WHERE expires_at <= ? LIMIT ?)",
            (now, SWEEP_BATCH),
        )
        return cursor.rowcount

    @staticmethod
    def _expiry(now: float, ttl_s: float | None) -> float | None:
        if ttl_s is None:
            return None
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive (or None to keep the value until deleted)")
        return now + ttl_s

    @staticmethod
    def _immediate(connection: sqlite3.Connection, step: Callable[[sqlite3.Connection], T]) -> T:
        """``step`` inside ``BEGIN IMMEDIATE … COMMIT``: the write lock is held from the first
        read, so the read-then-write is atomic across processes."""
        connection.execute("BEGIN IMMEDIATE")
        try:
            result = step(connection)
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return result

    # --- the Store contract -------------------------------------------------------------------

    async def get(self, key: str) -> bytes | None:
        """The value, or None when absent or expired."""

        def work(connection: sqlite3.Connection) -> bytes | None:
            row = connection.execute(
                f"SELECT value FROM kv WHERE key = ? AND {LIVE}", (key, self.clock())
            ).fetchone()
            return None if row is None else bytes(row[0])

        return await self._run(work)

    async def put(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None:
        """Write (overwrite) a value; ``ttl_s`` None keeps it until deleted."""

        def work(connection: sqlite3.Connection) -> None:
            now = self.clock()
            connection.execute(
                "INSERT OR REPLACE INTO kv (key, value, expires_at) VALUES (?, ?, ?)",
                (key, bytes(value), self._expiry(now, ttl_s)),
            )
            self._wrote(connection, now)

        await self._run(work)

    async def claim(self, key: str, value: bytes, *, ttl_s: float | None = None) -> bool:
        """Write only if absent (or expired), atomically; True when this caller wrote it."""

        def step(connection: sqlite3.Connection) -> bool:
            now = self.clock()
            expires_at = self._expiry(now, ttl_s)
            live = connection.execute(
                f"SELECT 1 FROM kv WHERE key = ? AND {LIVE}", (key, now)
            ).fetchone()
            if live is not None:
                return False
            connection.execute(
                "INSERT OR REPLACE INTO kv (key, value, expires_at) VALUES (?, ?, ?)",
                (key, bytes(value), expires_at),
            )
            return True

        def work(connection: sqlite3.Connection) -> bool:
            won = self._immediate(connection, step)
            if won:
                self._wrote(connection, self.clock())
            return won

        return await self._run(work)

    async def take(self, key: str) -> bytes | None:
        """Read and delete atomically; None when absent or expired (or taken by another)."""

        def step(connection: sqlite3.Connection) -> bytes | None:
            row = connection.execute(
                "SELECT value, expires_at FROM kv WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                return None
            connection.execute("DELETE FROM kv WHERE key = ?", (key,))
            value, expires_at = row
            return None if expires_at is not None and expires_at <= self.clock() else bytes(value)

        return await self._run(lambda connection: self._immediate(connection, step))

    async def delete(self, key: str) -> bool:
        """Delete; True when a live value was there."""

        def step(connection: sqlite3.Connection) -> bool:
            live = connection.execute(
                f"SELECT 1 FROM kv WHERE key = ? AND {LIVE}", (key, self.clock())
            ).fetchone()
            connection.execute("DELETE FROM kv WHERE key = ?", (key,))
            return live is not None

        return await self._run(lambda connection: self._immediate(connection, step))

    async def incr(self, key: str, amount: int = 1, *, ttl_s: float | None = None) -> int:
        """Add to an integer counter and return the new value; a new counter gets ``ttl_s``.

        The counter is stored as its decimal digits (as Redis does), so ``get`` reads ``b"3"``.
        A value that is not an integer raises ``ValueError`` (a caller bug, not an outage)."""

        def step(connection: sqlite3.Connection) -> int:
            now = self.clock()
            row = connection.execute(
                f"SELECT value, expires_at FROM kv WHERE key = ? AND {LIVE}", (key, now)
            ).fetchone()
            if row is None:
                current, expires_at = 0, self._expiry(now, ttl_s)
            else:
                try:
                    current = int(bytes(row[0]))
                except ValueError:
                    raise ValueError(f"incr: the value at {key!r} is not an integer") from None
                expires_at = row[1]
            total = current + amount
            connection.execute(
                "INSERT OR REPLACE INTO kv (key, value, expires_at) VALUES (?, ?, ?)",
                (key, str(total).encode(), expires_at),
            )
            return total

        def work(connection: sqlite3.Connection) -> int:
            total = self._immediate(connection, step)
            self._wrote(connection, self.clock())
            return total

        return await self._run(work)

    async def scan(self, prefix: str, *, limit: int = 1000) -> list[tuple[str, bytes]]:
        """Live keys starting with ``prefix`` and their values, sorted by key, at most ``limit``."""
        if limit <= 0:
            return []

        def work(connection: sqlite3.Connection) -> list[tuple[str, bytes]]:
            # A key range (not LIKE, whose % and _ are wildcards) so the primary key index serves it.
            low, high = prefix, prefix_end(prefix)
            bound = "AND key < ?" if high is not None else ""
            parameters: tuple[object, ...] = (low, *((high,) if high is not None else ()))
            rows = connection.execute(
                f"SELECT key, value FROM kv WHERE key >= ? {bound} AND {LIVE} ORDER BY key LIMIT ?",
                (*parameters, self.clock(), limit),
            ).fetchall()
            return [(key, bytes(value)) for key, value in rows]

        return await self._run(work)

    async def health(self) -> dict[str, object]:
        """``{"backend": "sqlite", "ok": bool, "latency_ms": …}`` or the reason; never raises.

        A write probe (a tiny transaction) rather than a read: a read-only file must show as not
        ok, since confirmations and the duplicate guard need to write."""
        started = time.perf_counter()

        def work(connection: sqlite3.Connection) -> None:
            self._immediate(connection, lambda c: c.execute("DELETE FROM kv WHERE 0"))

        try:
            await self._run(work)
        except StoreUnavailable as error:
            return {"backend": self.name, "ok": False, "error": str(error)}
        latency_ms = round((time.perf_counter() - started) * 1000, 3)
        return {"backend": self.name, "ok": True, "latency_ms": latency_ms}

    async def transaction(self, step: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``step(connection)`` inside ``BEGIN IMMEDIATE … COMMIT`` in the store's worker
        thread, with the store's error mapping.  For companions that keep their own table in the
        same file and need the same cross-process atomicity (the rate governor's moving window);
        ``step`` runs off the event loop and must not await."""
        return await self._run(lambda connection: self._immediate(connection, step))

    def transaction_now(self, step: Callable[[sqlite3.Connection], T]) -> tuple[bool, T | None]:
        """Try ``step`` inside ``BEGIN IMMEDIATE … COMMIT`` right here, on the caller's thread
        (the event loop), never waiting: ``(True, result)``, or ``(False, None)`` when the file is
        locked by another transaction or anything fails — then nothing was written and the
        caller uses ``transaction`` (the worker thread, which waits and maps errors).

        Why: for a step of a few statements (the rate window's, on every upstream request),
        handing it to the worker thread costs several times the CPU of the step itself (about
        0.13 ms of thread hand-off against tens of microseconds of SQLite work).  A second
        connection with no busy timeout keeps the loop from ever waiting on a lock, and its
        WAL checkpoints are queued to the worker thread (``QUICK_CHECKPOINT_EVERY``)."""
        if not self._quick_lock.acquire(blocking=False):
            return False, None  # another thread is on it: no waiting here
        try:
            connection = self._quick_connection()
            result = self._immediate(connection, step)
            self._quick_commits += 1
        except (sqlite3.Error, OSError):
            self._drop_quick()
            return False, None
        finally:
            self._quick_lock.release()
        if self._quick_commits % QUICK_CHECKPOINT_EVERY == 0:
            self._thread().submit(self._call, _checkpoint)
        return True, result

    def _quick_connection(self) -> sqlite3.Connection:
        if self._quick is not None and self._quick_pid == os.getpid():
            return self._quick
        self._open_file_once()
        connection = sqlite3.connect(
            self.path, timeout=0, isolation_level=None, check_same_thread=False
        )
        try:
            connection.execute("PRAGMA busy_timeout = 0")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute("PRAGMA wal_autocheckpoint = 0")
        except BaseException:
            connection.close()
            raise
        self._quick, self._quick_pid = connection, os.getpid()
        return connection

    def _open_file_once(self) -> None:
        """The file exists, in WAL mode, with its schema: the worker connection sees to it (not
        waiting for the worker thread either: busy, it is tried again next time)."""
        if not self._lock.acquire(blocking=False):
            raise sqlite3.OperationalError("the worker connection is busy")
        try:
            self._open()
        finally:
            self._lock.release()

    def _drop_quick(self) -> None:
        connection, self._quick = self._quick, None
        _close_quietly(connection)

    async def sweep(self) -> int:
        """Delete one bounded batch of expired rows now; how many went (tests, maintenance)."""
        return await self._run(lambda connection: self._sweep(connection, self.clock()))

    async def aclose(self) -> None:
        """Close the connection and stop the worker thread (a later call starts both again)."""
        with self._worker_lock:
            worker, self._worker = self._worker, None
        if worker is None or self._worker_pid != os.getpid():
            return

        def close() -> None:
            with self._lock:
                self._drop_connection()
            with self._quick_lock:
                self._drop_quick()

        await asyncio.wrap_future(worker.submit(close))
        worker.shutdown(wait=False)


def _close_quietly(connection: sqlite3.Connection | None) -> None:
    """Close a connection being dropped; one already broken cannot fail the caller."""
    if connection is not None:
        try:
            connection.close()
        except sqlite3.Error:
            pass


def _checkpoint(connection: sqlite3.Connection) -> None:
    """Move the WAL's committed pages into the database file, without waiting on readers."""
    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


def prefix_end(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix`` (None: no bound)."""
    while prefix:
        last = ord(prefix[-1])
        if last < 0x10FFFF:
            return prefix[:-1] + chr(last + 1)
        prefix = prefix[:-1]
    return None
