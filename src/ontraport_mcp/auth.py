"""Who may talk to the server, and for which account.

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

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from starlette.types import ASGIApp, Receive, Scope, Send

from .credentials import Credentials, from_headers
from .settings import Settings

log = logging.getLogger("ontraport_mcp.auth")
CREDENTIALS_SCOPE_KEY = "ontraport.credentials"


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


class AuthMiddleware:
    """Pure ASGI: resolve credentials, or answer 401 without touching the MCP app."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings
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
        await self.app(scope, receive, send)
