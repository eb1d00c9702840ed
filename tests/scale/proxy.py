"""A round-robin HTTP load balancer for the replica tests: loopback only, no sticky sessions.

It stands for "any HTTP load balancer" in the multi-replica deployment (#17): every request goes
to the next backend in turn, whatever session or request state it carries, so a conversation
really is spread over the replicas.  Responses stream through chunk by chunk (SSE included).  A
backend that refuses the connection (a replica killed by the test) is skipped for the next one,
as real balancers do: nothing reached it, so nothing is sent twice.

``header_map`` rewrites request header values on the way (``{"api-key": {"second": "first"}}``):
the two-API-keys test puts it in front of the sandbox to stand for an Ontraport account that
accepts a second key (the sandbox accepts one).

``served`` logs, for each request, the backend that answered and the JSON-RPC method of its body
(None when the body is not JSON-RPC), so a test can assert that a confirmation was issued by one
replica and redeemed by another.

    with ProxyThread([replica.url for replica in replicas]) as proxy:
        httpx.post(proxy.url + "/mcp", ...)
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from tests.server_thread import ServerThread, free_port

MAX_BODY_BYTES = 4 * 1024 * 1024
"""A request body larger than this is refused (413): the tests never send one."""
# hop-by-hop headers (RFC 9110 §7.6.1) and what httpx sets itself
_DROPPED_REQUEST = frozenset({b"host", b"content-length", b"connection", b"transfer-encoding"})
_DROPPED_RESPONSE = frozenset({"connection", "transfer-encoding", "keep-alive"})


@dataclass(frozen=True, slots=True)
class Served:
    """One forwarded request: the backend's index and the JSON-RPC method, if any."""

    backend: int
    method: str | None


def _rpc_method(body: bytes) -> str | None:
    try:
        message = json.loads(body)
    except ValueError:
        return None
    method = message.get("method") if isinstance(message, dict) else None
    return method if isinstance(method, str) else None


class RoundRobinProxy:
    """The ASGI app: forwards every HTTP request to the next backend of ``backends``."""

    def __init__(
        self, backends: list[str], *, header_map: dict[str, dict[str, str]] | None = None
    ) -> None:
        if not backends:
            raise ValueError("the proxy needs at least one backend")
        self.backends = [b.rstrip("/") for b in backends]
        self.header_map = {
            name.lower().encode("latin-1"): {
                old.encode("latin-1"): new.encode("latin-1") for old, new in values.items()
            }
            for name, values in (header_map or {}).items()
        }
        self.served: list[Served] = []
        self._turn = itertools.count()
        self._lock = threading.Lock()
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._forward(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._client = httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=2.0))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._client is not None:
                    await self._client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _body(self, receive: Any) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _forward(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert self._client is not None
        body = await self._body(receive)
        if body is None:
            await _answer(send, 413, b"request body refused")
            return
        headers = [
            (k, self.header_map.get(k.lower(), {}).get(v, v))
            for k, v in scope["headers"]
            if k.lower() not in _DROPPED_REQUEST
        ]
        target = scope["raw_path"].decode("latin-1")
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        with self._lock:
            first = next(self._turn)
        for attempt in range(len(self.backends)):  # bounded: each backend at most once
            index = (first + attempt) % len(self.backends)
            request = self._client.build_request(
                scope["method"], self.backends[index] + target, headers=headers, content=body
            )
            try:
                response = await self._client.send(request, stream=True)
            except httpx.ConnectError:
                continue  # nothing reached that backend: the next one may answer
            with self._lock:
                self.served.append(Served(index, _rpc_method(body)))
            try:
                await send(
                    {
                        "type": "http.response.start",
                        "status": response.status_code,
                        "headers": [
                            (k.encode("latin-1"), v.encode("latin-1"))
                            for k, v in response.headers.multi_items()
                            if k.lower() not in _DROPPED_RESPONSE
                        ],
                    }
                )
                async for chunk in response.aiter_raw():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            finally:
                await response.aclose()
            return
        await _answer(send, 502, b"no backend answered")


async def _answer(send: Any, status: int, text: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain"),
                (b"content-length", str(len(text)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": text, "more_body": False})


class ProxyThread(ServerThread):
    """The proxy under uvicorn on 127.0.0.1 (a free port) in a background thread; starts and
    stops as the MCP test server does (``ServerThread``), with the proxy as its app."""

    def __init__(  # not the parent's: that one builds the MCP app from settings
        self, backends: list[str], *, header_map: dict[str, dict[str, str]] | None = None
    ) -> None:
        self.proxy = RoundRobinProxy(backends, header_map=header_map)
        self.port = free_port()
        config = uvicorn.Config(
            self.proxy, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="rr-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def served(self) -> list[Served]:
        return list(self.proxy.served)

    def __enter__(self) -> ProxyThread:
        self.start()
        return self
