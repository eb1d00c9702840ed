"""The MCP server: a low-level ``mcp.server.Server`` whose tool list is built per caller.

HTTP: streamable HTTP at ``/mcp`` (also ``/`` and ``/v1``, the paths of the hosted and the Node
servers), both protocol eras (2026-07-28 single requests and the initialize handshake with
sessions), ``/health`` and ``/v1/health`` without credentials.  stdio: single-account mode.

Credentials arrive per request (see ``auth``) and are never stored; the SDK binds each
handshake-era session to the credential digest, so another credential presenting a session id is
refused.  Idle sessions — including those holding an open GET stream — are swept here because
the SDK only expires sessions with nothing in flight.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio
import mcp_types as types
from mcp.server import CacheHint, Server, ServerRequestContext
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import __version__
from .auth import CREDENTIALS_SCOPE_KEY, AuthMiddleware
from .confirm import Confirmations
from .context import Services, ToolContext
from .credentials import Credentials
from .errors import ToolError
from .executor import ToolOutcome, run_tool
from .fastpath import FastToolCalls
from .generated.tools import TOOLS
from .manifest import Manifest, build_manifest, to_wire
from .meta import AccountMeta, MetaCache
from .registry import Entry, build_registry, load_overrides
from .sessions import HandshakeSessions, SessionTracker
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
        self.registry: dict[str, Entry] = build_registry(TOOLS, load_overrides())
        self.static_specs = [
            e.spec for e in sorted(self.registry.values(), key=lambda e: e.spec.name)
        ]
        self.static_wire = [to_wire(s) for s in self.static_specs]
        self._manifests: dict[str, tuple[AccountMeta, Manifest]] = {}
        self._header_schemas = {
            s.name: s.input_schema
            for s in self.static_specs
            if "x-mcp-header" in repr(s.input_schema)
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
            # never a partial manifest: the client learns why and may retry
            raise MCPError(
                code=types.INTERNAL_ERROR,
                message=f"Could not read the account's object types (/objects/meta): {exc.message}",
                data={
                    "upstream_status": exc.status,
                    "code": exc.code,
                    "retry_after_s": exc.retry_after_s,
                },
            ) from None
        return types.ListToolsResult(tools=list(manifest.wire))

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
            raise MCPError(
                code=types.INTERNAL_ERROR,
                message=f"Could not read the account's object types: {exc.message}",
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
    tracker = SessionTracker(manager, idle_timeout_s=settings.session_idle_timeout_s)
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
    if settings.light_sessions and not settings.stateless:
        handshake = HandshakeSessions(
            handshake,
            StreamableHTTPASGIApp(light),
            tracker,
            security=security,
            max_sessions=settings.max_sessions,
            elicitation_used=settings.confirm != "never",
            fast=fast,
        )
    endpoint = AuthMiddleware(EraDispatch(handshake, modern_app), settings=settings)

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

    facade = AuthMiddleware(facade_router(mcp), settings=settings)
    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/openapi.json", facade, methods=["GET"]),
        Route("/tools/{name}", facade, methods=["POST"]),
        Route("/v1/health", health, methods=["GET"]),
        Route("/mcp", endpoint, methods=["GET", "POST", "DELETE"]),
        Route("/v1", endpoint, methods=["GET", "POST", "DELETE"]),
        Route("/", endpoint, methods=["GET", "POST", "DELETE"]),
    ]
    starlette = Starlette(routes=routes, lifespan=lifespan)
    starlette.state.mcp = mcp
    starlette.state.fast_calls = fast
    starlette.state.tracker = tracker
    starlette.state.handshake = handshake
    starlette.state.started_at = time.time()
    return starlette
