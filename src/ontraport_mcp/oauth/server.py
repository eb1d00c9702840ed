"""``OAuthServer``: the one object the HTTP server builds to be its own authorization server."""

from __future__ import annotations

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Scope

from ..settings import Settings
from ..state import Store
from .clients import CIMDFetcher, Registry
from .gate import OAuthGate
from .grants import Grants, Lifetimes
from .levels import ACCESS_SCOPE_KEY, Level, parse_level
from .metadata import base_url
from .metadata import challenge as challenge_for
from .routes import Endpoints, Verify


def lifetimes_of(settings: Settings) -> Lifetimes:
    return Lifetimes(
        code_s=settings.oauth_code_ttl_s,
        access_s=settings.oauth_access_token_ttl_s,
        refresh_s=settings.oauth_refresh_token_ttl_s,
    )


class OAuthServer:
    """Routes, gate and challenge over one store.

    ``verify`` asks Ontraport whether credentials are good ("ok" / "refused" /
    "unavailable"); ``fetcher`` fetches Client ID Metadata Documents (the default refuses every
    non-public address; tests inject one that trusts a local CA and allows loopback).
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        verify: Verify,
        *,
        fetcher: CIMDFetcher | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.grants = Grants(store, lifetimes_of(settings))
        self.registry = Registry(store, fetcher or CIMDFetcher())
        self._endpoints = Endpoints(self.grants, self.registry, verify, settings.public_url)

    def routes(self) -> list[BaseRoute]:
        """The metadata, registration, authorization, token and revocation routes; mount them
        at the root of the app (the well-known paths are absolute)."""
        return self._endpoints.routes()

    def gate(self, app: ASGIApp) -> ASGIApp:
        """Wrap the MCP endpoints' app (outside the header-credential middleware)."""
        return OAuthGate(app, grants=self.grants, public_url=self.settings.public_url)

    def challenge(self, scope: Scope, *, error: str | None = None) -> str:
        """The ``WWW-Authenticate`` value for a 401 answered to the request ``scope``."""
        base = base_url(scope, self.settings.public_url)
        return challenge_for(base, scope.get("path", "/mcp"), error=error)

    async def aclose(self) -> None:
        """Close the CIMD fetcher's connections (the store belongs to the caller)."""
        await self.registry.aclose()


def access_level(scope: Scope) -> Level | None:
    """The OAuth access level of a request, None when it did not come with an OAuth token
    (header credentials: the operator's flags alone decide)."""
    value = scope.get(ACCESS_SCOPE_KEY)
    return parse_level(value) if isinstance(value, str) else None
