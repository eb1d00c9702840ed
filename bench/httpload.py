"""The load driver: raw HTTP/1.1 keep-alive connections, pre-encoded requests, several processes.

One ``asyncio.Protocol`` per connection parses just enough of each response (status, headers,
``content-length`` or chunked body); a request is bytes built once.  ``run_load`` forks
``procs`` worker processes, each with its own event loop and ``concurrency / procs`` closed-loop
connections; they start together at an agreed ``time.monotonic()`` instant (the clock is
system-wide), warm up, then record every response that completes inside the measured window.
Each worker reports its latencies, its error count and its own CPU time in the window.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import signal
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


class ConnectionLost(Exception):
    pass


# --- requests ------------------------------------------------------------------------------------


def encode_request(
    method: str,
    path: str,
    host: str,
    headers: dict[str, str] | None = None,
    body: bytes | dict[str, Any] | None = None,
) -> bytes:
    if isinstance(body, dict):
        body = json.dumps(body, separators=(",", ":")).encode()
    lines = [f"{method} {path} HTTP/1.1", f"host: {host}"]
    for key, value in (headers or {}).items():
        lines.append(f"{key}: {value}")
    if body is not None:
        lines.append(f"content-length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + (body or b"")


@dataclass(frozen=True)
class Check:
    """What a good response is: a status and byte strings the body must (not) contain."""

    status: int = 200
    contains: tuple[bytes, ...] = ()
    excludes: tuple[bytes, ...] = ()

    def ok(self, status: int, body: bytes) -> bool:
        if status != self.status:
            return False
        for needle in self.contains:
            if needle not in body:
                return False
        for needle in self.excludes:
            if needle in body:
                return False
        return True


MCP_CALL_OK = Check(200, (b'"result":',), (b'"isError":true', b'"error":{'))
MCP_LIST_OK = Check(200, (b'"result":', b'"tools":'))
UPSTREAM_OK = Check(200, (b'"code":0',))


# --- one connection ------------------------------------------------------------------------------


class Response:
    __slots__ = ("status", "head", "body")

    def __init__(self, status: int, head: bytes, body: bytes) -> None:
        self.status = status
        self.head = head
        self.body = body

    def header(self, name: str) -> str | None:
        wanted = name.lower().encode() + b":"
        for line in self.head.split(b"\r\n")[1:]:
            if line.lower().startswith(wanted):
                return line[len(wanted) :].strip().decode("latin-1")
        return None


def _chunked(buf: bytearray, start: int) -> tuple[bytes, int] | None:
    """(body, end offset) of a complete chunked body starting at ``start``, else None."""
    pos = start
    parts: list[bytes] = []
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        size = int(bytes(buf[pos:eol]).split(b";")[0].strip() or b"0", 16)
        pos = eol + 2
        if size == 0:
            end = buf.find(b"\r\n", pos)  # no trailers are expected: the final CRLF
            if end < 0:
                return None
            return b"".join(parts), end + 2
        if len(buf) < pos + size + 2:
            return None
        parts.append(bytes(buf[pos : pos + size]))
        pos += size + 2


class Connection(asyncio.Protocol):
    """A keep-alive HTTP/1.1 connection with at most one request in flight."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future[Response] | None = None
        self.sent_at = 0.0
        self.closed = False

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        loop = asyncio.get_running_loop()
        _, proto = await loop.create_connection(cls, host, port)
        return proto

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionLost(str(exc or "closed by peer")))

    def data_received(self, data: bytes) -> None:
        self.buf += data
        self._parse()

    def _parse(self) -> None:
        buf = self.buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(buf[:end])
        lower = head.lower()
        at = lower.find(b"\r\ncontent-length:")
        if at >= 0:
            stop = lower.find(b"\r\n", at + 2)
            length = int(lower[at + 17 : stop if stop >= 0 else len(lower)])
            total = end + 4 + length
            if len(buf) < total:
                return
            body = bytes(buf[end + 4 : total])
        elif b"\r\ntransfer-encoding: chunked" in lower:
            found = _chunked(buf, end + 4)
            if found is None:
                return
            body, total = found
        else:  # no body framing: HTTP/1.1 bodiless answer
            body, total = b"", end + 4
        del buf[:total]
        status = int(head[9:12])
        waiter = self.waiter
        self.waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_result(Response(status, head, body))

    def request(self, data: bytes) -> asyncio.Future[Response]:
        if self.closed or self.transport is None:
            raise ConnectionLost("connection closed")
        waiter: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self.waiter = waiter
        self.sent_at = time.monotonic()
        self.transport.write(data)
        return waiter

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class Pool:
    """``size`` connections to one address for one asyncio loop (used outside ``run_load``)."""

    def __init__(self, host: str, port: int, size: int) -> None:
        self.host, self.port, self.size = host, port, size
        self.free: asyncio.Queue[Connection] = asyncio.Queue()
        self.all: list[Connection] = []

    async def __aenter__(self) -> Pool:
        for _ in range(self.size):
            conn = await Connection.open(self.host, self.port)
            self.all.append(conn)
            self.free.put_nowait(conn)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for conn in self.all:
            conn.close()

    async def send(self, data: bytes, timeout_s: float = 30.0) -> Response:
        conn = await self.free.get()
        try:
            if conn.closed:
                conn = await Connection.open(self.host, self.port)
                self.all.append(conn)
            return await asyncio.wait_for(conn.request(data), timeout_s)
        except (TimeoutError, ConnectionLost):
            conn.abort()
            conn = await Connection.open(self.host, self.port)
            self.all.append(conn)
            raise
        finally:
            self.free.put_nowait(conn)


# --- the multi-process closed-loop driver --------------------------------------------------------


@dataclass
class LoadResult:
    concurrency: int
    procs: int
    window_s: float
    completed: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    driver_cpu_s: float = 0.0

    @property
    def throughput(self) -> float:
        return self.completed / self.window_s if self.window_s > 0 else 0.0

    def percentile(self, p: float) -> float | None:
        return percentile(sorted(self.latencies_ms), p)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)
        return {
            "concurrency": self.concurrency,
            "driver_procs": self.procs,
            "window_s": round(self.window_s, 3),
            "completed": self.completed,
            "errors": self.errors,
            "error_samples": self.error_samples[:3],
            "throughput_rps": round(self.throughput, 1),
            "p50_ms": _r(percentile(ordered, 50)),
            "p95_ms": _r(percentile(ordered, 95)),
            "p99_ms": _r(percentile(ordered, 99)),
            "mean_ms": _r(sum(ordered) / len(ordered)) if ordered else None,
            "driver_cpu_s": round(self.driver_cpu_s, 3),
            "driver_cpu_cores": round(self.driver_cpu_s / self.window_s, 3)
            if self.window_s
            else None,
        }


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def percentile(ordered: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile of an already sorted sequence."""
    if not ordered:
        return None
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


async def _worker_main(
    host: str,
    port: int,
    request: bytes,
    check: Check,
    conns: int,
    start_at: float,
    warmup_s: float,
    window_s: float,
    max_requests: int | None,
    timeout_s: float,
) -> dict[str, Any]:
    measure_from = start_at + warmup_s
    measure_to = measure_from + window_s
    hard_stop = measure_to + timeout_s
    lat = array("d")
    state = {"completed": 0, "errors": 0, "sent": 0}
    samples: list[str] = []
    connections: list[Connection] = []
    for _ in range(conns):
        connections.append(await Connection.open(host, port))
    now = time.monotonic()
    if start_at > now:
        await asyncio.sleep(start_at - now)

    async def one(index: int) -> None:
        conn = connections[index]
        perf = time.perf_counter
        mono = time.monotonic
        while True:
            now = mono()
            if now >= measure_to or now >= hard_stop:
                return
            if max_requests is not None and state["sent"] >= max_requests:
                return
            state["sent"] += 1
            t0 = perf()
            try:
                response = await conn.request(request)
            except ConnectionLost as exc:
                if len(samples) < 5:
                    samples.append(f"connection lost: {exc}")
                done = mono()
                if measure_from <= done < measure_to or max_requests is not None:
                    state["errors"] += 1
                conn = connections[index] = await Connection.open(host, port)
                continue
            t1 = perf()
            done = mono()
            if not (measure_from <= done < measure_to) and max_requests is None:
                continue
            if check.ok(response.status, response.body):
                state["completed"] += 1
                lat.append((t1 - t0) * 1000.0)
            else:
                state["errors"] += 1
                if len(samples) < 5:
                    samples.append(f"{response.status}: {response.body[:300]!r}")

    async def watchdog() -> None:
        while True:
            await asyncio.sleep(0.25)
            now = time.monotonic()
            for conn in connections:
                if conn.waiter is not None and now - conn.sent_at > timeout_s:
                    conn.abort()

    dog = asyncio.ensure_future(watchdog())
    cpu0 = time.process_time()
    cpu_at_window = [cpu0]

    async def cpu_mark() -> None:
        delay = measure_from - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        cpu_at_window[0] = time.process_time()

    marker = asyncio.ensure_future(cpu_mark())
    try:
        await asyncio.wait_for(
            asyncio.gather(*(one(i) for i in range(conns))),
            timeout=max(1.0, hard_stop - time.monotonic() + 1.0),
        )
    except TimeoutError:
        samples.append("driver: hard stop reached with requests in flight")
    cpu1 = time.process_time()
    dog.cancel()
    marker.cancel()
    for conn in connections:
        conn.close()
    return {
        "completed": state["completed"],
        "errors": state["errors"],
        "samples": samples,
        "latencies": lat.tobytes(),
        "cpu_s": cpu1 - (cpu_at_window[0] if max_requests is None else cpu0),
    }


def _worker(conn: Any, args: tuple[Any, ...]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        result = asyncio.run(_worker_main(*args))
    except BaseException as exc:  # noqa: BLE001 — report, never hang the parent
        result = {"fatal": f"{type(exc).__name__}: {exc}"}
    conn.send(result)
    conn.close()


def split(concurrency: int, procs: int) -> list[int]:
    procs = max(1, min(procs, concurrency))
    base, extra = divmod(concurrency, procs)
    return [base + (1 if i < extra else 0) for i in range(procs)]


def run_load(
    host: str,
    port: int,
    request: bytes,
    *,
    concurrency: int,
    procs: int,
    warmup_s: float,
    window_s: float,
    check: Check,
    max_requests: int | None = None,
    timeout_s: float = 10.0,
    on_window: Any = None,
) -> LoadResult:
    """Closed-loop load; ``on_window(start_at_monotonic, end_at_monotonic)`` runs in the parent
    while the workers work (it samples the server's CPU at the window's edges)."""
    shares = split(concurrency, procs)
    ctx = mp.get_context("fork")
    start_at = time.monotonic() + 0.3 + 0.05 * len(shares)
    workers = []
    per_worker_max = None
    if max_requests is not None:
        per_worker_max = max(1, max_requests // len(shares))
    for share in shares:
        parent_end, child_end = ctx.Pipe(duplex=False)
        args = (
            host,
            port,
            request,
            check,
            share,
            start_at,
            warmup_s,
            window_s,
            per_worker_max,
            timeout_s,
        )
        proc = ctx.Process(target=_worker, args=(child_end, args), daemon=True)
        proc.start()
        child_end.close()
        workers.append((proc, parent_end))
    result = LoadResult(concurrency=concurrency, procs=len(shares), window_s=window_s)
    try:
        if on_window is not None:
            on_window(start_at + warmup_s, start_at + warmup_s + window_s)
        deadline = start_at + warmup_s + window_s + timeout_s + 15
        wall0 = time.monotonic()
        for _proc, pipe in workers:
            remaining = max(0.1, deadline - time.monotonic())
            if not pipe.poll(remaining):
                result.errors += 1
                result.error_samples.append("driver worker did not report in time")
                continue
            data = pipe.recv()
            if "fatal" in data:
                result.errors += 1
                result.error_samples.append(f"driver worker failed: {data['fatal']}")
                continue
            result.completed += data["completed"]
            result.errors += data["errors"]
            result.error_samples.extend(data["samples"])
            lat = array("d")
            lat.frombytes(data["latencies"])
            result.latencies_ms.extend(lat)
            result.driver_cpu_s += data["cpu_s"]
        if max_requests is not None:
            result.window_s = max(1e-9, time.monotonic() - max(wall0, start_at))
    finally:
        for proc, pipe in workers:
            proc.join(timeout=2)
            if proc.is_alive() and proc.pid is not None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.join(timeout=2)
            pipe.close()
    return result
