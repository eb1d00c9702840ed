"""What a tool handler gets: the caller's account, the upstream, the meta cache and settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..credentials import Credentials
from ..errors import ToolError
from ..generated.api import OntraportApi
from ..settings import Settings
from ..upstream.client import Upstream
from ..upstream.meta import AccountMeta, MetaCache
from ..upstream.operation import Operation, UpstreamResult
from .toolspec import ToolSpec

if TYPE_CHECKING:
    from .confirm import Confirmations


@dataclass(slots=True)
class Services:
    """Process-wide parts, built once by the server."""

    settings: Settings
    upstream: Upstream
    meta: MetaCache
    confirmations: Confirmations
    # the caller's tool manifest (set by the server; None when tools run outside it)
    manifest_of: Callable[[Credentials], Awaitable[Any]] | None = None
    # told when Ontraport answers a call with 401 (the server's credential verdicts, auth.py),
    # so the credential's next request is refused with HTTP 401 before any tool runs
    refused: Callable[[Credentials], None] | None = None


@dataclass(slots=True)
class ToolContext:
    services: Services
    credentials: Credentials
    spec: ToolSpec
    upstream_calls: list[str] = field(default_factory=list)
    last_status: int | None = None
    # the SDK's request context (None in direct calls): protocol era, session for elicitation
    request: Any = None
    # 2026-07-28 input_required round trip: the client's answers to our input requests
    input_responses: dict[str, Any] | None = None
    # how the call ended, as the audit line says it (set by the executor)
    outcome: str = field(default="ok", init=False)
    _api: OntraportApi | None = field(default=None, init=False, repr=False)

    @property
    def api(self) -> OntraportApi:
        """The Ontraport API as this caller: every upstream call of a tool goes through here."""
        if self._api is None:
            self._api = OntraportApi(self._send)
        return self._api

    @property
    def settings(self) -> Settings:
        return self.services.settings

    async def meta(self) -> AccountMeta:
        return await self.services.meta.get(self.credentials)

    async def _send(
        self, operation: Operation, query: Mapping[str, Any], body: Mapping[str, Any] | None
    ) -> UpstreamResult:
        self.upstream_calls.append(operation.operation_id)
        try:
            result = await self.services.upstream.call(operation, self.credentials, query, body)
        except ToolError as exc:
            if exc.status == 401 and self.services.refused is not None:
                self.services.refused(self.credentials)
            raise
        self.last_status = result.status
        return result

    async def custom_tool_names(self) -> dict[int, list[str]]:
        """Custom object type id -> the names of its tools in this caller's manifest."""
        if self.services.manifest_of is None:
            return {}
        manifest = await self.services.manifest_of(self.credentials)
        names: dict[int, list[str]] = {}
        for spec in manifest.tools:
            if spec.object_type_id is not None:
                names.setdefault(spec.object_type_id, []).append(spec.name)
        return names

    def invalidate_meta(self) -> None:
        self.services.meta.invalidate(self.credentials)
