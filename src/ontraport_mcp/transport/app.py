"""The HTTP application: routes, the era dispatch and the transport guards around the MCP server.

Streamable HTTP at ``/mcp`` (also ``/`` and ``/v1``, the paths of the hosted and the Node
servers), both protocol eras (2026-07-28 single requests and the initialize handshake with
sessions), the HTTP facade (``/tools/{name}``, ``/openapi.json``), ``/health`` and ``/v1/health``
without credentials.  Idle sessions — including those holding an open GET stream — are swept
here because the SDK only expires sessions with nothing in flight.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import (
    DEFAULT_MAX_REQUEST_BODY_SIZE,
    TransportSecurityMiddleware,
    TransportSecuritySettings,
)
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .. import __version__
from ..credentials import Credentials
from ..oauth import OAuthServer
from ..settings import Settings
from ..telemetry import install as install_telemetry
from .auth import AuthMiddleware, Style, refusal_body, send_json
from .fastpath import FastToolCalls
from .replay import read_body
from .server import SERVER_NAME, OntraportMCP
from .sessions import HandshakeSessions, RequestIdCheck, SessionTracker

_VERSION_HEADER = b"mcp-protocol-version"


class EraDispatch:
    """Route each request by its ``MCP-Protocol-Version`` header, as the SDK itself does."""

    def __init__(self, handshake: Any, modern: Any) -> None:
        self.handshake = handshake
        self.modern = modern

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        version = next((v for k, v in scope.get("headers", ()) if k == _VERSION_HEADER), None)
        if version is not None and version.decode("latin-1") not in HANDSHAKE_PROTOCOL_VERSIONS:
            await self.modern(scope, receive, send)
        else:
            await self.handshake(scope, receive, send)


def transport_security(settings: Settings) -> TransportSecuritySettings:
    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost"]
    origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
    for host in settings.allowed_hosts:
        hosts += [host, f"{host}:*"] if ":" not in host else [host]
        origins += [f"https://{host}", f"http://{host}"]
    origins += settings.allowed_origins
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


class FacadeGuard:
    """The transport rules of ``/mcp`` for the HTTP facade: Host and Origin (DNS rebinding), a
    JSON ``Content-Type`` on POST, and the body limit — 413 as soon as the declared or received
    size passes it, never buffering more — each refusal in the facade's error shape."""

    def __init__(self, app: ASGIApp, security: TransportSecuritySettings, max_body_size: int):
        self.app = app
        self.security = TransportSecurityMiddleware(security)
        self.max_body_size = max_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        is_post = scope.get("method") == "POST"
        request = Request(scope)
        refusal = await self.security.validate_request(request, is_post=is_post)
        if refusal is not None:
            message = bytes(refusal.body).decode("utf-8", "replace")
            await _facade_refusal(send, refusal.status_code, "transport_refused", message)
            return
        if is_post:
            too_large = f"The body is larger than the limit of {self.max_body_size} bytes."
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_body_size:
                await _facade_refusal(send, 413, "body_too_large", too_large)
                return
            body, receive = await read_body(receive, self.max_body_size)
            if body is None:
                await _facade_refusal(send, 413, "body_too_large", too_large)
                return
        await self.app(scope, receive, send)


async def _facade_refusal(send: Send, status: int, code: str, message: str) -> None:
    await send_json(send, status, refusal_body("facade", status, code, message))


class HeaderLimit:
    """431 for requests whose headers together pass ``max_bytes`` (uvicorn's httptools parser
    has no such limit), before anything reads them; work proportional to the headers only."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            size = sum(len(k) + len(v) + 4 for k, v in scope.get("headers", ()))
            if size > self.max_bytes:
                path = scope.get("path", "")
                style: Style = "facade" if path.startswith(_FACADE_PATHS) else "jsonrpc"
                message = f"The request headers ({size} bytes) pass the limit of {self.max_bytes}."
                body = refusal_body(style, 431, "headers_too_large", message)
                await send_json(send, 431, body, [(b"connection", b"close")])
                return
        await self.app(scope, receive, send)


_FACADE_PATHS = ("/tools/", "/openapi.json")


MCP_PATHS = ("/mcp", "/v1", "/")


class EndpointFirst:
    """The innermost middleware: a ``POST`` to an MCP endpoint goes straight to it; everything
    else goes on to Starlette's exception layer and router.

    Why: nearly every request is such a POST, and the router's matching, the route's method
    check and the exception layer (which only helps endpoints that raise ``HTTPException``; the
    MCP endpoint is plain ASGI and answers its own errors) were about a twentieth of the CPU of a
    ``tools/call`` (``make bench``).  The routes stay as they are, so every other method, path or
    a mounted ``root_path`` is answered exactly as before; the outer layers (server errors,
    request ids, the header limit) run for every request alike."""

    def __init__(self, app: ASGIApp, endpoint: ASGIApp, paths: tuple[str, ...] = MCP_PATHS):
        self.app = app
        self.endpoint = endpoint
        self.paths = frozenset(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope.get("method") == "POST"
            and scope.get("path") in self.paths
            and not scope.get("root_path")
        ):
            await self.endpoint(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def oauth_server(settings: Settings, mcp: OntraportMCP) -> OAuthServer | None:
    """The OAuth authorization server beside header credentials (``--oauth``, on by default),
    sharing the server's store; off in single-account mode (one account, one static token).
    Credentials typed on the consent page are checked against Ontraport the way header
    credentials are (``auth.CredentialChecks``) before anything is granted."""
    if not settings.oauth or settings.single_account() is not None:
        return None
    verdicts = {"accepted": "ok", "refused": "refused"}

    async def verify(creds: Credentials) -> str:
        return verdicts.get(str(await mcp.checks.check(creds)), "unavailable")

    return OAuthServer(settings, mcp.store, verify)


def build_app(settings: Settings, *, app: OntraportMCP | None = None) -> Starlette:
    """The Starlette app: MCP at /mcp, / and /v1, health without credentials."""
    mcp = app or OntraportMCP(settings)
    security = transport_security(settings)
    manager = StreamableHTTPSessionManager(
        app=mcp.server,
        json_response=False,
        stateless=settings.stateless,
        security_settings=security,
        session_idle_timeout=settings.session_idle_timeout_s,
        max_sessions=settings.max_sessions,
    )
    # 2026-07-28 requests are single self-contained exchanges and our tools send no
    # notifications mid-call, so they are answered as plain JSON by a second manager: no SSE
    # deferral or per-request task group (make bench: about 1.2x the calls per second).
    # Handshake-era requests keep SSE, which push elicitation needs.
    modern = StreamableHTTPSessionManager(
        app=mcp.server,
        json_response=True,
        stateless=True,
        security_settings=security,
    )
    modern_app: Any = StreamableHTTPASGIApp(modern)
    fast = FastToolCalls(mcp, modern_app, security) if settings.fast_tool_calls else None
    if fast is not None:
        modern_app = fast
    # one credential may hold a small share of the sessions; single-account mode has only one
    quota = settings.max_sessions_per_credential
    if settings.single_account() is not None:
        quota = settings.max_sessions
    tracker = SessionTracker(manager, idle_timeout_s=settings.session_idle_timeout_s, quota=quota)
    handshake: Any = StreamableHTTPASGIApp(manager)
    # Light handshake-era sessions (sessions.py): clients that will never be asked to confirm by
    # elicitation need no back-channel, so their requests go through the SDK's stateless path
    # and the session is a few hundred bytes instead of an SDK session's ~37 KiB.
    light = StreamableHTTPSessionManager(
        app=mcp.server,
        json_response=False,
        stateless=True,
        security_settings=security,
    )
    if not settings.stateless:
        handshake = HandshakeSessions(
            handshake,
            StreamableHTTPASGIApp(light),
            tracker,
            security=security,
            max_sessions=settings.max_sessions,
            elicitation_used=settings.confirm != "never",
            fast=fast,
            light_sessions=settings.light_sessions,
            store=mcp.store,  # light sessions any replica can serve
        )
    else:
        handshake = RequestIdCheck(handshake)
    oauth = oauth_server(settings, mcp)
    challenge = oauth.challenge if oauth is not None else None
    endpoint: Any = AuthMiddleware(
        EraDispatch(handshake, modern_app),
        settings=settings,
        checks=mcp.checks,
        challenge=challenge,
    )
    if oauth is not None:  # a bearer token of ours becomes credentials and an access level
        endpoint = oauth.gate(endpoint)

    async def health(request: Request) -> JSONResponse:
        """Liveness without credentials, and the state store's health (its backend and whether
        it answers; never its address).  A store that does not answer gives 503: money and
        destructive tools refuse until it is back, reads go on."""
        store = await mcp.store.health()
        body = {"status": "ok", "name": SERVER_NAME, "version": __version__, "store": store}
        if not store.get("ok"):
            body["status"] = "degraded"
        return JSONResponse(body, status_code=200 if store.get("ok") else 503)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with manager.run(), modern.run(), light.run(), anyio.create_task_group() as tg:
            tg.start_soon(tracker.sweep_forever)
            try:
                yield
            finally:
                tg.cancel_scope.cancel()
                if oauth is not None:
                    await oauth.aclose()
                await mcp.aclose()

    from .facade import facade_router

    # the facade takes header credentials only (it serves scripts and fuzzing, not connectors)
    facade_app = AuthMiddleware(
        facade_router(mcp.dispatch),
        settings=settings,
        checks=mcp.checks,
        style="facade",
        challenge=challenge,
    )
    facade = FacadeGuard(facade_app, security, DEFAULT_MAX_REQUEST_BODY_SIZE)
    # the MCP endpoints first (their POSTs skip the router altogether: EndpointFirst); no path
    # overlaps another, so the order changes nothing else
    routes: list[BaseRoute] = [
        *(Route(path, endpoint, methods=["GET", "POST", "DELETE"]) for path in MCP_PATHS),
        Route("/health", health, methods=["GET"]),
        Route("/openapi.json", facade, methods=["GET"]),
        Route("/tools/{name}", facade, methods=["POST"]),
        Route("/v1/health", health, methods=["GET"]),
        *(oauth.routes() if oauth is not None else ()),
    ]
    starlette = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(HeaderLimit, max_bytes=settings.max_header_bytes),
            Middleware(EndpointFirst, endpoint=endpoint),
        ],
    )
    # /metrics (Prometheus), traces (OTLP when configured), request ids: telemetry/
    starlette.state.telemetry = install_telemetry(
        settings,
        starlette,
        tool_names=mcp.dispatch.entries,
        open_sessions=lambda: len(tracker.owner_of),
    )
    starlette.state.mcp = mcp
    starlette.state.fast_calls = fast
    starlette.state.tracker = tracker
    starlette.state.handshake = handshake
    starlette.state.started_at = time.time()
    return starlette
