"""``python -m bench.census [--sessions N] [--kind light|full]`` — what one idle handshake-era
session keeps alive.

RSS says how much; this says what.  The server runs in this process (``ServerThread`` on
127.0.0.1, an unreachable upstream: initialize never calls it), N sessions are opened
(initialize + notifications/initialized) and left idle, and the objects the garbage collector
tracks are counted by type before and after — shallow sizes, so a coroutine's frame counts and
the values it points to count under their own types.  Prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import sys
import time
from typing import Any

import httpx

HANDSHAKE_ERA = "2025-11-25"
# What a client declares at initialize decides its session's kind (ontraport_mcp/sessions.py):
# form elicitation needs a back-channel, so that client gets a full SDK session; any other, light.
CLIENT_CAPABILITIES: dict[str, dict[str, Any]] = {
    "light": {},
    "full": {"elicitation": {"form": {}}},
}


def initialize_request(kind: str, client: str) -> dict[str, Any]:
    """The handshake-era ``initialize`` of a client whose session will be of this kind."""
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": HANDSHAKE_ERA,
            "capabilities": CLIENT_CAPABILITIES[kind],
            "clientInfo": {"name": client, "version": "1"},
        },
    }


def _census(*own: object) -> tuple[collections.Counter[str], collections.Counter[str]]:
    """Objects by type, leaving out ``own`` (an earlier census's counters)."""
    count: collections.Counter[str] = collections.Counter()
    size: collections.Counter[str] = collections.Counter()
    skip = {id(obj) for obj in own}
    for obj in gc.get_objects():
        if id(obj) in skip:
            continue
        kind = type(obj)
        name = f"{kind.__module__}.{kind.__qualname__}"
        count[name] += 1
        size[name] += sys.getsizeof(obj)
    return count, size


def census(sessions: int, top: int = 12, kind: str = "light") -> dict[str, Any]:
    from ontraport_mcp.settings import Settings
    from tests.server_thread import ServerThread

    settings = Settings(
        base_url="http://127.0.0.1:9/1",
        audit_log="off",
        max_sessions_per_credential=sessions + 100,  # one account opens them all
    )
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "Api-Key": "census-key",
        "Api-Appid": "census-app",
    }
    initialize = initialize_request(kind, "census")
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    with ServerThread(settings) as server, httpx.Client(timeout=30) as client:

        def open_one() -> None:
            reply = client.post(server.url, json=initialize, headers=headers)
            reply.raise_for_status()
            session = reply.headers["mcp-session-id"]
            follow = {**headers, "Mcp-Session-Id": session, "MCP-Protocol-Version": HANDSHAKE_ERA}
            client.post(server.url, json=initialized, headers=follow).raise_for_status()

        for _ in range(20):  # warm: imports and lazily built state
            open_one()
        time.sleep(0.5)
        gc.collect()
        count0, size0 = _census()
        for _ in range(sessions):
            open_one()
        time.sleep(1.0)
        gc.collect()
        count1, size1 = _census(count0, size0)
    rows: list[dict[str, Any]] = [
        {
            "type": name,
            "objects_per_session": round((count1[name] - count0[name]) / sessions, 1),
            "bytes_per_session": round((size1[name] - size0[name]) / sessions),
        }
        for name in size1
    ]
    rows.sort(key=lambda r: -r["bytes_per_session"])
    return {
        "kind": kind,
        "sessions": sessions,
        "shallow_bytes_per_session": round(sum(r["bytes_per_session"] for r in rows)),
        "objects_per_session": round(sum(r["objects_per_session"] for r in rows), 1),
        "top": rows[:top],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.census", description=__doc__)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--kind", choices=("light", "full"), default="light")
    args = parser.parse_args(argv)
    print(json.dumps(census(max(1, min(args.sessions, 2000)), kind=args.kind)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
