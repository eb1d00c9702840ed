"""The built-in HTTP/1.1 pool against small raw asyncio servers on 127.0.0.1.

Each server here speaks HTTP by hand so a test can make it misbehave in one precise way
(chunked, close-delimited, compressed, closing idle connections, never answering, …).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import ssl
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote_plus

import httpx
import pytest
import trustme

from ontraport_mcp.credentials import Credentials
from ontraport_mcp.errors import OutcomeUnknown, UpstreamUnavailable
from ontraport_mcp.generated.api import OPERATIONS, OntraportApi
from ontraport_mcp.upstream.client import Upstream
from ontraport_mcp.upstream.http11 import ConnectionPool, SendError
from ontraport_mcp.upstream.operation import Operation

pytestmark = pytest.mark.anyio
CREDS = Credentials(app_id="2_AppID_secret", api_key="key-very-secret")
OK_BODY = json.dumps({"code": 0, "data": [{"id": "1"}], "account_id": 7}).encode()

Handler = Callable[["Exchange"], Awaitable[None]]


class Exchange:
    """One request as the test server read it, and the means to answer it."""

    def __init__(self, head: bytes, body: bytes, writer: asyncio.StreamWriter, index: int):
        self.head, self.body, self.writer, self.index = head, body, writer, index

    @property
    def request_line(self) -> str:
        return self.head.split(b"\r\n", 1)[0].decode()

    def answer(self, body: bytes = OK_BODY, *, status: int = 200, headers: str = "") -> None:
        self.writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n{headers}\r\n".encode() + body
        )


class Server:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Exchange] = []
        self.connections = 0
        self.open_now = 0
        self.max_open = 0
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_now += 1
        self.max_open = max(self.max_open, self.open_now)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length) if length else b""
                exchange = Exchange(head, body, writer, len(self.requests))
                self.requests.append(exchange)
                await self.handler(exchange)
                if writer.is_closing():
                    return
                await writer.drain()
        finally:
            self.open_now -= 1
            writer.close()


@asynccontextmanager
async def serve(
    handler: Handler, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[Server]:
    server = Server(handler)
    listener = await asyncio.start_server(server._serve, "127.0.0.1", 0, ssl=ssl_context)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()
        await asyncio.wait_for(listener.wait_closed(), 5)


async def ok(exchange: Exchange) -> None:
    exchange.answer()


def pool_for(server: Server, **kw: object) -> ConnectionPool:
    return ConnectionPool(f"http://127.0.0.1:{server.port}/1", **kw)  # type: ignore[arg-type]


async def test_keep_alive_reuses_one_connection_and_sends_the_prefix_and_host():
    async with serve(ok) as server:
        pool = pool_for(server)
        for _ in range(10):
            response = await pool.request("GET", "/objects?objectID=0", [("Accept", "x")])
            assert response.status == 200 and response.body == OK_BODY
        await pool.aclose()
    assert server.connections == 1
    assert server.requests[0].request_line == "GET /1/objects?objectID=0 HTTP/1.1"
    assert f"Host: 127.0.0.1:{server.port}".encode() in server.requests[0].head


async def test_chunked_body_and_repeated_headers():
    async def chunked(exchange: Exchange) -> None:
        exchange.writer.write(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\nx-a: 2\r\n\r\n"
            b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        )

    async with serve(chunked) as server:
        pool = pool_for(server)
        first = await pool.request("GET", "/a", [])
        second = await pool.request("GET", "/b", [])
        await pool.aclose()
    assert first.body == second.body == b"hello world"
    assert first.headers["x-a"] == "1, 2"
    assert server.connections == 1


async def test_interim_1xx_responses_are_skipped():
    async def early_hints(exchange: Exchange) -> None:
        exchange.writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n")
        exchange.answer(headers="X-Final: yes\r\n")

    async with serve(early_hints) as server:
        pool = pool_for(server)
        first = await pool.request("GET", "/a", [])
        second = await pool.request("GET", "/a", [])
        await pool.aclose()
    assert first.status == second.status == 200 and first.body == OK_BODY
    assert "link" not in first.headers and first.headers["x-final"] == "yes"
    assert server.connections == 1


async def test_close_delimited_body_ends_at_eof_and_is_not_reused():
    async def close_delimited(exchange: Exchange) -> None:
        exchange.writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it")
        exchange.writer.close()

    async with serve(close_delimited) as server:
        pool = pool_for(server)
        assert (await pool.request("GET", "/a", [])).body == b"all of it"
        assert (await pool.request("GET", "/a", [])).body == b"all of it"
        await pool.aclose()
    assert server.connections == 2


@pytest.mark.parametrize(
    "encoding, compress",
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, no zlib header
    ],
)
async def test_compressed_bodies_are_decoded(encoding, compress):
    async def compressed(exchange: Exchange) -> None:
        assert b"Accept-Encoding: gzip, deflate" in exchange.head
        exchange.answer(compress(OK_BODY * 50), headers=f"Content-Encoding: {encoding}\r\n")

    async with serve(compressed) as server:
        pool = pool_for(server)
        response = await pool.request("GET", "/a", [])
        await pool.aclose()
    assert response.body == OK_BODY * 50 and "content-encoding" not in response.headers


async def test_corrupt_or_unknown_encoding_is_an_error():
    async def corrupt(exchange: Exchange) -> None:
        encoding = "gzip" if exchange.index == 0 else "br"
        exchange.answer(b"not compressed", headers=f"Content-Encoding: {encoding}\r\n")

    async with serve(corrupt) as server:
        pool = pool_for(server)
        with pytest.raises(SendError, match="corrupt"):
            await pool.request("GET", "/a", [])
        with pytest.raises(SendError, match="unsupported content encoding"):
            await pool.request("GET", "/a", [])
        await pool.aclose()


async def test_a_connection_the_server_closed_while_idle_is_replaced():
    async def answer_then_close(exchange: Exchange) -> None:
        exchange.answer()
        await exchange.writer.drain()
        exchange.writer.close()  # keep-alive promised, then dropped while idle

    async with serve(answer_then_close) as server:
        pool = pool_for(server)
        await pool.request("GET", "/a", [])
        await asyncio.sleep(0.05)  # the FIN arrives
        await pool.request("POST", "/b", [], b"x=1", idempotent=False)
        await pool.aclose()
    assert server.connections == 2 and len(server.requests) == 2


async def test_writes_do_not_reuse_a_connection_idle_longer_than_write_idle_s():
    async with serve(ok) as server:
        pool = pool_for(server, write_idle_s=0.05)
        await pool.request("GET", "/a", [])
        await asyncio.sleep(0.1)
        await pool.request("GET", "/a", [])  # a read may reuse it
        assert server.connections == 1
        await asyncio.sleep(0.1)
        await pool.request("POST", "/b", [], b"{}", idempotent=False)  # a write gets a fresh one
        assert server.connections == 2
        await pool.request("GET", "/a", [])  # and the older idle one is still usable
        await pool.aclose()
    assert server.connections == 2


async def test_the_pool_never_opens_more_than_its_bound_and_serves_every_waiter():
    async def slow(exchange: Exchange) -> None:
        await asyncio.sleep(0.02)
        exchange.answer()

    async with serve(slow) as server:
        pool = pool_for(server, max_connections=3)
        results = await asyncio.gather(*(pool.request("GET", "/a", []) for _ in range(20)))
        assert pool.open_connections <= 3
        await pool.aclose()
    assert all(r.status == 200 for r in results)
    assert server.max_open <= 3 and len(server.requests) == 20


async def test_cancelled_waiters_and_requests_do_not_leak_slots():
    release = asyncio.Event()

    async def held(exchange: Exchange) -> None:
        if exchange.index == 0:
            await release.wait()
        exchange.answer()

    async with serve(held) as server:
        pool = pool_for(server, max_connections=1)
        first = asyncio.create_task(pool.request("GET", "/a", []))
        await asyncio.sleep(0.05)
        waiting = asyncio.create_task(pool.request("GET", "/a", []))
        await asyncio.sleep(0.05)
        waiting.cancel()
        first.cancel()  # mid-exchange: that connection cannot be reused
        for task in (first, waiting):
            with pytest.raises(asyncio.CancelledError):
                await task
        release.set()
        assert (await asyncio.wait_for(pool.request("GET", "/a", []), 5)).status == 200
        assert pool.open_connections == 1
        await pool.aclose()


async def test_no_answer_is_a_timeout_that_says_the_request_was_sent():
    async def silent(exchange: Exchange) -> None:
        await asyncio.sleep(5)

    async with serve(silent) as server:
        pool = pool_for(server, timeout_s=0.2)
        with pytest.raises(SendError) as info:
            await pool.request("GET", "/a", [])
        await pool.aclose()
    assert info.value.timeout and info.value.sent


async def test_refused_connection_says_nothing_was_sent():
    async with serve(ok) as server:
        port = server.port
    pool = ConnectionPool(f"http://127.0.0.1:{port}/1", connect_timeout_s=1)
    with pytest.raises(SendError) as info:
        await pool.request("POST", "/a", [], b"{}", idempotent=False)
    assert not info.value.sent and not info.value.timeout
    assert pool.open_connections == 0


async def test_malformed_response_and_oversized_headers_values_are_errors():
    async def garbage(exchange: Exchange) -> None:
        exchange.writer.write(b"SMTP ready\r\n\r\n")

    async with serve(garbage) as server:
        pool = pool_for(server)
        with pytest.raises(SendError, match="malformed"):
            await pool.request("GET", "/a", [])
        with pytest.raises(SendError, match="line break"):
            await pool.request("GET", "/a", [("Api-Key", "a\r\nX-Evil: 1")])
        await pool.aclose()
    assert len(server.requests) == 1  # the injected header never left the process


async def test_tls_with_a_trusted_ca_works_and_an_untrusted_one_is_refused():
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    async with serve(ok, ssl_context=server_ctx) as server:
        pool = ConnectionPool(f"https://127.0.0.1:{server.port}/1", ssl_context=client_ctx)
        assert (await pool.request("GET", "/a", [])).body == OK_BODY
        await pool.aclose()
        untrusted = ConnectionPool(f"https://127.0.0.1:{server.port}/1")  # certifi's CAs only
        with pytest.raises(SendError) as info:
            await untrusted.request("GET", "/a", [])
        await untrusted.aclose()
    assert not info.value.sent


# -- through Upstream ------------------------------------------------------------------------


async def test_a_write_whose_connection_breaks_is_sent_once_and_reported_as_uncertain():
    async def drop(exchange: Exchange) -> None:
        exchange.writer.close()  # read the request, never answer

    async with serve(drop) as server:
        upstream = Upstream(f"http://127.0.0.1:{server.port}/1")
        assert upstream.transport_name == "http11"
        with pytest.raises(OutcomeUnknown) as info:
            await upstream.call(OPERATIONS["refund_transactions"], CREDS, {}, {"ids": "1"})
        with pytest.raises(UpstreamUnavailable) as read:
            await upstream.call(OPERATIONS["list_objects"], CREDS, {"objectID": 0})
        await upstream.aclose()
    assert info.value.code == "outcome_unknown"
    assert "after a write was sent" in info.value.message
    assert read.value.code == "upstream_connection_lost"
    writes = [r for r in server.requests if r.request_line.startswith("PUT")]
    reads = [r for r in server.requests if r.request_line.startswith("GET")]
    assert len(writes) == 1 and len(reads) == 3  # reads are retried, the write never is


FORM = "application/x-www-form-urlencoded"
# the spec has no operation that takes a form only; the transport must still encode one right
FORM_ONLY = Operation("form_only", "PUT", "/form", content_types=(FORM,))


def _httpx_reference(method: str, target: str, **kwargs: object) -> httpx.Request:
    """The request httpx would build: the encoding the transport promises to match."""
    return httpx.Client(base_url="http://127.0.0.1:9/1").build_request(method, target, **kwargs)  # type: ignore[arg-type]


async def test_requests_are_encoded_on_the_wire_as_httpx_would():
    """JSON and form bodies and query strings, as the test server received them over HTTP/1.1
    (lists repeat the key, booleans are true/false, None values are left out, a typed method
    sends the spec's defaults), each byte for byte what httpx would have sent."""
    condition = '[{"field":{"field":"x y"}}]'
    async with serve(ok) as server:
        upstream = Upstream(f"http://127.0.0.1:{server.port}/1")

        async def send(op: Operation, query: Mapping[str, Any], body: Mapping[str, Any] | None):
            return await upstream.call(op, CREDS, query, body)

        api = OntraportApi(send)
        await api.create_object(
            body={"objectID": 0}, fields={"firstname": "Zoë", "f1": True, "n": 1.5}
        )
        form = {"ids": [1, 2], "performAll": True, "searchNotes": False, "name": "Zoë x"}
        await upstream.call(FORM_ONLY, CREDS, {}, form)
        query = {
            "objectID": 0,
            "ids": None,
            "listFields": ["id", "name"],
            "count": True,
            "condition": condition,
        }
        await upstream.call(OPERATIONS["list_objects"], CREDS, query)
        await api.list_objects(object_id=0, count=True)
        await upstream.aclose()
    created, formed, listed, typed = server.requests

    json_body = {"firstname": "Zoë", "f1": True, "n": 1.5, "objectID": 0}  # extra fields first
    assert created.request_line == "POST /1/objects HTTP/1.1"
    assert b"\r\nContent-Type: application/json\r\n" in created.head
    assert created.body == '{"firstname":"Zoë","f1":true,"n":1.5,"objectID":0}'.encode()
    assert created.body == _httpx_reference("POST", "/objects", json=json_body).read()

    assert formed.request_line == "PUT /1/form HTTP/1.1"
    assert f"\r\nContent-Type: {FORM}\r\n".encode() in formed.head
    assert formed.body == b"ids=1&ids=2&performAll=true&searchNotes=false&name=Zo%C3%AB+x"
    assert formed.body == _httpx_reference("PUT", "/form", data=form).read()

    given = {k: v for k, v in query.items() if v is not None}
    target = "/objects?objectID=0&listFields=id&listFields=name&count=true&condition=" + quote_plus(
        condition
    )
    assert listed.request_line == f"GET /1{target} HTTP/1.1"
    assert (
        str(_httpx_reference("GET", "/objects", params=given).url)
        == "http://127.0.0.1:9/1" + target
    )
    assert listed.body == b"" and b"Content-Type" not in listed.head

    assert typed.request_line == "GET /1/objects?objectID=0&start=0&range=50&count=true HTTP/1.1"
    for request in server.requests:
        assert b"\r\nApi-Key: key-very-secret\r\n" in request.head


async def test_an_operation_the_spec_takes_as_a_form_first_is_sent_as_a_form():
    """markPaid and convertTo* take a form (API.md 3.8: "PUT form"); the spec lists the form
    first and JSON second for them, and the request goes out in the spec's first media type."""
    op = OPERATIONS["mark_transaction_paid"]
    assert op.content_types[0] == FORM
    _, target, headers, content = Upstream.encode(op, {}, {"id": 68, "type": 3}, CREDS)
    assert (target, headers["Content-Type"], content) == (
        "/transaction/markPaid",
        FORM,
        b"id=68&type=3",
    )


async def test_a_configured_proxy_routes_through_httpx(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    proxied = Upstream("https://api.ontraport.com/1")
    assert proxied.transport_name == "httpx"
    monkeypatch.setenv("NO_PROXY", "api.ontraport.com")
    direct = Upstream("https://api.ontraport.com/1")
    assert direct.transport_name == "http11"
    await proxied.aclose()
    await direct.aclose()
