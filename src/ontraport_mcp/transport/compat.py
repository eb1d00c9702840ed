"""Every use of a private name of the MCP Python SDK, in one place, pinned to the SDK version.

SDK 2.3 has no public registry of its handshake-era sessions and no public way to end one, yet
the server must sweep sessions that sit idle with an open GET stream (the SDK expires only
sessions with nothing in flight) and hold each credential to a session quota.  Both need the
session manager's table of live transports.  ``tests/server/test_compat.py`` fails as soon as
the installed SDK is not the version these names were checked against, or lacks one of them,
so an SDK upgrade is a deliberate step: re-read these, then move ``CHECKED_AGAINST``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

CHECKED_AGAINST = "2.3"  # mcp major.minor whose private names are used below
PRIVATE_NAMES = ("_server_instances", "_discard_session")


def live_sessions(manager: StreamableHTTPSessionManager) -> Mapping[str, Any]:
    """Session id -> transport of every handshake-era session the SDK holds now."""
    sessions: Mapping[str, Any] = manager._server_instances
    return sessions


async def end_session(
    manager: StreamableHTTPSessionManager, session_id: str, transport: Any
) -> None:
    """End one session as the SDK's own idle expiry does (closes its streams, forgets it)."""
    await manager._discard_session(session_id, transport)
