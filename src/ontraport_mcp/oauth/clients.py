"""Who may ask for a grant: registered clients (RFC 7591) and Client ID Metadata Documents.

A client is known in one of two ways:

* **CIMD** — its ``client_id`` is an https URL; the document there names it and its redirect
  URIs.  Fetching a URL a stranger chose is a server-side request forgery risk, so the fetch
  resolves the host first, refuses any address that is not public (loopback, private,
  link-local, multicast, reserved…), connects to the address it checked (no second lookup an
  attacker's DNS could answer differently), follows no redirect, reads at most
  ``CIMD_MAX_BYTES`` within ``CIMD_TIMEOUT_S``, and caches good documents (bounded, with a TTL).
  The address policy and the TLS trust are injectable so a test can serve a document on
  127.0.0.1 — the default refuses it.
* **DCR** — ``POST /register``: public clients only (``token_endpoint_auth_method: none``; any
  other method asked for is replaced, as RFC 7591 §3.2.1 allows).  At most ``MAX_CLIENTS``
  registrations are kept.

Redirect URIs: https anywhere; http only on a loopback host (RFC 8252 §7.3), where the port may
differ at request time (a desktop app picks a free port); a private-use scheme for native apps
(``cursor://…``, RFC 8252 §7.1).  Everything else is matched exactly, character for character.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import ssl
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from ..state import Store
from .crypto import new_token
from .errors import ClientError

MAX_CLIENTS: Final = 10_000
MAX_REDIRECT_URIS: Final = 10
MAX_URI_CHARS: Final = 2000
MAX_NAME_CHARS: Final = 100
CIMD_MAX_BYTES: Final = 64 * 1024
CIMD_TIMEOUT_S: Final = 5.0
CIMD_CACHE_TTL_S: Final = 300.0
CIMD_CACHE_SIZE: Final = 1000
LOOPBACK_HOSTS: Final = ("127.0.0.1", "::1", "localhost")
FORBIDDEN_SCHEMES: Final = frozenset({"javascript", "data", "file", "vbscript", "about", "blob"})
_CLIENT_KEY: Final = "oauth:client:"
_CLIENT_COUNT_KEY: Final = "oauth:clients:count"


@dataclass(frozen=True)
class Client:
    """What the server needs to know about a client."""

    client_id: str
    redirect_uris: tuple[str, ...]
    client_name: str = ""
    registered_at: float = field(default_factory=time.time)

    @property
    def display_name(self) -> str:
        return self.client_name or urlsplit(self.client_id).hostname or self.client_id

    def redirect_for(self, requested: str | None) -> str:
        """The redirect URI to use: the requested one if it matches a registered one (exactly,
        or a loopback one with any port), the only registered one when none was sent."""
        if requested is None:
            if len(self.redirect_uris) == 1:
                return self.redirect_uris[0]
            raise ClientError("invalid_request", "redirect_uri is required for this client")
        if any(redirect_matches(requested, registered) for registered in self.redirect_uris):
            return requested
        raise ClientError("invalid_request", "redirect_uri is not registered for this client")

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Client:
        data = json.loads(raw)
        return cls(
            client_id=data["client_id"],
            redirect_uris=tuple(data["redirect_uris"]),
            client_name=data.get("client_name", ""),
            registered_at=data.get("registered_at", 0.0),
        )


def check_redirect_uri(uri: object) -> str:
    """A redirect URI as registered, or ``ClientError(invalid_redirect_uri)``."""
    if not isinstance(uri, str) or not uri or len(uri) > MAX_URI_CHARS:
        raise ClientError("invalid_redirect_uri", "each redirect URI must be a non-empty string")
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 — raises on a malformed port
    except ValueError as exc:
        raise ClientError("invalid_redirect_uri", "a redirect URI is not a valid URL") from exc
    if parts.fragment or "#" in uri:
        raise ClientError("invalid_redirect_uri", "a redirect URI must not have a fragment")
    if any(ch.isspace() or ord(ch) < 0x21 for ch in uri):
        raise ClientError("invalid_redirect_uri", "a redirect URI must not contain spaces")
    scheme = parts.scheme.lower()
    if scheme == "https" and parts.hostname:
        return uri
    if scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return uri
    if scheme == "http":
        raise ClientError(
            "invalid_redirect_uri", "http redirect URIs are allowed on loopback only; use https"
        )
    if scheme and scheme not in FORBIDDEN_SCHEMES and scheme not in ("https", "http"):
        return uri  # a native app's private-use scheme (RFC 8252 §7.1)
    raise ClientError(
        "invalid_redirect_uri", "a redirect URI must be https, loopback http or an app scheme"
    )


def redirect_matches(requested: str, registered: str) -> bool:
    """Exact match, except that a loopback http URI matches with any port (RFC 8252 §7.3)."""
    if requested == registered:
        return True
    req, reg = urlsplit(requested), urlsplit(registered)
    if req.scheme == reg.scheme == "http" and req.hostname in LOOPBACK_HOSTS:
        try:
            req.port, reg.port  # noqa: B018 — a malformed port never matches
        except ValueError:
            return False
        return (req.hostname, req.path, req.query) == (reg.hostname, reg.path, reg.query)
    return False


def _name(value: object) -> str:
    if not isinstance(value, str):
        return ""
    cleaned = " ".join(value.split())
    return cleaned[:MAX_NAME_CHARS]


def _redirects(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ClientError("invalid_redirect_uri", "redirect_uris must be a non-empty list")
    if len(value) > MAX_REDIRECT_URIS:
        raise ClientError("invalid_redirect_uri", f"at most {MAX_REDIRECT_URIS} redirect URIs")
    return tuple(check_redirect_uri(uri) for uri in value)


def _check_grant_types(metadata: dict[str, Any]) -> None:
    grant_types = metadata.get("grant_types", ["authorization_code"])
    if not isinstance(grant_types, list) or "authorization_code" not in grant_types:
        raise ClientError("invalid_client_metadata", "grant_types must include authorization_code")
    response_types = metadata.get("response_types", ["code"])
    if not isinstance(response_types, list) or "code" not in response_types:
        raise ClientError("invalid_client_metadata", "response_types must include code")


# ---------------------------------------------------------------------------------- DCR
class Registry:
    """Registered (DCR) clients, in the store; CIMD clients through ``CIMDFetcher``."""

    def __init__(self, store: Store, fetcher: CIMDFetcher) -> None:
        self._store = store
        self._fetcher = fetcher

    async def register(self, metadata: object) -> tuple[Client, dict[str, Any]]:
        """RFC 7591 §3: a new public client and the response body, or ``ClientError``."""
        if not isinstance(metadata, dict):
            raise ClientError(
                "invalid_client_metadata", "send the client metadata as a JSON object"
            )
        redirect_uris = _redirects(metadata.get("redirect_uris"))
        _check_grant_types(metadata)
        count = await self._store.incr(_CLIENT_COUNT_KEY)
        if count > MAX_CLIENTS:
            await self._store.incr(_CLIENT_COUNT_KEY, -1)
            raise ClientError(
                "invalid_client_metadata",
                "this server has registered as many clients as it keeps; ask its operator",
            )
        client = Client(
            client_id=new_token("client"),
            redirect_uris=redirect_uris,
            client_name=_name(metadata.get("client_name")),
        )
        await self._store.put(_CLIENT_KEY + client.client_id, client.to_json())
        body: dict[str, Any] = {
            "client_id": client.client_id,
            "client_id_issued_at": int(client.registered_at),
            "redirect_uris": list(client.redirect_uris),
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
        }
        if client.client_name:
            body["client_name"] = client.client_name
        return client, body

    async def get(self, client_id: str) -> Client:
        """The client, or ``ClientError(invalid_client)``; a URL id is fetched as a CIMD."""
        if client_id.startswith("https://"):
            return await self._fetcher.fetch(client_id)
        if len(client_id) > 200 or not client_id.startswith("omcp_client_"):
            raise ClientError("invalid_client", "unknown client_id")
        raw = await self._store.get(_CLIENT_KEY + client_id)
        if raw is None:
            raise ClientError("invalid_client", "unknown client_id; register again")
        return Client.from_json(raw)

    async def aclose(self) -> None:
        await self._fetcher.aclose()


# ---------------------------------------------------------------------------------- CIMD
AddressPolicy = Callable[[ipaddress.IPv4Address | ipaddress.IPv6Address], bool]
"""Whether the fetcher may connect to an address."""


def public_only(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """The default policy: globally routable unicast only (no loopback, private, link-local,
    multicast, reserved, unspecified, shared or documentation ranges)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return public_only(address.ipv4_mapped)
    return address.is_global and not address.is_multicast


async def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system resolver, off the event loop)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _check_cimd_url(url: str) -> tuple[str, int]:
    if len(url) > MAX_URI_CHARS:
        raise ClientError("invalid_client", "the client_id URL is too long")
    try:
        parts = urlsplit(url)
        port = parts.port or 443
    except ValueError as exc:
        raise ClientError("invalid_client", "the client_id is not a valid URL") from exc
    if parts.scheme != "https" or not parts.hostname or parts.path in ("", "/"):
        raise ClientError("invalid_client", "a client_id URL must be https with a path")
    if parts.username or parts.password or parts.fragment:
        raise ClientError(
            "invalid_client", "a client_id URL must not carry credentials or a fragment"
        )
    return parts.hostname, port


class CIMDFetcher:
    """Fetch, check and cache Client ID Metadata Documents."""

    def __init__(
        self,
        *,
        policy: AddressPolicy = public_only,
        verify: ssl.SSLContext | bool = True,
        resolver: Callable[[str, int], Any] = resolve,
        timeout_s: float = CIMD_TIMEOUT_S,
        max_bytes: int = CIMD_MAX_BYTES,
        cache_ttl_s: float = CIMD_CACHE_TTL_S,
        cache_size: int = CIMD_CACHE_SIZE,
    ) -> None:
        self._policy = policy
        self._resolver = resolver
        self._timeout_s = timeout_s
        self._max_bytes = max_bytes
        self._cache_ttl_s = cache_ttl_s
        self._cache_size = cache_size
        self._cache: OrderedDict[str, tuple[float, Client]] = OrderedDict()
        self._http = httpx.AsyncClient(
            verify=verify,
            follow_redirects=False,
            timeout=httpx.Timeout(timeout_s),
            trust_env=False,  # never through a proxy from the environment: we pinned the address
        )
        self.fetches = 0  # documents actually fetched (tests read it)

    async def fetch(self, url: str) -> Client:
        """The client a CIMD URL describes, or ``ClientError(invalid_client)``."""
        cached = self._cache.get(url)
        if cached is not None and cached[0] > time.monotonic():
            self._cache.move_to_end(url)
            return cached[1]
        host, port = _check_cimd_url(url)
        try:
            async with asyncio.timeout(self._timeout_s):
                body = await self._get_any(url, host, await self._addresses(host, port))
        except TimeoutError as exc:
            raise ClientError("invalid_client", "the client metadata document timed out") from exc
        client = self._client_of(url, body)
        self._cache[url] = (time.monotonic() + self._cache_ttl_s, client)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return client

    async def _addresses(self, host: str, port: int) -> list[str]:
        """The host's addresses as URL hosts, all of them allowed by the policy."""
        try:
            addresses = await self._resolver(host, port)
        except OSError as exc:
            raise ClientError("invalid_client", "the client_id host does not resolve") from exc
        allowed: list[str] = []
        for text in addresses:
            try:
                address = ipaddress.ip_address(text.split("%", 1)[0])
            except ValueError as exc:
                raise ClientError("invalid_client", "the client_id host does not resolve") from exc
            if not self._policy(address):
                # one refused address refuses the host: DNS could hand out either
                raise ClientError(
                    "invalid_client", "the client_id host resolves to a non-public address"
                )
            allowed.append(f"[{address}]" if address.version == 6 else str(address))
        if not allowed:
            raise ClientError("invalid_client", "the client_id host does not resolve")
        return allowed

    async def _get_any(self, url: str, host: str, addresses: list[str]) -> bytes:
        """The document from the first address that accepts a connection."""
        for address in addresses[:-1]:
            try:
                return await self._get(url, host, address)
            except ClientError as exc:
                if not isinstance(exc.__cause__, httpx.ConnectError):
                    raise
        return await self._get(url, host, addresses[-1])

    async def _get(self, url: str, host: str, address: str) -> bytes:
        """GET the document from ``address`` with TLS verified against ``host`` (SNI)."""
        parts = urlsplit(url)
        target = parts._replace(netloc=f"{address}:{parts.port or 443}").geturl()
        headers = {"Host": parts.netloc, "Accept": "application/json"}
        self.fetches += 1
        try:
            async with self._http.stream(
                "GET", target, headers=headers, extensions={"sni_hostname": host}
            ) as response:
                if response.status_code != 200:
                    raise ClientError(
                        "invalid_client",
                        f"the client metadata document answered HTTP {response.status_code}",
                    )
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self._max_bytes:
                    raise ClientError("invalid_client", "the client metadata document is too large")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self._max_bytes:
                        raise ClientError(
                            "invalid_client", "the client metadata document is too large"
                        )
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise ClientError(
                "invalid_client", "the client metadata document could not be fetched"
            ) from exc

    @staticmethod
    def _client_of(url: str, body: bytes) -> Client:
        try:
            document = json.loads(body)
        except ValueError as exc:
            raise ClientError("invalid_client", "the client metadata document is not JSON") from exc
        if not isinstance(document, dict):
            raise ClientError("invalid_client", "the client metadata document is not an object")
        if document.get("client_id") != url:
            raise ClientError(
                "invalid_client", "the client metadata document names another client_id"
            )
        method = document.get("token_endpoint_auth_method", "none")
        if method != "none":
            raise ClientError(
                "invalid_client", "only public clients (token_endpoint_auth_method none) are served"
            )
        try:
            redirect_uris = _redirects(document.get("redirect_uris"))
            _check_grant_types(document)
        except ClientError as exc:
            raise ClientError("invalid_client", exc.description) from exc
        return Client(
            client_id=url,
            redirect_uris=redirect_uris,
            client_name=_name(document.get("client_name")),
        )

    async def aclose(self) -> None:
        await self._http.aclose()
