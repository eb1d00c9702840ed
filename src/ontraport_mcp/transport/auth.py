"""Who may talk to the server, and for which account.

Multi-account mode (default): each request carries ``Api-Key`` + ``Api-Appid`` (or
``Authorization: Bearer <appid>:<key>``).  Single-account mode (key and app id in the
environment): over HTTP every request must carry ``Authorization: Bearer <ONTRAPORT_MCP_TOKEN>``,
so the server is never an open proxy to the account.  Anything else gets HTTP 401 with a JSON
body on every verb, before any upstream call.

Credentials Ontraport refuses get HTTP 401 too, before the MCP app, so a client can prompt for new
ones instead of reading an error inside a result.  ``CredentialChecks`` asks Ontraport once per
credential — the ``/objects/meta`` fetch the manifest needs anyway, so a good credential costs no
extra request — and remembers the verdict by credential digest: "accepted" for the meta TTL,
"refused" briefly (``credential_refused_ttl_s``), "unknown" (Ontraport unreachable, rate limited)
for a few seconds, during which requests pass and tools answer for themselves; a request waits
at most 3 s for a verdict (the check goes on in the background).  A tool call whose
upstream answers 401 marks the credential refused.  At most ``max_credential_checks`` distinct
credentials are checked at once: beyond that a new credential gets 503 with ``Retry-After``, so
a flood of made-up credentials can neither occupy the shared upstream connections nor open
sessions (they never get past this layer).

The credential digest becomes the SDK's authenticated principal, which binds each handshake-era
session to the credential that opened it.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Literal, Protocol

import mcp_types as types
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from starlette.types import ASGIApp, Receive, Scope, Send

from ..credentials import Credentials, from_headers
from ..errors import ToolError
from ..settings import Settings
from ..upstream.meta import MetaCache

log = logging.getLogger("ontraport_mcp.transport.auth")
CREDENTIALS_SCOPE_KEY = "ontraport.credentials"
Verdict = Literal["accepted", "refused", "unknown"]
Style = Literal["jsonrpc", "facade"]


class Challenge(Protocol):
    """Builds the ``WWW-Authenticate`` value of a 401 for a request (``oauth.OAuthServer``)."""

    def __call__(self, scope: Scope, *, error: str | None = None) -> str: ...


"""How a refusal is worded: a JSON-RPC error (MCP routes) or the facade's error object."""

REFUSED_MESSAGE = (
    "Ontraport refused these credentials (HTTP 401): check the API key and the app id, "
    "then connect again with the right ones."
)
_BUSY_MESSAGE = (
    "Too many new credentials are being checked with Ontraport right now; retry shortly."
)
_UNKNOWN_TTL_S = 5.0
_CHECK_WAIT_S = 3.0  # a request waits this long at most for its credential's verdict
_BUSY_RETRY_S = 1
_MAX_VERDICTS = 100_000
# upstream statuses of /objects/meta that say the credential itself is good or bad
_VERDICT_OF_STATUS: dict[int, Verdict] = {401: "refused", 403: "accepted"}


class CredentialChecks:
    """Ontraport's latest verdict on each credential, by digest (the credential is not kept)."""

    def __init__(
        self, meta: MetaCache, *, accepted_ttl_s: float, refused_ttl_s: float, max_checks: int
    ) -> None:
        self._meta = meta
        self._ttl_s: dict[Verdict, float] = {
            "accepted": accepted_ttl_s,
            "refused": refused_ttl_s,
            "unknown": _UNKNOWN_TTL_S,
        }
        self._max_checks = max(1, max_checks)
        self._verdicts: dict[str, tuple[Verdict, float]] = {}
        self._checking: dict[str, asyncio.Future[Verdict]] = {}  # one check per credential
        self.checks = 0  # verdicts asked of Ontraport (tests read it)

    def verdict(self, digest: str) -> Verdict | None:
        """The remembered verdict, None when there is none or it expired."""
        found = self._verdicts.get(digest)
        if found is None or found[1] < time.monotonic():
            return None
        return found[0]

    def remember(self, creds: Credentials, verdict: Verdict) -> None:
        if len(self._verdicts) >= _MAX_VERDICTS:  # bounded: drop the oldest half
            for digest in list(self._verdicts)[: _MAX_VERDICTS // 2]:
                del self._verdicts[digest]
        self._verdicts.pop(creds.digest, None)
        self._verdicts[creds.digest] = (verdict, time.monotonic() + self._ttl_s[verdict])

    def refuse(self, creds: Credentials) -> None:
        """Ontraport answered a call of this credential with 401."""
        if self.verdict(creds.digest) != "refused":
            log.warning("Ontraport refused the credentials of account %s", creds.account_hash)
        self.remember(creds, "refused")

    async def check(self, creds: Credentials) -> Verdict | None:
        """The verdict, asking Ontraport when none is remembered; None when too many other
        credentials are being checked already (the caller answers 503)."""
        known = self.verdict(creds.digest)
        if known is not None:
            return known
        task = self._checking.get(creds.digest)
        if task is None:
            if len(self._checking) >= self._max_checks:
                return None
            # a task of its own: a caller that goes away does not cancel the others' answer
            task = asyncio.ensure_future(self._ask(creds))
            self._checking[creds.digest] = task
            task.add_done_callback(self._checked(creds.digest))
        try:
            return await asyncio.wait_for(asyncio.shield(task), _CHECK_WAIT_S)
        except TimeoutError:  # Ontraport is slow: let the request on; the verdict lands later
            return "unknown"

    def _checked(self, digest: str) -> Callable[[asyncio.Future[Verdict]], None]:
        def done(_: asyncio.Future[Verdict]) -> None:
            self._checking.pop(digest, None)

        return done

    async def _ask(self, creds: Credentials) -> Verdict:
        self.checks += 1
        try:
            await self._meta.get(creds)
            verdict: Verdict = "accepted"
        except ToolError as exc:
            verdict = _VERDICT_OF_STATUS.get(exc.status, "unknown")
        except Exception as exc:  # noqa: BLE001 — no verdict; the request goes on as before
            log.warning("credential check failed: %s", type(exc).__name__)
            verdict = "unknown"
        if verdict == "refused":
            self.refuse(creds)
        else:
            self.remember(creds, verdict)
        return verdict


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


_CHALLENGE = b'Bearer realm="ontraport-mcp"'
_REFUSED_CHALLENGE = (
    b'Bearer realm="ontraport-mcp", error="invalid_token", '
    b'error_description="Ontraport refused the credentials"'
)


async def send_json(
    send: Send, status: int, body: bytes, extra: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    """Answer with a JSON body before any app has run (refusals of the outer layers)."""
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def refusal_body(style: Style, status: int, code: str, message: str, **data: object) -> bytes:
    """A refusal before the app: a JSON-RPC error without an id (the body was not read), or
    the facade's ``{code, error, message, http_status}``."""
    if style == "facade":
        title = {401: "Unauthorized", 503: "Busy"}.get(status, "Refused")
        payload: dict[str, object] = {"code": code, "error": title, "message": message}
        payload.update(data)
        payload["http_status"] = status
        return json.dumps(payload, separators=(",", ":")).encode()
    rpc_code = types.INVALID_REQUEST if status < 500 else types.INTERNAL_ERROR
    error = {"code": rpc_code, "message": message, "data": {"reason": code, **data}}
    return json.dumps(
        {"jsonrpc": "2.0", "id": None, "error": error}, separators=(",", ":")
    ).encode()


class AuthMiddleware:
    """Pure ASGI: resolve credentials, or answer 401 without touching the MCP app."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings,
        checks: CredentialChecks | None = None,
        style: Style = "jsonrpc",
        challenge: Challenge | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.checks = checks
        self.style = style
        # the WWW-Authenticate of a 401 (OAuth: where to find the authorization server)
        self.challenge = challenge
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
        vouched = scope.get(CREDENTIALS_SCOPE_KEY)  # the OAuth gate's, from a grant
        if isinstance(vouched, Credentials):
            creds: Credentials | None = vouched
        else:
            creds, why = self._credentials(_headers(scope))
        if creds is None:
            body = refusal_body(self.style, 401, "unauthorized", why)
            await send_json(send, 401, body, [(b"www-authenticate", self._challenge(scope, None))])
            return
        if self.checks is not None and not await self._vouched(creds, scope, send):
            return
        digest = creds.digest
        scope[CREDENTIALS_SCOPE_KEY] = creds
        scope["user"] = AuthenticatedUser(AccessToken(token=digest, client_id=digest, scopes=[]))
        await self.app(scope, receive, send)

    def _challenge(self, scope: Scope, error: str | None) -> bytes:
        if self.challenge is None:
            return _REFUSED_CHALLENGE if error else _CHALLENGE
        return self.challenge(scope, error=error).encode("latin-1")

    async def _vouched(self, creds: Credentials, scope: Scope, send: Send) -> bool:
        """Whether the request may go on; otherwise a 401 (refused) or 503 (busy) was sent."""
        assert self.checks is not None
        verdict = self.checks.verdict(creds.digest)  # the hot path: one dict lookup
        if verdict is None:
            verdict = await self.checks.check(creds)
        if verdict == "refused":
            body = refusal_body(
                self.style, 401, "unauthorized", REFUSED_MESSAGE, upstream_status=401
            )
            challenge = self._challenge(scope, "invalid_token")
            await send_json(send, 401, body, [(b"www-authenticate", challenge)])
            return False
        if verdict is None:
            body = refusal_body(self.style, 503, "busy", _BUSY_MESSAGE, retry_after_s=_BUSY_RETRY_S)
            await send_json(send, 503, body, [(b"retry-after", str(_BUSY_RETRY_S).encode())])
            return False
        return True
