"""Where this server lives, and what it tells OAuth clients about itself.

* RFC 9728 protected-resource metadata, path-aware: ``/.well-known/oauth-protected-resource/mcp``
  describes the resource ``<base>/mcp`` (``/v1`` likewise; the root document describes
  ``<base>``, for clients pointed at ``/``).  The three MCP endpoints are one resource with three
  names: a token bound to any of them is good at all of them, and at nothing else.
* RFC 8414 authorization-server metadata: S256 only, public clients (``none``), Client ID
  Metadata Documents, and ``iss`` in the authorization response.  The SDK's ``build_metadata``
  cannot say the last three, hence this module.
* ``challenge``: the ``WWW-Authenticate`` value of every 401.

The base URL is ``public_url`` when set (behind a proxy), else the request's own scheme and
``Host``; a ``Host`` that is not a plain host[:port] falls back to the address the server is
bound to, so a forged header cannot put markup or quotes into a URL.
"""

from __future__ import annotations

import re
from typing import Any, Final

from starlette.types import Scope

from .levels import all_scopes

MCP_PATHS: Final[tuple[str, ...]] = ("/mcp", "/v1", "/")
"""The MCP endpoints; ``/mcp`` is the canonical one."""
CANONICAL_PATH: Final = "/mcp"
PRM_PATH: Final = "/.well-known/oauth-protected-resource"
AS_PATH: Final = "/.well-known/oauth-authorization-server"

ENDPOINTS: Final[dict[str, str]] = {
    "authorization_endpoint": "/authorize",
    "token_endpoint": "/token",
    "registration_endpoint": "/register",
    "revocation_endpoint": "/revoke",
}

_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


def base_url(scope: Scope, public_url: str | None) -> str:
    """The scheme://host[:port] (plus any path prefix of ``public_url``) this request reached."""
    if public_url:
        return public_url.rstrip("/")
    scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
    host = ""
    for name, value in scope.get("headers", []):
        if name == b"host":
            host = value.decode("latin-1")
            break
    if not _HOST.match(host):
        server = scope.get("server") or ("127.0.0.1", 80)
        address = f"[{server[0]}]" if ":" in str(server[0]) else str(server[0])
        host = f"{address}:{server[1]}"
    return f"{scheme}://{host.lower()}"


def resource_path(path: str) -> str:
    """The MCP endpoint a request path belongs to ("" for the root endpoint)."""
    for mcp_path in ("/mcp", "/v1"):
        if path == mcp_path or path.startswith(mcp_path + "/"):
            return mcp_path
    return "" if path in ("", "/") else CANONICAL_PATH


def normalize_resource(resource: str) -> str:
    """A resource URI compared without a trailing slash and with a lower-case scheme and host."""
    scheme, sep, rest = resource.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}{sep}{host.lower()}{slash}{path}".rstrip("/")


def resources(base: str) -> frozenset[str]:
    """Every name of this server's one resource, normalized."""
    return frozenset(normalize_resource(base + path) for path in MCP_PATHS)


def canonical_resource(base: str) -> str:
    return base + CANONICAL_PATH


def protected_resource_metadata(base: str, path: str) -> dict[str, Any]:
    """RFC 9728 §2 for the endpoint at ``path`` ("" is the root)."""
    return {
        "resource": base + path if path else base,
        "authorization_servers": [base],
        "scopes_supported": all_scopes(),
        "bearer_methods_supported": ["header"],
        "resource_name": "Ontraport MCP server",
    }


def authorization_server_metadata(base: str) -> dict[str, Any]:
    """RFC 8414 §2; the issuer is the base URL, exactly as ``iss`` is sent (RFC 9207)."""
    document: dict[str, Any] = {"issuer": base}
    document.update({name: base + path for name, path in ENDPOINTS.items()})
    document.update(
        {
            "scopes_supported": all_scopes(),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["none"],
            "revocation_endpoint_auth_methods_supported": ["none"],
            "code_challenge_methods_supported": ["S256"],
            "client_id_metadata_document_supported": True,
            "authorization_response_iss_parameter_supported": True,
        }
    )
    return document


def resource_metadata_url(base: str, path: str) -> str:
    """The PRM document of the endpoint at ``path`` (path-aware, RFC 9728 §3.1)."""
    return base + PRM_PATH + (path if path not in ("", "/") else "")


def challenge(
    base: str, path: str = CANONICAL_PATH, *, error: str | None = None, description: str = ""
) -> str:
    """The ``WWW-Authenticate`` value of a 401: where the metadata is and which scopes exist;
    with ``error`` (RFC 6750 §3.1: ``invalid_token``) when a token was presented and refused."""
    parts = [f'resource_metadata="{resource_metadata_url(base, resource_path(path))}"']
    parts.append(f'scope="{" ".join(all_scopes())}"')
    if error:
        parts.insert(0, f'error="{error}"')
        if description:
            parts.insert(1, f'error_description="{description}"')
    return "Bearer " + ", ".join(parts)
