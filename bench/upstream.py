"""A canned Ontraport upstream: raw asyncio HTTP/1.1, pre-encoded answers, its own process.

    python -m bench.upstream [--port 0] [--delay-ms 0]

Prints ``PORT <n>`` on stdout once it listens on 127.0.0.1.  It answers the Ontraport envelope
``{"code": 0, "data": ..., "account_id": ...}`` for

* ``GET /1/objects``          ``range`` contact records (default 50, at most 50);
* ``GET /1/object``           one contact record;
* ``GET /1/objects/meta``     the built-in types of ``openapi/objects_meta.json`` plus *N*
  custom objects cloned from its three custom types, where *N* comes from the caller's
  ``Api-Appid`` (``…co13…`` → 13; no ``coN`` → 0), so one process serves every account shape;
* ``GET /1/objects/getInfo``  a count;

and, for the benchmark itself, ``GET /_bench/stats`` (request and ``/objects/meta`` counters),
``POST /_bench/reset`` and ``POST /_bench/config?delay_ms=25`` (the delay added before every
``/1/…`` answer; timers, not sleeps, so a delayed answer costs nothing while it waits).

Every answer is built once per distinct request target and then served from a dict, so this
process spends its time in the kernel, not in Python: it must never be what limits a run.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import importlib.resources
import json
import re
import signal
import sys
from functools import cache
from typing import Any
from urllib.parse import parse_qs, urlsplit

ACCOUNT_ID = 204817
MAX_RANGE = 50
_CO = re.compile(rb"co(\d{1,4})")


# --- canned data ---------------------------------------------------------------------------------


@cache
def objects_meta() -> dict[str, Any]:
    """``openapi/objects_meta.json`` as shipped in the package (``ontraport_mcp.openapi``)."""
    text = importlib.resources.files("ontraport_mcp.openapi").joinpath("objects_meta.json")
    data: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return data


def meta_with_custom_objects(n: int) -> dict[str, Any]:
    """The meta envelope with the built-in types and exactly ``n`` custom objects (10000…)."""
    source = objects_meta()["data"]
    builtin = {k: v for k, v in source.items() if int(k) < 10_000}
    templates = [source[k] for k in sorted(source, key=int) if int(k) >= 10_000]
    data: dict[str, Any] = dict(builtin)
    for i in range(n):
        template = templates[i % len(templates)]
        clone = copy.deepcopy(template)
        round_ = i // len(templates)
        if round_:
            clone["name"] = f"{template['name']} {round_ + 1}"
            # distinct field names per clone, as a real account has
            clone["fields"] = {
                f"{name}_{round_}": spec for name, spec in template["fields"].items()
            }
        data[str(10_000 + i)] = clone
    return {"code": 0, "data": data, "account_id": ACCOUNT_ID}


def _value(field: str, spec: dict[str, Any], i: int) -> Any:
    kind = spec.get("type")
    if field == "firstname":
        return f"First{i}"
    if field == "lastname":
        return f"Last{i}"
    if kind == "email":
        return f"person{i}@example.com"
    if kind in ("parent", "numeric", "check"):
        return "0"
    if kind == "price":
        return "0.00"
    if kind in ("fulldate", "timestamp"):
        return str(1_700_000_000 + i)
    if kind in ("phone", "sms"):
        return f"+1555{i:07d}"
    if kind == "drop":
        options = spec.get("options") or {}
        return next(iter(options), None)
    if kind in ("subscription", "list"):
        return "*/*"
    if kind == "state":
        return "CA"
    if kind == "country":
        return "US"
    if kind == "text":
        return f"{spec.get('alias', field)} {i}"
    return None


def contact(i: int) -> dict[str, Any]:
    """One contact as Ontraport sends it: every field of type 0, system fields included."""
    fields = objects_meta()["data"]["0"]["fields"]
    record: dict[str, Any] = {"id": str(i), "owner": "1"}
    for name, spec in fields.items():
        record[name] = _value(name, spec, i)
    record.update(
        {
            "date": "1700000000",
            "dla": "1700000000",
            "dlm": "1700000000",
            "system_source": "0",
            "source_location": None,
            "import_id": "0",
            "ip_addy": "127.0.0.1",
            "ip_addy_display": "127.0.0.1",
            "contact_cat": "*/*1*/*",
            "bindex": "0",
            "updateSequence": "*/*",
            "updateCampaign": "*/*",
            "unique_id": f"U{i:07d}",
        }
    )
    return record


def envelope(data: Any) -> bytes:
    return json.dumps(
        {"code": 0, "data": data, "account_id": ACCOUNT_ID}, separators=(",", ":")
    ).encode()


def _int(query: dict[str, list[str]], key: str, default: int) -> int:
    try:
        return int(query.get(key, [str(default)])[0])
    except ValueError:
        return default


def answer_body(path: str, query: dict[str, list[str]]) -> tuple[int, bytes]:
    """Status and body for a ``/1/…`` GET (everything but meta, which depends on the caller)."""
    if path == "/1/objects":
        start = max(0, _int(query, "start", 0))
        count = max(0, min(MAX_RANGE, _int(query, "range", MAX_RANGE)))
        return 200, envelope([contact(start + i + 1) for i in range(count)])
    if path == "/1/object":
        return 200, envelope(contact(max(1, _int(query, "id", 1))))
    if path == "/1/objects/getInfo":
        return 200, envelope(
            {"listFields": ["firstname", "lastname", "email"], "count": "1000", "sums": {}}
        )
    return 404, json.dumps({"code": 1, "message": f"no canned answer for {path}"}).encode()


def http_response(status: int, body: bytes, *, close: bool = False) -> bytes:
    reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed"}.get(status, "OK")
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n" + ("connection: close\r\n" if close else "") + "\r\n"
    )
    return head.encode() + body


# --- the server ----------------------------------------------------------------------------------


class State:
    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.requests = 0
        self.meta_hits: dict[int, int] = {}
        self.cache: dict[bytes, bytes] = {}
        self.meta_cache: dict[int, bytes] = {}

    def stats(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "meta_hits": sum(self.meta_hits.values()),
            "meta_hits_by_custom_objects": {str(k): v for k, v in sorted(self.meta_hits.items())},
            "delay_ms": self.delay_s * 1000,
        }

    def meta_response(self, custom: int) -> bytes:
        found = self.meta_cache.get(custom)
        if found is None:
            body = json.dumps(meta_with_custom_objects(custom), separators=(",", ":")).encode()
            found = self.meta_cache[custom] = http_response(200, body)
        return found


class UpstreamProtocol(asyncio.Protocol):
    def __init__(self, state: State) -> None:
        self.state = state
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end]
            length = 0
            lower = head.lower()
            at = lower.find(b"\r\ncontent-length:")
            if at >= 0:
                stop = lower.find(b"\r\n", at + 2)
                length = int(lower[at + 17 : stop if stop >= 0 else len(lower)].strip() or 0)
            total = end + 4 + length
            if len(self.buf) < total:
                return
            self.buf = self.buf[total:]
            self.handle(head, lower)

    def handle(self, head: bytes, lower: bytes) -> None:
        state = self.state
        line_end = head.find(b"\r\n")
        request_line = head[: line_end if line_end >= 0 else len(head)]
        parts = request_line.split(b" ")
        method, target = (parts[0], parts[1]) if len(parts) >= 2 else (b"GET", b"/")
        close = b"\r\nconnection: close" in lower
        if target.startswith(b"/_bench/"):
            self.write(self.control(method, target), close, 0.0)
            return
        state.requests += 1
        if target.startswith(b"/1/objects/meta"):
            at = lower.find(b"\r\napi-appid:")
            appid = lower[at : lower.find(b"\r\n", at + 2)] if at >= 0 else b""
            match = _CO.search(appid)
            custom = int(match.group(1)) if match else 0
            state.meta_hits[custom] = state.meta_hits.get(custom, 0) + 1
            self.write(state.meta_response(custom), close, state.delay_s)
            return
        response = state.cache.get(target)
        if response is None:
            url = urlsplit(target.decode("latin-1"))
            status, body = answer_body(url.path, parse_qs(url.query))
            response = http_response(status, body)
            if len(state.cache) < 10_000:
                state.cache[target] = response
        self.write(response, close, state.delay_s)

    def control(self, method: bytes, target: bytes) -> bytes:
        url = urlsplit(target.decode("latin-1"))
        state = self.state
        if url.path == "/_bench/stats":
            return http_response(200, json.dumps(state.stats()).encode())
        if url.path == "/_bench/reset" and method == b"POST":
            state.requests = 0
            state.meta_hits.clear()
            return http_response(200, json.dumps(state.stats()).encode())
        if url.path == "/_bench/config" and method == b"POST":
            query = parse_qs(url.query)
            if "delay_ms" in query:
                state.delay_s = max(0.0, float(query["delay_ms"][0]) / 1000)
            return http_response(200, json.dumps(state.stats()).encode())
        if url.path == "/_bench/health":
            return http_response(200, b'{"status":"ok"}')
        return http_response(404, b'{"error":"not found"}')

    def write(self, response: bytes, close: bool, delay_s: float) -> None:
        if delay_s > 0:
            asyncio.get_running_loop().call_later(delay_s, self._send, response, close)
        else:
            self._send(response, close)

    def _send(self, response: bytes, close: bool) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        transport.write(response)
        if close:
            transport.close()


async def serve(port: int, delay_s: float) -> None:
    state = State(delay_s)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: UpstreamProtocol(state), "127.0.0.1", port, backlog=1024, reuse_address=True
    )
    port_bound = server.sockets[0].getsockname()[1]
    print(f"PORT {port_bound}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.upstream", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(args.port, args.delay_ms / 1000))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
