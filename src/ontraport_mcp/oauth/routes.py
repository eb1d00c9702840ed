"""The authorization server's HTTP endpoints (Starlette routes).

    GET  /.well-known/oauth-protected-resource[/mcp|/v1]   RFC 9728
    GET  /.well-known/oauth-authorization-server            RFC 8414
    POST /register                                         RFC 7591 (public clients)
    GET  /authorize                                        checks the request, shows consent
    POST /authorize                                        the consent form's submission
    POST /token                                            code (PKCE, RFC 8707) and refresh
    POST /revoke                                           RFC 7009

Errors: the token, registration and revocation endpoints answer RFC 6749 §5.2 JSON
(``{"error", "error_description"}``) with ``Cache-Control: no-store``; ``/authorize`` answers
an error page when the client or its redirect URI cannot be trusted (RFC 6749 §4.1.2.1: never
redirect there), and otherwise redirects back with ``error``, ``state`` and ``iss``.  Bodies are
read up to a small limit; a parameter sent twice is refused (RFC 6749 §3.1).  The store being
down is a 503 ``temporarily_unavailable``, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ..credentials import Credentials
from ..state import StoreUnavailable
from .clients import Registry
from .consent import consent_page, error_page, page_headers
from .crypto import same_secret, valid_challenge
from .errors import BadRequest, ClientError, OAuthError
from .grants import MAX_CONSENT_ATTEMPTS, Grants, PendingRequest, RequestFlood
from .levels import parse_level, preselected
from .metadata import (
    AS_PATH,
    PRM_PATH,
    authorization_server_metadata,
    base_url,
    normalize_resource,
    protected_resource_metadata,
    resources,
)

log = logging.getLogger("ontraport_mcp.oauth")

Verify = Callable[[Credentials], Awaitable[str]]
"""Ask Ontraport about credentials: "ok", "refused" or "unavailable"."""

MAX_FORM_BYTES: Final = 16 * 1024
MAX_JSON_BYTES: Final = 64 * 1024
VERIFY_TIMEOUT_S: Final = 15.0
_NO_STORE: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_CORS: Final = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization, MCP-Protocol-Version",
}
_REFUSED: Final = (
    "Ontraport refused these credentials. Check the App ID and the API key "
    "(Ontraport: Administration → Integrations → API keys) and try again."
)
_UNAVAILABLE: Final = (
    "Ontraport could not be reached to check these credentials. Nothing was granted; "
    "try again in a moment."
)
_STORE_DOWN: Final = "The server's state store is unavailable; nothing was changed. Retry shortly."
_EXPIRED: Final = (
    "This connection request expired or was already completed. Go back to your app and "
    "connect again."
)


def oauth_error(code: str, description: str, status: int = 400) -> JSONResponse:
    """RFC 6749 §5.2 error JSON, never cached."""
    headers = {**_NO_STORE, **_CORS}
    if code == "invalid_client":
        headers["WWW-Authenticate"] = 'Basic realm="ontraport-mcp"'
    body = {"error": code, "error_description": description}
    return JSONResponse(body, status_code=status, headers=headers)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused beyond ``limit`` bytes (declared or actual)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BadRequest("invalid_request", f"the request body is larger than {limit} bytes", 413)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadRequest(
                "invalid_request", f"the request body is larger than {limit} bytes", 413
            )
        chunks.append(chunk)
    return b"".join(chunks)


def single_values(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Parameters as a dict; a parameter sent twice is an error (RFC 6749 §3.1)."""
    values: dict[str, str] = {}
    for name, value in pairs:
        if name in values:
            raise BadRequest("invalid_request", f"parameter {name} was sent more than once")
        values[name] = value
    return values


async def read_form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise BadRequest(
            "invalid_request", "send the parameters as application/x-www-form-urlencoded"
        )
    body = await read_body(request, MAX_FORM_BYTES)
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as exc:
        raise BadRequest("invalid_request", "the form is not UTF-8") from exc
    return single_values(pairs)


def _required(form: dict[str, str], name: str) -> str:
    value = form.get(name)
    if not value:
        raise BadRequest("invalid_request", f"{name} is required")
    return value


def with_params(uri: str, params: dict[str, str | None]) -> str:
    """``uri`` with ``params`` added to its query (RFC 6749 §4.1.2), keeping what it had."""
    parts = urlsplit(uri)
    extra = urlencode({name: value for name, value in params.items() if value is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))


def _page(html: str, status: int = 200, redirect_uri: str | None = None) -> HTMLResponse:
    return HTMLResponse(html, status_code=status, headers=page_headers(redirect_uri))


def _guarded(
    handler: Callable[[Request], Awaitable[Response]], *, page: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    """Bad input and an unreachable store become OAuth error answers (an HTML page for the
    browser-facing ``page`` endpoints), never a 500."""

    async def endpoint(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=_CORS)
        try:
            return await handler(request)
        except OAuthError as exc:
            return oauth_error(exc.code, exc.description, exc.status)
        except StoreUnavailable:
            log.warning("oauth: the state store is unavailable")
            if page:
                return _page(error_page("Try again shortly", _STORE_DOWN), 503)
            return oauth_error("temporarily_unavailable", _STORE_DOWN, 503)

    return endpoint


class Endpoints:
    """The handlers; ``routes()`` lists them."""

    def __init__(
        self, grants: Grants, registry: Registry, verify: Verify, public_url: str | None
    ) -> None:
        self.grants = grants
        self.registry = registry
        self.verify = verify
        self.public_url = public_url

    def base(self, request: Request) -> str:
        return base_url(request.scope, self.public_url)

    def routes(self) -> list[BaseRoute]:
        methods = ["GET", "OPTIONS"]
        post = ["POST", "OPTIONS"]
        return [
            Route(PRM_PATH, _guarded(self.resource_metadata), methods=methods),
            Route(PRM_PATH + "/mcp", _guarded(self.resource_metadata), methods=methods),
            Route(PRM_PATH + "/v1", _guarded(self.resource_metadata), methods=methods),
            Route(AS_PATH, _guarded(self.server_metadata), methods=methods),
            Route("/register", _guarded(self.register), methods=post),
            Route("/authorize", _guarded(self.authorize, page=True), methods=["GET"]),
            Route("/authorize", _guarded(self.consent, page=True), methods=["POST"]),
            Route("/token", _guarded(self.token), methods=post),
            Route("/revoke", _guarded(self.revoke), methods=post),
        ]

    # ------------------------------------------------------------------ metadata
    async def resource_metadata(self, request: Request) -> Response:
        path = request.url.path[len(PRM_PATH) :]
        document = protected_resource_metadata(self.base(request), path)
        return JSONResponse(document, headers={**_CORS, "Cache-Control": "max-age=300"})

    async def server_metadata(self, request: Request) -> Response:
        document = authorization_server_metadata(self.base(request))
        return JSONResponse(document, headers={**_CORS, "Cache-Control": "max-age=300"})

    # ------------------------------------------------------------------ registration
    async def register(self, request: Request) -> Response:
        body = await read_body(request, MAX_JSON_BYTES)
        try:
            metadata = json.loads(body)
        except ValueError as exc:
            raise BadRequest("invalid_client_metadata", "the body is not JSON") from exc
        _, response = await self.registry.register(metadata)
        return JSONResponse(response, status_code=201, headers={**_NO_STORE, **_CORS})

    # ------------------------------------------------------------------ authorization
    async def authorize(self, request: Request) -> Response:
        try:
            params = single_values(list(request.query_params.multi_items()))
        except BadRequest as exc:
            return _page(error_page("This request cannot be completed", exc.description), 400)
        try:
            client = await self.registry.get(params.get("client_id", ""))
            redirect_uri = client.redirect_for(params.get("redirect_uri"))
        except ClientError as exc:
            message = f"{exc.description}. Ask the app's maker, or connect again from the app."
            return _page(error_page("This app cannot connect", message), 400)
        base = self.base(request)
        state = params.get("state")

        def back(code: str, description: str) -> Response:
            target = with_params(
                redirect_uri,
                {"error": code, "error_description": description, "state": state, "iss": base},
            )
            return RedirectResponse(target, status_code=302, headers=_NO_STORE)

        if params.get("response_type") != "code":
            return back("unsupported_response_type", "only response_type=code is supported")
        challenge = params.get("code_challenge", "")
        if params.get("code_challenge_method") != "S256" or not valid_challenge(challenge):
            return back("invalid_request", "PKCE is required: code_challenge with method S256")
        resource = params.get("resource")
        if not resource:
            return back("invalid_target", "resource (RFC 8707) is required")
        if normalize_resource(resource) not in resources(base):
            return back("invalid_target", "resource is not served by this authorization server")
        try:
            pending, csrf = await self.grants.open_request(
                client_id=client.client_id,
                client_name=client.display_name,
                redirect_uri=redirect_uri,
                state=state,
                code_challenge=challenge,
                resource=resource,
                scope=params.get("scope"),
                redirect_given="redirect_uri" in params,
            )
        except RequestFlood as flood:
            return back(
                "temporarily_unavailable",
                f"too many sign-ins were started in the last minute; try again in "
                f"{flood.retry_after_s:.0f} s",
            )
        html = consent_page(
            client_name=client.display_name,
            redirect_uri=redirect_uri,
            request_id=pending.request_id,
            csrf=csrf,
            level=preselected(pending.scope),
        )
        return _page(html, redirect_uri=redirect_uri)

    async def consent(self, request: Request) -> Response:
        try:
            form = await read_form(request)
        except BadRequest as exc:
            return _page(error_page("This form cannot be accepted", exc.description), exc.status)
        request_id = form.get("request_id", "")
        pending = await self.grants.pending(request_id) if request_id else None
        if pending is None:
            return _page(error_page("This request has expired", _EXPIRED), 400)
        csrf = form.get("csrf_token", "")
        if not csrf or not same_secret(csrf, pending.csrf_hash):
            message = (
                "This form was not submitted from this server's own consent page "
                "(its security token is missing or wrong). Nothing was granted."
            )
            return _page(error_page("Request refused", message), 403)
        base = self.base(request)
        if form.get("action") == "deny":
            closed = await self.grants.close_request(request_id)
            if closed is None:
                return _page(error_page("This request has expired", _EXPIRED), 400)
            return self._back(closed, base, error="access_denied")

        def again(alert: str, status: int, app_id: str = "") -> Response:
            html = consent_page(
                client_name=pending.client_name,
                redirect_uri=pending.redirect_uri,
                request_id=request_id,
                csrf=csrf,
                level=parse_level(form.get("access")) or preselected(pending.scope),
                app_id=app_id,
                alert=alert,
            )
            return _page(html, status, pending.redirect_uri)

        level = parse_level(form.get("access"))
        if level is None:
            return again("Choose an access level: read, write or full.", 400)
        app_id, api_key = form.get("app_id", "").strip(), form.get("api_key", "").strip()
        if not app_id or not api_key or len(app_id) > 200 or len(api_key) > 500:
            return again("Enter both the App ID and the API key.", 400, app_id[:200])
        if await self.grants.attempt(request_id) > MAX_CONSENT_ATTEMPTS:
            await self.grants.close_request(request_id)
            message = "Too many attempts for this request. Go back to your app and connect again."
            return _page(error_page("Too many attempts", message), 429)
        creds = Credentials(app_id=app_id, api_key=api_key)
        verdict = await self._verdict(creds)
        if verdict == "refused":
            return again(_REFUSED, 401, app_id)
        if verdict != "ok":
            return again(_UNAVAILABLE, 503, app_id)
        closed = await self.grants.close_request(request_id)
        if closed is None:  # a second submission of the same page
            return _page(error_page("This request has expired", _EXPIRED), 400)
        code = await self.grants.issue_code(closed, creds, level)
        log.info("oauth: grant approved for client %s at level %s", closed.client_name, level)
        return self._back(closed, base, code=code)

    async def _verdict(self, creds: Credentials) -> str:
        try:
            return await asyncio.wait_for(self.verify(creds), VERIFY_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 — the user is told to retry; nothing granted
            log.warning("oauth: the credential check failed: %s", type(exc).__name__)
            return "unavailable"

    @staticmethod
    def _back(pending: PendingRequest, base: str, **params: str) -> Response:
        target = with_params(pending.redirect_uri, {**params, "state": pending.state, "iss": base})
        return RedirectResponse(target, status_code=303, headers=_NO_STORE)

    # ------------------------------------------------------------------ tokens
    async def token(self, request: Request) -> Response:
        form = await read_form(request)
        grant_type = form.get("grant_type")
        if not grant_type:
            raise BadRequest("invalid_request", "grant_type is required")
        if grant_type not in ("authorization_code", "refresh_token"):
            raise BadRequest("unsupported_grant_type", "use authorization_code or refresh_token")
        client_id = form.get("client_id", "")
        if not client_id:
            raise BadRequest("invalid_client", "client_id is required (public clients)", 401)
        try:
            await self.registry.get(client_id)
        except ClientError as exc:
            raise BadRequest("invalid_client", exc.description, 401) from exc
        allowed = resources(self.base(request))
        if grant_type == "authorization_code":
            tokens = await self.grants.redeem_code(
                _required(form, "code"),
                client_id=client_id,
                redirect_uri=form.get("redirect_uri"),
                verifier=form.get("code_verifier"),
                resources=allowed,
                resource=form.get("resource"),
            )
        else:
            tokens = await self.grants.refresh(
                _required(form, "refresh_token"),
                client_id=client_id,
                scope=form.get("scope"),
                resources=allowed,
                resource=form.get("resource"),
            )
        return JSONResponse(tokens.body(), headers={**_NO_STORE, **_CORS})

    async def revoke(self, request: Request) -> Response:
        form = await read_form(request)
        token = _required(form, "token")
        await self.grants.revoke_token(token, form.get("client_id") or None)
        return Response(status_code=200, headers={**_NO_STORE, **_CORS})
