"""OAuth 2.1: the server as its own authorization server and resource server.

Browser-based connectors (claude.ai, Claude Desktop, ChatGPT) cannot send headers; they
discover this server's metadata, register (Client ID Metadata Document or RFC 7591), send the
user to the consent page — where the user enters the Ontraport App ID and API key and picks an
access level — and get tokens bound to this resource.  Header credentials keep working beside it.

Wiring (the HTTP server does this once, when ``settings.oauth`` is on)::

    from ontraport_mcp.oauth import OAuthServer
    from ontraport_mcp.state import open_store

    store = open_store(settings.store, data_dir=settings.data_dir)
    oauth = OAuthServer(settings, store, verify)     # verify(Credentials) -> "ok"|"refused"|"unavailable"
    routes = [*oauth.routes(), ...]                  # at the app root (/.well-known/..., /authorize, ...)
    mcp_app = oauth.gate(AuthMiddleware(mcp_app, ...))   # the gate outside the header check
    ...
    www_authenticate = oauth.challenge(scope)        # on every other 401 of the MCP endpoints
    await oauth.aclose()                             # at shutdown (then close the store)

After the gate, an OAuth request has ``scope["ontraport.credentials"]`` (``Credentials``) and
``scope["ontraport_mcp.access"]`` (``"read"``/``"write"``/``"full"``; read it with
``access_level(scope)``); ``LEVELS`` maps each level to the tool classes it allows.

Modules, one job each: ``levels`` (the access table), ``crypto`` (tokens, hashes, PKCE,
sealing), ``metadata`` (base URL, RFC 9728/8414 documents, the challenge), ``clients`` (DCR and
CIMD), ``grants`` (codes, tokens, rotation, revocation in the store), ``consent`` (the page),
``routes`` (HTTP endpoints), ``gate`` (the ASGI gate), ``server`` (``OAuthServer``), ``cli``
(``ontraport-mcp grants list|revoke``).
"""

from .clients import CIMDFetcher, public_only
from .gate import CREDENTIALS_SCOPE_KEY
from .levels import ACCESS_SCOPE_KEY, LEVELS, Level
from .routes import Verify
from .server import OAuthServer, access_level

__all__ = [
    "ACCESS_SCOPE_KEY",
    "CIMDFetcher",
    "CREDENTIALS_SCOPE_KEY",
    "LEVELS",
    "Level",
    "OAuthServer",
    "Verify",
    "access_level",
    "public_only",
]
