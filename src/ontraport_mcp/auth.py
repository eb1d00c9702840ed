"""Who may talk to the server, and for which account; and the idle-session sweeper.

Multi-account mode (default): each request carries ``Api-Key`` + ``Api-Appid`` (or
``Authorization: Bearer <appid>:<key>``).  Single-account mode (key and app id in the
environment): over HTTP every request must carry ``Authorization: Bearer <ONTRAPORT_MCP_TOKEN>``,
so the server is never an open proxy to the account.  Anything else gets HTTP 401 with a JSON
body on every verb, before any upstream call.

The credential digest becomes the SDK's authenticated principal, which binds each handshake-era
session to the credential that opened it.
"""

from __future__ import annotations

import hmac
import json
import logging
import time

import anyio
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .credentials import Credentials, from_headers
from .settings import Settings

log = logging.getLogger("ontraport_mcp.auth")
CREDENTIALS_SCOPE_KEY = "ontraport.credentials"
SESSION_HEADER = b"mcp-session-id"


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


async def _reject(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": code, "message": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", b'Bearer realm="ontraport-mcp"'),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SessionTracker:
    """Last activity per handshake-era session; ends sessions idle for too long.

    The SDK keeps a session alive while its GET stream is open (a live client's stream is always
    open), so an abandoned client that never sends DELETE would hold memory forever.  Activity
    here is a request other than that stream; ``sweep_forever`` discards sessions whose last
    activity is older than the idle timeout."""

    def __init__(self, manager: StreamableHTTPSessionManager, idle_timeout_s: float) -> None:
        self.manager = manager
        self.idle_timeout_s = idle_timeout_s
        self.last_seen: dict[str, float] = {}

    def touch(self, session_id: str) -> None:
        self.last_seen[session_id] = time.monotonic()

    def forget(self, session_id: str) -> None:
        self.last_seen.pop(session_id, None)

    async def sweep_once(self) -> int:
        live = self.manager._server_instances  # SDK 2.3 has no public session registry
        now = time.monotonic()
        swept = 0
        for session_id in list(self.last_seen):
            if session_id not in live:
                self.forget(session_id)
        for session_id, transport in list(live.items()):
            seen = self.last_seen.setdefault(session_id, now)
            if now - seen > self.idle_timeout_s:
                self.forget(session_id)
                await self.manager._discard_session(session_id, transport)
                swept += 1
        return swept

    async def sweep_forever(self) -> None:
        interval = max(0.05, min(30.0, self.idle_timeout_s / 4))
        while True:
            await anyio.sleep(interval)
            try:
                swept = await self.sweep_once()
                if swept:
                    log.info("swept %d idle session(s)", swept)
            except Exception:  # noqa: BLE001 — the sweeper must outlive one bad pass
                log.exception("session sweep failed")


class AuthMiddleware:
    """Pure ASGI: resolve credentials, or answer 401 without touching the MCP app."""

    def __init__(self, app: ASGIApp, *, settings: Settings, tracker: SessionTracker) -> None:
        self.app = app
        self.settings = settings
        self.tracker = tracker
        single = settings.single_account()
        self._single = Credentials(app_id=single[0], api_key=single[1]) if single else None
        self._token = settings.mcp_token.get_secret_value() if settings.mcp_token else None

    def _credentials(self, headers: dict[str, str]) -> tuple[Credentials | None, str]:
        if self._single is not None:
            if not self._token:
                return None, "single-account mode over HTTP needs ONTRAPORT_MCP_TOKEN to be set"
            scheme, _, token = headers.get("authorization", "").partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(
                token.strip().encode(), self._token.encode()
            ):
                return self._single, ""
            return (
                None,
                "send `Authorization: Bearer <access token>` (this server serves one account)",
            )
        creds = from_headers(headers)
        if creds is None:
            return None, (
                "send your Ontraport credentials: headers `Api-Key` and `Api-Appid`, or "
                "`Authorization: Bearer <app id>:<api key>`"
            )
        return creds, ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        creds, why = self._credentials(headers)
        if creds is None:
            await _reject(send, 401, "unauthorized", why)
            return
        digest = creds.digest
        scope[CREDENTIALS_SCOPE_KEY] = creds
        scope["user"] = AuthenticatedUser(AccessToken(token=digest, client_id=digest, scopes=[]))
        session_id = headers.get("mcp-session-id")
        method = scope.get("method", "")
        if session_id and method != "GET":
            self.tracker.touch(session_id)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start" and not session_id:
                for key, value in message.get("headers", []):
                    if key.lower() == SESSION_HEADER:
                        self.tracker.touch(value.decode("latin-1"))
            await send(message)

        await self.app(scope, receive, send_wrapper)
        if session_id and method == "DELETE":
            self.tracker.forget(session_id)
