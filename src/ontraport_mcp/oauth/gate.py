"""The ASGI gate in front of the MCP endpoints: OAuth access tokens in, credentials out.

Order of the layers (outermost first): this gate, then the header-credential middleware
(``transport.auth.AuthMiddleware``), then the MCP app.  The gate decides only three cases:

* ``Authorization: Bearer omcp_…`` (a secret this package issued; only an access token
  ``omcp_at_…`` is accepted, never a refresh token or a code): it must be known,
  unexpired, for this resource (any of its three endpoint names) and of a live grant.  Then
  ``scope["ontraport.credentials"]`` gets the grant's decrypted ``Credentials``,
  ``scope["ontraport_mcp.access"]`` its level (``read``/``write``/``full``) and ``scope["user"]``
  the SDK principal, and the request goes on.  Otherwise: 401 with
  ``WWW-Authenticate: Bearer error="invalid_token", resource_metadata="…"``.
* No credentials at all (no ``Authorization``, no ``Api-Key``/``Api-Appid``): 401 with the
  challenge that starts an OAuth client's discovery, and a JSON-RPC error body.
* Anything else — header credentials, ``Bearer <appid>:<key>``, the single-account static
  token — passes untouched, for the next layer to judge.  So do CORS preflights (``OPTIONS``).

A store that cannot be reached answers 503 (fail closed: no store, no token check).
"""

from __future__ import annotations

import logging
from typing import Final

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from starlette.types import ASGIApp, Receive, Scope, Send

from ..state import StoreUnavailable
from ..transport.auth import CREDENTIALS_SCOPE_KEY, refusal_body
from .crypto import is_kind
from .grants import Grants
from .levels import ACCESS_SCOPE_KEY, scope_of
from .metadata import base_url, challenge, resources

log = logging.getLogger("ontraport_mcp.oauth")


OUR_PREFIX: Final = "omcp_"
"""Every secret this package issues starts so; no Ontraport app id does."""
_INVALID_REQUEST: Final = -32600
_INTERNAL_ERROR: Final = -32603
_MISSING: Final = (
    "Authorization required: connect with OAuth (this server's metadata is at the "
    "resource_metadata URL of the WWW-Authenticate header), or send your Ontraport "
    "credentials in the Api-Key and Api-Appid headers."
)
_INVALID: Final = (
    "The access token is invalid, expired, revoked or for another server: refresh it or "
    "authorize again."
)


async def _answer(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    start = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": body})


class OAuthGate:
    """Pure ASGI middleware; see the module docstring for the contract."""

    def __init__(self, app: ASGIApp, *, grants: Grants, public_url: str | None) -> None:
        self.app = app
        self.grants = grants
        self.public_url = public_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") == "OPTIONS":
            await self.app(scope, receive, send)
            return
        authorization = ""
        has_header_credentials = False
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name in (b"api-key", b"api-appid"):
                has_header_credentials = True
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        bearer = scheme.lower() == "bearer"
        if bearer and token.startswith(OUR_PREFIX):  # ours: only a valid access token passes
            await self._with_token(token, scope, receive, send)
            return
        if not authorization and not has_header_credentials:
            base = base_url(scope, self.public_url)
            www = challenge(base, scope.get("path", "/mcp")).encode()
            body = refusal_body("jsonrpc", 401, "unauthorized", _MISSING)
            await _answer(send, 401, body, [(b"www-authenticate", www)])
            return
        await self.app(scope, receive, send)

    async def _with_token(self, token: str, scope: Scope, receive: Receive, send: Send) -> None:
        base = base_url(scope, self.public_url)
        try:
            access = None
            if is_kind(token, "access"):  # a refresh token or a code is never a bearer
                access = await self.grants.authenticate(token, resources(base))
            if access is not None:
                await self.grants.touch(access.grant_id)
        except StoreUnavailable:
            log.warning("oauth: the state store is unavailable; access tokens cannot be checked")
            body = refusal_body(
                "jsonrpc", 503, "unavailable", "The server's state store is unavailable; retry."
            )
            await _answer(send, 503, body, [(b"retry-after", b"2")])
            return
        if access is None:
            www = challenge(base, scope.get("path", "/mcp"), error="invalid_token")
            body = refusal_body("jsonrpc", 401, "invalid_token", _INVALID)
            await _answer(send, 401, body, [(b"www-authenticate", www.encode())])
            return
        creds = access.credentials
        scope[CREDENTIALS_SCOPE_KEY] = creds
        scope[ACCESS_SCOPE_KEY] = access.level
        scope["user"] = AuthenticatedUser(
            AccessToken(token=creds.digest, client_id=creds.digest, scopes=[scope_of(access.level)])
        )
        await self.app(scope, receive, send)
