"""The MCP server: a low-level ``mcp.server.Server`` whose tool list is built per caller.

HTTP: streamable HTTP at ``/mcp`` (also ``/`` and ``/v1``, the paths of the hosted and the Node
servers), both protocol eras (2026-07-28 single requests and the initialize handshake with
sessions), ``/health`` and ``/v1/health`` without credentials.  stdio: single-account mode.

Credentials arrive per request (see ``auth``) and are never stored; the SDK binds each
handshake-era session to the credential digest, so another credential presenting a session id is
refused.  Credentials Ontraport refuses answer HTTP 401 before the MCP app (``auth``); when
Ontraport cannot be reached, ``tools/list`` still lists the static tools plus a note tool that
says why the custom-object tools are missing and when to list again.  Idle sessions — including
those holding an open GET stream — are swept here because the SDK only expires sessions with
nothing in flight.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio
import mcp_types as types
from mcp.server import CacheHint, Server, ServerRequestContext
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import (
    DEFAULT_MAX_REQUEST_BODY_SIZE,
    TransportSecurityMiddleware,
    TransportSecuritySettings,
)
from mcp.shared.exceptions import MCPError
from mcp.shared.inbound import x_mcp_header_map
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from . import __version__
from .auth import (
    CREDENTIALS_SCOPE_KEY,
    REFUSED_MESSAGE,
    AuthMiddleware,
    CredentialChecks,
    Style,
    refusal_body,
    send_json,
)
from .confirm import Confirmations
from .context import Services, ToolContext
from .credentials import Credentials
from .errors import ToolError
from .executor import ToolOutcome, run_tool
from .fastpath import FastToolCalls
from .generated.tools import TOOLS
from .manifest import NOTE_TOOL, Manifest, build_manifest, note_tool, to_wire
from .meta import AccountMeta, MetaCache
from .registry import Entry, Handler, build_registry, load_overrides
from .replay import read_body
from .sessions import HandshakeSessions, RequestIdCheck, SessionTracker
from .settings import Settings
from .upstream import Upstream

log = logging.getLogger("ontraport_mcp.server")
SERVER_NAME = "ontraport-mcp"
INSTRUCTIONS = (
    "Tools for one Ontraport CRM account. Prefer the specialised tools (manage_tags, "
    "get_invoices, complete_task, …) over the generic CRUD tools; page reads with start/range "
    "(≤ 50); destructive and money-moving tools return a confirmation summary first — show it "
    "to the user and repeat the call with the confirmation_token only if they agree."
)


class OntraportMCP:
    """Everything one server process needs, built once from ``Settings``."""

    def __init__(self, settings: Settings, *, upstream: Upstream | None = None) -> None:
        self.settings = settings
        self.upstream = upstream or Upstream(
            settings.base_url,
            timeout_s=settings.timeout_s,
            connect_timeout_s=settings.connect_timeout_s,
            retries=settings.read_retries,
            deadline_s=settings.retry_deadline_s,
            max_connections=settings.max_connections,
        )
        self.services = Services(
            settings=settings,
            upstream=self.upstream,
            meta=MetaCache(self.upstream, settings.meta_ttl_s),
            confirmations=Confirmations(settings.confirmation_ttl_s),
        )
        self.services.manifest_of = self.manifest
        self.checks = CredentialChecks(
            self.services.meta,
            accepted_ttl_s=settings.meta_ttl_s or 60.0,
            refused_ttl_s=settings.credential_refused_ttl_s,
            max_checks=settings.max_credential_checks,
        )
        self.services.refused = self.checks.refuse
        self.registry: dict[str, Entry] = build_registry(TOOLS, load_overrides())
        self.static_specs = [
            e.spec for e in sorted(self.registry.values(), key=lambda e: e.spec.name)
        ]
        self.static_wire = [to_wire(s) for s in self.static_specs]
        self._manifests: dict[str, tuple[AccountMeta, Manifest]] = {}
        self._header_schemas = {
            s.name: s.input_schema
            for s in self.static_specs
            if x_mcp_header_map(s.input_schema)  # the SDK's own reading of x-mcp-header
        }
        ttl_ms = int(settings.meta_ttl_s * 1000)
        self.server: Server[Any] = Server(
            SERVER_NAME,
            version=__version__,
            instructions=INSTRUCTIONS,
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
            get_tool_input_schema=self._input_schema,
            cache_hints={"tools/list": CacheHint(ttl_ms=ttl_ms, scope="private")},
        )

    # --- credentials -------------------------------------------------------------------------

    def credentials(self, ctx: ServerRequestContext[Any, Any]) -> Credentials:
        request = ctx.request
        if request is not None:
            creds = request.scope.get(CREDENTIALS_SCOPE_KEY)
            if isinstance(creds, Credentials):
                return creds
        single = self.settings.single_account()
        if request is None and single is not None:
            return Credentials(app_id=single[0], api_key=single[1])
        raise MCPError(code=types.INVALID_REQUEST, message="Ontraport credentials are required.")

    # --- manifest ----------------------------------------------------------------------------

    async def manifest(self, creds: Credentials) -> Manifest:
        meta = await self.services.meta.get(creds)
        cached = self._manifests.get(creds.account_hash)
        if cached is not None and cached[0] is meta:
            return cached[1]
        built = build_manifest(
            self.static_specs, self.static_wire, meta, self.settings.manifest_cap
        )
        self._manifests[creds.account_hash] = (meta, built)
        if len(self._manifests) > 10_000:
            self._manifests.pop(next(iter(self._manifests)))
        return built

    async def _list_tools(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        creds = self.credentials(ctx)
        try:
            manifest = await self.manifest(creds)
        except ToolError as exc:
            self._refused(creds, exc)
            # the static tools work without the account's object types: list them, and a note
            # that says why the custom-object tools are missing; the client lists again soon
            retry_s = _retry_s(exc)
            note = to_wire(unavailable_note(exc, retry_s))
            return types.ListToolsResult(
                tools=[*self.static_wire, note], ttl_ms=int(retry_s * 1000)
            )
        return types.ListToolsResult(tools=list(manifest.wire))

    def _refused(self, creds: Credentials, exc: ToolError) -> None:
        """Ontraport refused the credential (HTTP 401): remember it, and say so."""
        if exc.status != 401:
            return
        self.checks.refuse(creds)
        raise MCPError(
            code=types.INVALID_REQUEST,
            message=REFUSED_MESSAGE,
            data={"reason": "unauthorized", "upstream_status": 401},
        )

    def _input_schema(self, name: str) -> Mapping[str, Any] | None:
        """The schema the SDK checks ``Mcp-Param-*`` headers against — only for tools that
        declare such headers (none do), so the SDK skips a schema walk on every call."""
        return self._header_schemas.get(name)

    # --- calls -------------------------------------------------------------------------------

    async def _call_tool(
        self, ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> ToolOutcome:
        creds = self.credentials(ctx)
        args = dict(params.arguments or {})
        entry = self.registry.get(params.name)
        if entry is None:
            entry = await self._dynamic_entry(creds, params.name)
        tool_ctx = ToolContext(
            services=self.services,
            credentials=creds,
            spec=entry.spec,
            request=ctx,
            input_responses=dict(params.input_responses or {}) or None,
        )
        return await run_tool(entry, tool_ctx, args)

    async def _dynamic_entry(self, creds: Credentials, name: str) -> Entry:
        from .overrides.custom_objects import handler_for

        try:
            manifest = await self.manifest(creds)
        except ToolError as exc:
            self._refused(creds, exc)
            if name == NOTE_TOOL:  # the note of a listing made while Ontraport was unreachable
                spec = unavailable_note(exc, _retry_s(exc))
                return Entry(spec, _unavailable_handler(exc.message), None, "manifest note")
            raise MCPError(
                code=types.INTERNAL_ERROR,
                message=f"Could not read the account's object types: {exc.message}",
                data={"upstream_status": exc.status, "code": exc.code},
            ) from None
        spec = manifest.by_name.get(name)
        if spec is None:
            raise MCPError(
                code=types.INVALID_PARAMS,
                message=f"Unknown tool: {name}. Call tools/list for the tools of this account.",
            )
        return Entry(spec, handler_for(spec), None, "custom object")

    async def aclose(self) -> None:
        await self.upstream.aclose()


_UNAVAILABLE_RETRY_S = 5.0


def _retry_s(exc: ToolError) -> float:
    return max(1.0, exc.retry_after_s or _UNAVAILABLE_RETRY_S)


def unavailable_note(exc: ToolError, retry_s: float) -> Any:
    """The ``_manifest_note`` tool of a listing made without the account's object types."""
    reason = f"Ontraport's object types (/objects/meta) could not be read: {exc.message}"
    return dataclasses.replace(
        note_tool(()),
        title="Custom-object tools unavailable",
        description=(
            f"This account's custom-object tools are missing from this list. {reason} "
            f"The standard tools work as usual (custom objects too, through get_objects, "
            f"create_object, update_object with their object_type_id). List the tools again "
            f"in about {retry_s:.0f} s to get the custom-object tools."
        ),
        meta={"kind": "note", "omitted": [], "unavailable": reason},
    )


def _unavailable_handler(message: str) -> Handler:
    async def handle(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "omitted": [],
            "unavailable": message,
            "how_to_reach": "List the tools again shortly; meanwhile use get_objects, "
            "create_object and update_object with the object_type_id.",
        }

    return handle


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
        )
    else:
        handshake = RequestIdCheck(handshake)
    endpoint = AuthMiddleware(
        EraDispatch(handshake, modern_app), settings=settings, checks=mcp.checks
    )

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "name": SERVER_NAME, "version": __version__})

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with manager.run(), modern.run(), light.run(), anyio.create_task_group() as tg:
            tg.start_soon(tracker.sweep_forever)
            try:
                yield
            finally:
                tg.cancel_scope.cancel()
                await mcp.aclose()

    from .facade import facade_router

    facade = FacadeGuard(
        AuthMiddleware(facade_router(mcp), settings=settings, checks=mcp.checks, style="facade"),
        security,
        DEFAULT_MAX_REQUEST_BODY_SIZE,
    )
    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/openapi.json", facade, methods=["GET"]),
        Route("/tools/{name}", facade, methods=["POST"]),
        Route("/v1/health", health, methods=["GET"]),
        Route("/mcp", endpoint, methods=["GET", "POST", "DELETE"]),
        Route("/v1", endpoint, methods=["GET", "POST", "DELETE"]),
        Route("/", endpoint, methods=["GET", "POST", "DELETE"]),
    ]
    starlette = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(HeaderLimit, max_bytes=settings.max_header_bytes)],
    )
    starlette.state.mcp = mcp
    starlette.state.fast_calls = fast
    starlette.state.tracker = tracker
    starlette.state.handshake = handshake
    starlette.state.started_at = time.time()
    return starlette
