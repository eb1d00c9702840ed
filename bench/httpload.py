"""The load driver: raw HTTP/1.1 keep-alive connections, pre-encoded requests, several processes.

One ``asyncio.Protocol`` per connection parses just enough of each response (status, headers,
``content-length`` or chunked body); a request is bytes built once, around a slot for its
JSON-RPC id: every JSON-RPC request sent gets an id of its own (a session routes replies by id,
so one id on concurrent requests of a session would leave all but one unanswered), and every
reply must carry the id of its request.  ``run_load`` forks ``procs`` worker processes, each
with its own event loop and ``concurrency / procs`` closed-loop connections; they start together
at an agreed ``time.monotonic()`` instant (the clock is system-wide), warm up, then record every
response that completes inside the measured window.  Every failed request counts, whenever it
ends — warm-up, window or the drain after it (a request left hanging is aborted after
``timeout_s`` and counts as a timeout).  Each worker reports its latencies, its errors by phase
and kind, and its own CPU time in the window.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import multiprocessing as mp
import os
import signal
import time
from array import array
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any


class ConnectionLost(Exception):
    pass


# --- requests ------------------------------------------------------------------------------------

# What a failed request was, in the order a response is judged (connection faults first).
ERROR_KINDS = (
    "connection_lost",  # the connection closed (or could not be used) with the request in flight
    "timeout",  # no answer within timeout_s: the driver aborted the connection
    "unfinished",  # still in flight when the worker's hard stop came
    "http_status",  # not the expected status
    "jsonrpc_error",  # a JSON-RPC error object instead of a result
    "id_mismatch",  # the reply's id is not the id of the request it answers
    "is_error",  # a tool result with isError: true
    "unexpected_body",  # a 200 without what a good answer holds
    "driver_failure",  # a driver worker crashed or did not report: its requests are unknown
)
PHASES = ("warmup", "window", "drain")  # when the failed request ended

_ID_SLOT = "\x00request-id\x00"  # stands in for the id while a body is encoded
_ID_SLOT_BYTES = json.dumps(_ID_SLOT).encode()


class Request:
    """An HTTP request encoded once; a JSON-RPC body with an ``id`` gets its id per send.

    ``render(request_id)`` costs two byte concatenations: the head (up to the content-length
    value) and the body around the id are kept as bytes.
    """

    __slots__ = ("head", "before_id", "after_id", "rpc", "fixed")

    def __init__(
        self,
        method: str,
        path: str,
        host: str,
        headers: dict[str, str] | None = None,
        body: bytes | dict[str, Any] | None = None,
    ) -> None:
        lines = [f"{method} {path} HTTP/1.1", f"host: {host}"]
        lines += [f"{key}: {value}" for key, value in (headers or {}).items()]
        self.rpc = isinstance(body, dict) and "id" in body
        if isinstance(body, dict):
            body = json.dumps(
                {**body, "id": _ID_SLOT} if self.rpc else body, separators=(",", ":")
            ).encode()
        if body is not None:
            lines.append("content-length: ")
        self.head = "\r\n".join(lines).encode("latin-1")
        self.before_id, _, self.after_id = (body or b"").partition(_ID_SLOT_BYTES)
        # everything but a JSON-RPC request is the same bytes every time
        self.fixed: bytes | None = None
        if body is None:
            self.fixed = self.head + b"\r\n\r\n"
        elif not self.rpc:
            self.fixed = b"%b%d\r\n\r\n%b" % (self.head, len(body), body)

    def render(self, request_id: int | None = None) -> bytes:
        """The request's bytes; a JSON-RPC request needs its ``request_id``."""
        if self.fixed is not None:
            return self.fixed
        if request_id is None:
            raise ValueError("a JSON-RPC request is sent with an id of its own")
        rid = b"%d" % request_id
        length = len(self.before_id) + len(rid) + len(self.after_id)
        return b"%b%d\r\n\r\n%b%b%b" % (self.head, length, self.before_id, rid, self.after_id)


def reply_id(body: bytes) -> bytes | None:
    """The raw id of a JSON-RPC reply (JSON or one SSE event), without parsing the result.

    The envelope's ``id`` comes before ``result`` in every reply this server sends, so the first
    ``"id":`` is the envelope's; were a server to put the result first, an ``id`` inside it would
    be read and show as a mismatch — a loud error, never a silent pass.
    """
    at = body.find(b'"id":')
    if at < 0:
        return None
    start = at + 5
    while body[start : start + 1] == b" ":
        start += 1
    end = start
    while end < len(body) and body[end] not in b",} \r\n":
        end += 1
    return body[start:end]


@dataclass(frozen=True)
class Check:
    """What a good response is: a status, byte strings the body must contain, and — for a
    JSON-RPC reply — no error object, no ``isError: true``, and the id of its request."""

    status: int = 200
    contains: tuple[bytes, ...] = ()
    jsonrpc: bool = False

    def fault(self, response: Response) -> str | None:
        """None for a good response, else its kind of error (one of ``ERROR_KINDS``)."""
        body = response.body
        if response.status != self.status:
            return "http_status"
        if self.jsonrpc:
            if b'"error":{' in body:
                return "jsonrpc_error"
            expected = None if response.request_id is None else b"%d" % response.request_id
            if reply_id(body) != expected:
                return "id_mismatch"
            if b'"isError":true' in body:
                return "is_error"
        for needle in self.contains:
            if needle not in body:
                return "unexpected_body"
        return None

    def ok(self, response: Response) -> bool:
        return self.fault(response) is None


MCP_CALL_OK = Check(200, (b'"result":', b'"content":'), jsonrpc=True)
MCP_LIST_OK = Check(200, (b'"result":', b'"tools":'), jsonrpc=True)
MCP_RESULT_OK = Check(200, (b'"result":',), jsonrpc=True)  # any method's result
UPSTREAM_OK = Check(200, (b'"code":0',))

_pool_ids = itertools.count(1)  # ids of requests sent through a Pool (run_load's are ≥ 10**9)


# --- one connection ------------------------------------------------------------------------------


class Response:
    __slots__ = ("status", "head", "body", "request_id")

    def __init__(self, status: int, head: bytes, body: bytes) -> None:
        self.status = status
        self.head = head
        self.body = body
        self.request_id: int | None = None  # the JSON-RPC id it answers, set by the sender

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
        self.timed_out = False  # aborted by the driver's watchdog, not closed by the peer

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
    """``size`` connections to one address for one asyncio loop (used outside ``run_load``).

    Each JSON-RPC request sent gets a fresh id, and the response remembers it
    (``Response.request_id``) so a ``Check`` can hold the reply to it."""

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

    async def send(self, request: Request, timeout_s: float = 30.0) -> Response:
        request_id = next(_pool_ids) if request.rpc else None
        conn = await self.free.get()
        try:
            if conn.closed:
                conn = await Connection.open(self.host, self.port)
                self.all.append(conn)
            response = await asyncio.wait_for(conn.request(request.render(request_id)), timeout_s)
        except (TimeoutError, ConnectionLost):
            conn.abort()
            conn = await Connection.open(self.host, self.port)
            self.all.append(conn)
            raise
        finally:
            self.free.put_nowait(conn)
        response.request_id = request_id
        return response


# --- the multi-process closed-loop driver --------------------------------------------------------


def _no_errors() -> dict[str, Counter[str]]:
    return {phase: Counter() for phase in PHASES}


@dataclass
class LoadResult:
    concurrency: int
    procs: int
    window_s: float
    completed: int = 0
    # failed requests by the phase they ended in, then by kind (every phase counts)
    failures: dict[str, Counter[str]] = field(default_factory=_no_errors)
    error_samples: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    driver_cpu_s: float = 0.0

    @property
    def errors(self) -> int:
        """Every failed request of the run: warm-up, window and drain."""
        return sum(sum(kinds.values()) for kinds in self.failures.values())

    def add_errors(self, phase: str, kinds: dict[str, int]) -> None:
        self.failures[phase].update(kinds)

    @property
    def throughput(self) -> float:
        return self.completed / self.window_s if self.window_s > 0 else 0.0

    def percentile(self, p: float) -> float | None:
        return percentile(sorted(self.latencies_ms), p)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)
        by_kind: Counter[str] = Counter()
        for kinds in self.failures.values():
            by_kind.update(kinds)
        return {
            "concurrency": self.concurrency,
            "driver_procs": self.procs,
            "window_s": round(self.window_s, 3),
            "completed": self.completed,
            "errors": self.errors,
            "errors_by_phase": {phase: sum(self.failures[phase].values()) for phase in PHASES},
            "errors_by_kind": {kind: by_kind[kind] for kind in ERROR_KINDS if by_kind[kind]},
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


def worker_ids(worker: int) -> Iterator[int]:
    """The JSON-RPC ids one worker gives its requests: a block of 10**9 of its own, so no two
    requests of a run share an id (whatever lane or worker sends them), nor one sent by a
    ``Pool`` (which counts from 1)."""
    return itertools.count((worker + 1) * 10**9)


async def _worker_main(
    host: str,
    port: int,
    request: Request,
    check: Check,
    worker: int,
    conns: int,
    start_at: float,
    warmup_s: float,
    window_s: float,
    timeout_s: float,
) -> dict[str, Any]:
    measure_from = start_at + warmup_s
    measure_to = measure_from + window_s
    hard_stop = measure_to + timeout_s
    lat = array("d")
    completed = 0
    failures = _no_errors()
    samples: list[str] = []
    ids = worker_ids(worker)
    connections: list[Connection] = []
    for _ in range(conns):
        connections.append(await Connection.open(host, port))
    now = time.monotonic()
    if start_at > now:
        await asyncio.sleep(start_at - now)

    def phase(at: float) -> str:
        return "warmup" if at < measure_from else "window" if at < measure_to else "drain"

    def failed(kind: str, at: float, detail: str) -> None:
        failures[phase(at)][kind] += 1
        if len(samples) < 5:
            samples.append(f"{kind}: {detail}")

    async def one(index: int) -> None:
        nonlocal completed
        conn = connections[index]
        perf = time.perf_counter
        mono = time.monotonic
        while mono() < measure_to:
            request_id = next(ids) if request.rpc else None
            t0 = perf()
            try:
                response = await conn.request(request.render(request_id))
            except ConnectionLost as exc:
                if conn.timed_out:
                    failed("timeout", mono(), f"no answer in {timeout_s} s (aborted)")
                else:
                    failed("connection_lost", mono(), str(exc))
                try:
                    conn = connections[index] = await Connection.open(host, port)
                except OSError as exc:  # counted; this lane stops
                    failed("connection_lost", mono(), f"reconnecting: {exc}")
                    return
                continue
            t1 = perf()
            done = mono()
            response.request_id = request_id
            fault = check.fault(response)
            if fault is not None:
                failed(fault, done, f"{response.status}: {response.body[:300]!r}")
            elif measure_from <= done < measure_to:
                completed += 1
                lat.append((t1 - t0) * 1000.0)

    async def watchdog() -> None:
        while True:
            await asyncio.sleep(0.25)
            now = time.monotonic()
            for conn in connections:
                if conn.waiter is not None and now - conn.sent_at > timeout_s:
                    conn.timed_out = True
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
        for conn in connections:
            if conn.waiter is not None and not conn.waiter.done():
                failed(
                    "unfinished", time.monotonic(), "hard stop reached with the request in flight"
                )
    cpu1 = time.process_time()
    dog.cancel()
    marker.cancel()
    for conn in connections:
        conn.close()
    return {
        "completed": completed,
        "failures": {phase: dict(kinds) for phase, kinds in failures.items()},
        "samples": samples,
        "latencies": lat.tobytes(),
        "cpu_s": cpu1 - cpu_at_window[0],
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
    request: Request,
    *,
    concurrency: int,
    procs: int,
    warmup_s: float,
    window_s: float,
    check: Check,
    timeout_s: float = 10.0,
    on_window: Any = None,
) -> LoadResult:
    """Closed-loop load; ``on_window(start_at_monotonic, end_at_monotonic)`` runs in the parent
    while the workers work (it samples the server's CPU at the window's edges)."""
    shares = split(concurrency, procs)
    ctx = mp.get_context("fork")
    start_at = time.monotonic() + 0.3 + 0.05 * len(shares)
    workers = []
    for worker, share in enumerate(shares):
        parent_end, child_end = ctx.Pipe(duplex=False)
        args = (host, port, request, check, worker, share, start_at, warmup_s, window_s, timeout_s)
        proc = ctx.Process(target=_worker, args=(child_end, args), daemon=True)
        proc.start()
        child_end.close()
        workers.append((proc, parent_end))
    result = LoadResult(concurrency=concurrency, procs=len(shares), window_s=window_s)
    try:
        if on_window is not None:
            on_window(start_at + warmup_s, start_at + warmup_s + window_s)
        deadline = start_at + warmup_s + window_s + timeout_s + 15
        for _proc, pipe in workers:
            remaining = max(0.1, deadline - time.monotonic())
            # a worker that failed or fell silent: its requests' phases are unknown (filed
            # under the drain), and the run has an error
            if not pipe.poll(remaining):
                result.add_errors("drain", {"driver_failure": 1})
                result.error_samples.append("driver worker did not report in time")
                continue
            data = pipe.recv()
            if "fatal" in data:
                result.add_errors("drain", {"driver_failure": 1})
                result.error_samples.append(f"driver worker failed: {data['fatal']}")
                continue
            result.completed += data["completed"]
            for phase, kinds in data["failures"].items():
                result.add_errors(phase, kinds)
            result.error_samples.extend(data["samples"])
            lat = array("d")
            lat.frombytes(data["latencies"])
            result.latencies_ms.extend(lat)
            result.driver_cpu_s += data["cpu_s"]
    finally:
        for proc, pipe in workers:
            proc.join(timeout=2)
            if proc.is_alive() and proc.pid is not None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.join(timeout=2)
            pipe.close()
    return result
