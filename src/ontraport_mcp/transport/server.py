"""The MCP server: a low-level ``mcp.server.Server`` whose handlers hand every request to the one
dispatch (``runtime.dispatch``).

Credentials arrive per request (``auth``, or the OAuth gate) and are never stored; the SDK binds
each handshake-era session to the credential digest, so another credential presenting a session
id is refused.  A credential Ontraport refuses (HTTP 401) is remembered and answered here with
the refusal message; when Ontraport cannot be reached, ``tools/list`` still lists the static
tools plus a note tool that says why the custom-object tools are missing and when to list again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mcp_types as types
from mcp.server import CacheHint, Server, ServerRequestContext
from mcp.server.request_state import RequestStateBoundary, RequestStateSecurity
from mcp.shared.exceptions import MCPError
from mcp.shared.inbound import x_mcp_header_map

from .. import __version__
from ..credentials import Credentials
from ..errors import ToolError
from ..runtime.confirm import EXPIRED_GRACE_S, Confirmations
from ..runtime.context import Services
from ..runtime.dispatch import ACCESS_SCOPE_KEY, Access, Dispatch, UnknownTool
from ..runtime.executor import ToolOutcome
from ..settings import Settings
from ..state import Store, open_store
from ..state.governor import Governor
from ..upstream.client import Upstream
from ..upstream.meta import MetaCache
from .auth import CREDENTIALS_SCOPE_KEY, REFUSED_MESSAGE, CredentialChecks

SERVER_NAME = "ontraport-mcp"  # also the request states' audience: the same on every replica
REQUEST_STATE_KEY_BYTES = 32
INSTRUCTIONS = (
    "Tools for one Ontraport CRM account. Prefer the specialised tools (manage_tags, "
    "get_invoices, complete_task, …) over the generic CRUD tools; page reads with start/range "
    "(≤ 50); destructive and money-moving tools return a confirmation summary first — show it "
    "to the user and repeat the call with the confirmation_token only if they agree."
)


def request_state_security(settings: Settings) -> RequestStateSecurity:
    """How 2026-07-28 request states are sealed: under ``request_state_keys`` when configured
    (shared by every replica, so a confirmation round answered by another replica verifies),
    else under a key made for this process (a round then only verifies on the replica that
    asked).  They live as long as a confirmation token can say "expired", so an old answer gets
    that clear message rather than the SDK's bare "Invalid or expired requestState"."""
    ttl_s = settings.confirmation_ttl_s + EXPIRED_GRACE_S
    keys = [key.get_secret_value() for key in settings.request_state_keys]
    if not keys:
        return RequestStateSecurity.ephemeral(ttl=ttl_s)
    if any(len(key.encode()) < REQUEST_STATE_KEY_BYTES for key in keys):
        raise ValueError(
            f"each request_state_keys entry needs at least {REQUEST_STATE_KEY_BYTES} bytes of "
            'secret randomness (python -c "import secrets; print(secrets.token_hex(32))")'
        )
    return RequestStateSecurity(keys=keys, ttl=ttl_s)


def running_stale_s(settings: Settings) -> float:
    """How long a claimed money call may run before it counts as possibly done (its process
    died mid-call): well past what one call can take (a few upstream calls, each bounded by
    ``timeout_s``, plus the rate governor's wait)."""
    return 4 * settings.timeout_s + settings.rate_wait_max_s


class OntraportMCP:
    """Everything one server process needs, built once from ``Settings``."""

    def __init__(self, settings: Settings, *, upstream: Upstream | None = None) -> None:
        self.settings = settings
        # state that outlives a request: SQLite under data_dir, or Redis (--store)
        self.store: Store = open_store(settings.store, data_dir=settings.data_dir)
        # every account's request budget toward Ontraport, shared through the store
        self.governor = Governor.for_store(
            self.store,
            per_minute=settings.rate_limit_per_minute,
            wait_max_s=settings.rate_wait_max_s,
        )
        self.upstream = upstream or Upstream(
            settings.base_url,
            timeout_s=settings.timeout_s,
            connect_timeout_s=settings.connect_timeout_s,
            retries=settings.read_retries,
            deadline_s=settings.retry_deadline_s,
            max_connections=settings.max_connections,
            governor=self.governor,
        )
        self.services = Services(
            settings=settings,
            upstream=self.upstream,
            meta=MetaCache(self.upstream, settings.meta_ttl_s, self.store),
            # confirmation tokens and the money duplicate guard, on the shared store
            confirmations=Confirmations(
                self.store,
                settings.confirmation_ttl_s,
                running_stale_s=running_stale_s(settings),
            ),
        )
        self.dispatch = Dispatch(self.services)
        self.services.manifest_of = self.dispatch.manifest
        self.checks = CredentialChecks(
            self.services.meta,
            accepted_ttl_s=settings.meta_ttl_s or 60.0,
            refused_ttl_s=settings.credential_refused_ttl_s,
            max_checks=settings.max_credential_checks,
        )
        self.services.refused = self.checks.refuse
        self._header_schemas = {
            s.name: s.input_schema
            for s in self.dispatch.static_specs
            if x_mcp_header_map(s.input_schema)  # the SDK's own reading of x-mcp-header
        }
        # tools/list may be cached by the client for as long as the account's types are
        self.list_hint = (int(settings.meta_ttl_s * 1000), "private")
        self.server: Server[Any] = Server(
            SERVER_NAME,
            version=__version__,
            instructions=INSTRUCTIONS,
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
            get_tool_input_schema=self.input_schema,
            cache_hints={"tools/list": CacheHint(ttl_ms=self.list_hint[0], scope="private")},
        )
        # 2026-07-28 input_required rounds: the request state is sealed, bound to the request,
        # the caller and this server's name (the audience, the same on every replica)
        self.server.middleware.append(
            RequestStateBoundary(request_state_security(settings), default_audience=SERVER_NAME)
        )

    # --- who is calling ----------------------------------------------------------------------

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

    def access(self, ctx: ServerRequestContext[Any, Any]) -> Access:
        """The caller's access: an OAuth grant's level, else ``full`` (operator flags apply)."""
        request = ctx.request
        level = request.scope.get(ACCESS_SCOPE_KEY) if request is not None else None
        return self.dispatch.access(level)

    def input_schema(self, name: str) -> Mapping[str, Any] | None:
        """The schema the SDK checks ``Mcp-Param-*`` headers against — only for tools that
        declare such headers (none do), so the SDK skips a schema walk on every call."""
        return self._header_schemas.get(name)

    # --- handlers ----------------------------------------------------------------------------

    async def _list_tools(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        creds = self.credentials(ctx)
        try:
            listing = await self.dispatch.listing(creds, self.access(ctx))
        except ToolError as exc:
            raise self._account_error(creds, exc) from None
        if listing.ttl_ms is not None:
            return types.ListToolsResult(tools=list(listing.tools), ttl_ms=listing.ttl_ms)
        return types.ListToolsResult(tools=list(listing.tools))

    async def _call_tool(
        self, ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> ToolOutcome:
        creds = self.credentials(ctx)
        try:
            return await self.dispatch.call(
                creds,
                params.name,
                dict(params.arguments or {}),
                access=self.access(ctx),
                request=ctx,
                input_responses=params.input_responses,
            )
        except UnknownTool as exc:
            raise MCPError(code=types.INVALID_PARAMS, message=exc.message) from None
        except ToolError as exc:  # the account's object types could not be read
            raise self._account_error(creds, exc) from None

    def _account_error(self, creds: Credentials, exc: ToolError) -> MCPError:
        """A failed read of the account's object types, as a JSON-RPC error; a 401 marks the
        credential refused, so its next request gets HTTP 401 at the door (``auth``)."""
        if exc.status == 401:
            self.checks.refuse(creds)
            return MCPError(
                code=types.INVALID_REQUEST,
                message=REFUSED_MESSAGE,
                data={"reason": "unauthorized", "upstream_status": 401},
            )
        return MCPError(
            code=types.INTERNAL_ERROR,
            message=f"Could not read the account's object types: {exc.message}",
            data={"upstream_status": exc.status, "code": exc.code},
        )

    async def aclose(self) -> None:
        await self.upstream.aclose()
        await self.store.aclose()
