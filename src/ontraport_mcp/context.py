"""What a tool handler gets: the caller's account, the upstream, the meta cache and settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .credentials import Credentials
from .meta import AccountMeta, MetaCache
from .settings import Settings
from .toolspec import ToolSpec
from .upstream import Upstream, UpstreamResult

if TYPE_CHECKING:
    from .confirm import Confirmations


@dataclass(slots=True)
class Services:
    """Process-wide parts, built once by the server."""

    settings: Settings
    upstream: Upstream
    meta: MetaCache
    confirmations: Confirmations


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

    @property
    def settings(self) -> Settings:
        return self.services.settings

    async def meta(self) -> AccountMeta:
        return await self.services.meta.get(self.credentials)

    async def call(
        self,
        operation_id: str,
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
    ) -> UpstreamResult:
        self.upstream_calls.append(operation_id)
        result = await self.services.upstream.call(
            operation_id, self.credentials, params=params, body=body
        )
        self.last_status = result.status
        return result

    def invalidate_meta(self) -> None:
        self.services.meta.invalidate(self.credentials)
