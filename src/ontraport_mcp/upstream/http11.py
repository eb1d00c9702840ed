"""A small keep-alive HTTP/1.1 connection pool for the one host this server talks to.

Why not httpx here: at 16 concurrent calls httpx + httpcore spent more than half of the server's
CPU per ``tools/call`` (URL re-parsing, a readability poll of every pooled connection twice per
request, cookie handling, stream wrappers) — see ``bench/README.md``.  This pool does only what the
Ontraport API needs: one origin, HTTP/1.1 keep-alive, Content-Length / chunked / close-delimited
bodies parsed by ``httptools`` (the C parser uvicorn uses), gzip/deflate, TLS via ``ssl``, a
bounded number of connections with a fair wait queue, and timeouts.  ``Upstream`` still falls back
to httpx when a proxy is configured or a test injects an httpx transport.

The one rule that matters for money: a failure is reported with ``sent`` — whether any byte of the
request may have reached the server — so a write is never resent and a broken write is reported as
"may have happened".  Writes only go out on a connection that was idle for less than
``write_idle_s`` (or a fresh one), which keeps the race with a server closing an idle keep-alive
connection out of the write path.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import time
import zlib
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httptools

__all__ = ["ConnectionPool", "RawResponse", "SendError"]

_MAX_BODY = 64 * 1024 * 1024


@dataclass(slots=True)
class RawResponse:
    status: int
    headers: dict[str, str]  # names lower-cased; repeated headers joined with ", "
    body: bytes


class SendError(Exception):
    """The exchange failed below HTTP.

    ``sent`` is False only when no byte of the request can have reached the server (the connection
    could not be opened, or the request was refused before writing); ``timeout`` marks a deadline.
    """

    def __init__(self, message: str, *, sent: bool, timeout: bool = False) -> None:
        super().__init__(message)
        self.sent = sent
        self.timeout = timeout


class _Connection(asyncio.Protocol):
    """One keep-alive connection; at most one request in flight."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = time.monotonic()
        self._waiter: asyncio.Future[tuple[RawResponse, bool]] | None = None
        self._parser: httptools.HttpResponseParser | None = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._size = 0
        self._headers_done = False
        self._framed = False  # Content-Length or chunked: the end is known without EOF

    # -- asyncio.Protocol --------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._parser is None:
            self.close()  # nobody asked: a server must not send unsolicited bytes
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self._fail(SendError("Ontraport sent a malformed HTTP response.", sent=True))
            self.close()

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is None or self._waiter.done():
            return
        if self._headers_done and not self._framed:
            self.on_message_complete()  # a close-delimited body ends at EOF
        else:
            self._fail(SendError("The connection closed before a full response.", sent=True))

    # -- httptools callbacks ------------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._headers_done = True
        for name, value in self._headers:
            lower = name.lower()
            if lower == b"content-length" or (
                lower == b"transfer-encoding" and b"chunked" in value.lower()
            ):
                self._framed = True

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > _MAX_BODY:
            self._fail(SendError("Ontraport's response is larger than 64 MiB.", sent=True))
            self.close()
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        waiter, parser = self._waiter, self._parser
        if waiter is None or parser is None or waiter.done():
            return
        if 100 <= parser.get_status_code() < 200:  # 100 Continue, 103 Early Hints: not the answer
            self._start_message()
            return
        headers: dict[str, str] = {}
        for name, value in self._headers:
            key, text = name.decode("latin-1").lower(), value.decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        keep_alive = parser.should_keep_alive() and not self.closed
        response = RawResponse(parser.get_status_code(), headers, b"".join(self._body))
        waiter.set_result((response, keep_alive))

    # -- used by the pool ---------------------------------------------------------------------
    def exchange(self, data: bytes) -> asyncio.Future[tuple[RawResponse, bool]]:
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        self._waiter = loop.create_future()
        self._parser = httptools.HttpResponseParser(self)
        self._start_message()
        self.transport.write(data)
        return self._waiter

    def _start_message(self) -> None:
        self._headers, self._body, self._size = [], [], 0
        self._headers_done = self._framed = False

    def _fail(self, error: SendError) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(error)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


def _decoded(response: RawResponse) -> RawResponse:
    """Undo ``Content-Encoding: gzip`` / ``deflate`` (the pool asks for them)."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity") or not response.body:
        return response
    # deflate is meant to carry a zlib header, but some servers send it raw: try both.
    choices = {"gzip": (31,), "x-gzip": (31,), "deflate": (zlib.MAX_WBITS, -zlib.MAX_WBITS)}
    if encoding not in choices:
        raise SendError(f"Ontraport used an unsupported content encoding {encoding!r}.", sent=True)
    for wbits in choices[encoding]:
        inflater = zlib.decompressobj(wbits)
        try:
            body = inflater.decompress(response.body, _MAX_BODY) + inflater.flush()
        except zlib.error:
            continue
        if inflater.unconsumed_tail:
            raise SendError("Ontraport's response is larger than 64 MiB.", sent=True)
        break
    else:
        raise SendError("Ontraport sent a corrupt compressed response.", sent=True)
    headers = {k: v for k, v in response.headers.items() if k != "content-encoding"}
    return RawResponse(response.status, headers, body)


def default_ssl_context() -> ssl.SSLContext:
    """Verified TLS with the CA bundle httpx would use (``SSL_CERT_FILE``/``DIR``, else certifi)."""
    cafile = os.environ.get("SSL_CERT_FILE")
    capath = os.environ.get("SSL_CERT_DIR")
    if not cafile and not capath:
        import certifi

        cafile = certifi.where()
    return ssl.create_default_context(cafile=cafile, capath=capath)


class ConnectionPool:
    """Keep-alive connections to one origin, at most ``max_connections`` open at once."""

    def __init__(
        self,
        base_url: str,
        *,
        max_connections: int = 24,
        connect_timeout_s: float = 5.0,
        timeout_s: float = 30.0,
        keepalive_s: float = 5.0,
        write_idle_s: float = 2.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.host = parts.hostname
        tls = parts.scheme == "https"
        self.port = parts.port or (443 if tls else 80)
        self.path_prefix = parts.path.rstrip("/")
        default_port = self.port == (443 if tls else 80)
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.host_header = host if default_port else f"{host}:{self.port}"
        self._ssl = (ssl_context or default_ssl_context()) if tls else None
        self.max_connections = max(1, max_connections)
        self.connect_timeout_s = connect_timeout_s
        self.timeout_s = timeout_s
        self.keepalive_s = keepalive_s
        self.write_idle_s = min(write_idle_s, keepalive_s)
        self._idle: list[_Connection] = []
        self._open = 0  # connections open or being opened, idle ones included
        self._waiters: deque[asyncio.Future[_Connection | None]] = deque()
        self._closed = False

    @property
    def open_connections(self) -> int:
        return self._open

    async def request(
        self,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]],
        body: bytes | None = None,
        *,
        idempotent: bool = True,
    ) -> RawResponse:
        """Send one request (``target`` is the path under the base URL plus any query)."""
        data = self._encode(method, target, headers, body)
        conn: _Connection | None = None
        reusable = False
        try:
            async with asyncio.timeout(self.timeout_s):  # one deadline: wait, connect, answer
                conn = await self._acquire(self.keepalive_s if idempotent else self.write_idle_s)
                response, reusable = await conn.exchange(data)
            return _decoded(response)
        except TimeoutError:
            if conn is None:
                raise SendError(
                    "Could not get a connection to Ontraport in time.", sent=False, timeout=True
                ) from None
            raise SendError("Ontraport did not answer in time.", sent=True, timeout=True) from None
        finally:
            if conn is not None:
                self._release(conn, reusable)

    async def aclose(self) -> None:
        self._closed = True
        for conn in self._idle:
            conn.close()
        self._idle.clear()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(SendError("The connection pool is closed.", sent=False))

    # -- internals ----------------------------------------------------------------------------
    def _encode(
        self, method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes | None
    ) -> bytes:
        lines = [
            f"{method} {self.path_prefix}{target} HTTP/1.1",
            f"Host: {self.host_header}",
            "Accept-Encoding: gzip, deflate",
        ]
        for name, value in headers:
            if any(c in value or c in name for c in "\r\n\0"):
                raise SendError(f"The {name} header contains a line break.", sent=False)
            lines.append(f"{name}: {value}")
        if body is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body or b'')}")
        try:
            head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        except UnicodeEncodeError:
            raise SendError("A request header is not plain text.", sent=False) from None
        return head + body if body else head

    async def _acquire(self, max_idle_s: float) -> _Connection:
        if self._closed:
            raise SendError("The connection pool is closed.", sent=False)
        now = time.monotonic()
        while self._idle:
            newest = self._idle[-1]  # most recently used: the warmest connection
            age = now - newest.idle_since
            if newest.closed or age >= self.keepalive_s:
                self._idle.pop().close()
                self._free_slot()
                continue
            if age < max_idle_s:
                return self._idle.pop()
            break  # alive, but idle too long to carry a write
        if self._open < self.max_connections:
            self._open += 1
            return await self._connect()
        if self._idle:  # full, but an idle connection can give up its slot
            self._idle.pop(0).close()
            return await self._connect()
        waiter: asyncio.Future[_Connection | None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            handed = await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                # Handed something just as we were cancelled: pass it on.
                got = waiter.result()
                if got is None:
                    self._free_slot()
                else:
                    self._release(got, True)
            raise
        if handed is None:  # a slot was freed and reserved for us
            return await self._connect()
        return handed

    async def _connect(self) -> _Connection:
        """Open a connection in a slot already counted in ``_open``."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                _, conn = await loop.create_connection(
                    _Connection,
                    self.host,
                    self.port,
                    ssl=self._ssl,
                    server_hostname=self.host if self._ssl else None,
                )
        except BaseException as exc:
            self._free_slot()
            if isinstance(exc, TimeoutError):
                raise SendError(
                    "Connecting to Ontraport timed out.", sent=False, timeout=True
                ) from None
            if isinstance(exc, OSError):  # refused, unreachable, DNS, TLS (ssl.SSLError)
                raise SendError(
                    f"Could not connect to Ontraport ({type(exc).__name__}).", sent=False
                ) from None
            raise
        return conn

    def _release(self, conn: _Connection, reusable: bool) -> None:
        if reusable and not conn.closed and not self._closed:
            conn.idle_since = time.monotonic()
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_result(conn)
                    return
            self._idle.append(conn)
            return
        conn.close()
        self._free_slot()

    def _free_slot(self) -> None:
        """A connection went away: give its slot to the first waiter, or count it free."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._open -= 1
