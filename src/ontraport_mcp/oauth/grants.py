"""Grants and everything that hangs off them, kept in the ``Store``.

Records (values are JSON; every token appears only as its SHA-256):

    oauth:req:<hash(request id)>   a pending authorization request (the consent page), 10 min
    oauth:opened[:<hash(client)>]  requests opened this minute, all clients / one client: the
                                   consent page is public, so what it may write is bounded
    oauth:code:<hash(code)>        an authorization code, ``oauth_code_ttl_s``; redeemed by
                                   ``take``, so at most once even when replicas race
    oauth:codeused:<hash(code)>    the grant a redeemed code started: a second use revokes it
    oauth:grant:<grant id>         client, account digest, level, resource, created; the grant is
                                   alive while this record is (revoking deletes it)
    oauth:used:<grant id>          when the grant was last used (written at most once a minute)
    oauth:at:<hash(token)>         an access token: grant, level, resource, expiry, credentials
    oauth:rt:<hash(token)>         a refresh token, likewise
    oauth:rtspent:<hash(token)>    the refresh token was rotated (``claim``: exactly one
                                   rotation wins; presenting it again revokes the grant)

The Ontraport credentials are in each code/token record, sealed under a key derived from that
token (``crypto.seal``); nothing else in the store opens them.  Records are written tokens first
and grant last, so a failure half-way leaves nothing usable behind.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any, Final

from ..credentials import Credentials
from ..state import Store, StoreUnavailable
from .crypto import SealError, app_digest, new_token, pkce_matches, seal, token_hash, unseal
from .errors import GrantError
from .levels import Level, parse_level, rank, scope_of, widest
from .metadata import normalize_resource

REQUEST_TTL_S: Final = 600.0
OPEN_WINDOW_S: Final = 60.0
MAX_OPEN_PER_CLIENT: Final = 30
"""Authorization requests one client may open per minute (a person signs in a few times)."""
MAX_OPEN_PER_MINUTE: Final = 1_000
"""All clients together: anyone may load ``GET /authorize`` with a registered client, and each
load writes a pending request that lives ``REQUEST_TTL_S``; so at most 10,000 are ever live.  A
flood turns sign-ins away for a minute (``temporarily_unavailable``); it never fills the store."""
MAX_CONSENT_ATTEMPTS: Final = 5
LAST_USED_EVERY_S: Final = 60.0
_MAX_TOUCHED: Final = 50_000
_MAX_GRANTS_LISTED: Final = 100_000


class RequestFlood(Exception):
    """Too many authorization requests were opened this minute; retry after ``retry_after_s``."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"too many authorization requests; retry in {retry_after_s:.0f} s")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Lifetimes:
    """Seconds each kind of secret lives (settings ``oauth_*_ttl_s``)."""

    code_s: float = 60.0
    access_s: float = 3600.0
    refresh_s: float = 30 * 86_400.0


@dataclass(frozen=True)
class PendingRequest:
    """An authorization request waiting on the consent page."""

    request_id: str
    csrf_hash: str
    client_id: str
    client_name: str
    redirect_uri: str
    state: str | None
    code_challenge: str
    resource: str
    scope: str | None
    redirect_given: bool = True
    """Whether the client named the redirect URI (then the token request must repeat it)."""

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> PendingRequest:
        return cls(**json.loads(raw))


@dataclass(frozen=True)
class TokenSet:
    """A token response (RFC 6749 §5.1)."""

    access_token: str
    refresh_token: str
    expires_in: int
    level: Level

    def body(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
            "scope": scope_of(self.level),
        }


@dataclass(frozen=True)
class Access:
    """What a valid access token gives a request."""

    credentials: Credentials
    level: Level
    grant_id: str
    client_id: str


@dataclass(frozen=True)
class GrantInfo:
    """A grant as the operator sees it: never a token, a key or an app id."""

    grant_id: str
    client_id: str
    client_name: str
    account: str
    level: Level
    created: float
    last_used: float | None


def _load(raw: bytes | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _pending_of(raw: bytes | None) -> PendingRequest | None:
    try:
        return PendingRequest.from_json(raw) if raw is not None else None
    except (ValueError, TypeError):
        return None


class Grants:
    """Every step of a grant's life, over one ``Store``."""

    def __init__(self, store: Store, lifetimes: Lifetimes) -> None:
        self._store = store
        self.lifetimes = lifetimes
        self._touched: dict[str, float] = {}

    # ------------------------------------------------------------------ the consent page
    async def open_request(
        self,
        *,
        client_id: str,
        client_name: str,
        redirect_uri: str,
        state: str | None,
        code_challenge: str,
        resource: str,
        scope: str | None,
        redirect_given: bool = True,
    ) -> tuple[PendingRequest, str]:
        """Record a pending request; returns it and its CSRF token (only its hash is kept).
        Raises ``RequestFlood`` when this client, or all clients together, opened too many this
        minute (nothing is written then)."""
        per_client = "oauth:opened:" + token_hash(client_id)
        for key, cap in ((per_client, MAX_OPEN_PER_CLIENT), ("oauth:opened", MAX_OPEN_PER_MINUTE)):
            if await self._store.incr(key, ttl_s=OPEN_WINDOW_S) > cap:
                raise RequestFlood(OPEN_WINDOW_S)
        csrf = new_token("csrf")
        request = PendingRequest(
            request_id=new_token("request"),
            csrf_hash=token_hash(csrf),
            client_id=client_id,
            client_name=client_name,
            redirect_uri=redirect_uri,
            state=state,
            code_challenge=code_challenge,
            resource=resource,
            scope=scope,
            redirect_given=redirect_given,
        )
        key = "oauth:req:" + token_hash(request.request_id)
        await self._store.put(key, request.to_json(), ttl_s=REQUEST_TTL_S)
        return request, csrf

    async def pending(self, request_id: str) -> PendingRequest | None:
        return _pending_of(await self._store.get("oauth:req:" + token_hash(request_id)))

    async def attempt(self, request_id: str) -> int:
        """Count a credential attempt on a pending request (bounded guessing per request)."""
        key = "oauth:reqtries:" + token_hash(request_id)
        return await self._store.incr(key, ttl_s=REQUEST_TTL_S)

    async def close_request(self, request_id: str) -> PendingRequest | None:
        """Take the request (once): the caller that gets it issues the code or the denial."""
        return _pending_of(await self._store.take("oauth:req:" + token_hash(request_id)))

    async def issue_code(self, request: PendingRequest, creds: Credentials, level: Level) -> str:
        """An authorization code for an approved request; the credentials sealed under it."""
        code = new_token("code")
        key = "oauth:code:" + token_hash(code)
        record = {
            "grant_id": secrets.token_urlsafe(16),
            "client_id": request.client_id,
            "client_name": request.client_name,
            "redirect_uri": request.redirect_uri,
            "redirect_given": request.redirect_given,
            "code_challenge": request.code_challenge,
            "resource": request.resource,
            "level": level,
            "account": app_digest(creds.app_id),
            "sealed": seal(creds, code, bound_to=key),
        }
        await self._store.put(key, json.dumps(record).encode(), ttl_s=self.lifetimes.code_s)
        return code

    # ------------------------------------------------------------------ the token endpoint
    async def redeem_code(
        self,
        code: str,
        *,
        client_id: str,
        redirect_uri: str | None,
        verifier: str | None,
        resources: frozenset[str],
        resource: str | None,
    ) -> TokenSet:
        """Exchange a code (RFC 6749 §4.1.3 with PKCE and RFC 8707): once, by its client, with
        its redirect URI and verifier, for this server's resource."""
        key = "oauth:code:" + token_hash(code)
        record = _load(await self._store.take(key))
        if record is None:
            used = await self._store.get("oauth:codeused:" + token_hash(code))
            if used is not None:  # RFC 6749 §4.1.2: a code used twice revokes its grant
                await self.revoke_grant(used.decode())
                raise GrantError("invalid_grant", "this authorization code was already used")
            raise GrantError("invalid_grant", "the authorization code is unknown or expired")
        await self._store.put(
            "oauth:codeused:" + token_hash(code),
            str(record["grant_id"]).encode(),
            ttl_s=max(self.lifetimes.code_s, REQUEST_TTL_S),
        )
        if record["client_id"] != client_id:
            raise GrantError("invalid_grant", "the code was issued to another client")
        if redirect_uri is None and record.get("redirect_given", True):
            raise GrantError("invalid_grant", "redirect_uri is required: it was in the request")
        if redirect_uri is not None and redirect_uri != record["redirect_uri"]:
            raise GrantError("invalid_grant", "redirect_uri differs from the authorization request")
        if not verifier:
            raise GrantError("invalid_grant", "code_verifier is required (PKCE)")
        if not pkce_matches(verifier, record["code_challenge"]):
            raise GrantError("invalid_grant", "code_verifier does not match the code challenge")
        bound = normalize_resource(record["resource"])
        if bound not in resources:
            raise GrantError("invalid_target", "the code was issued for another resource")
        if resource is not None and normalize_resource(resource) != bound:
            raise GrantError("invalid_target", "resource differs from the authorization request")
        level = parse_level(record.get("level"))
        if level is None:
            raise GrantError("invalid_grant", "the code is damaged; authorize again")
        try:
            creds = unseal(record["sealed"], code, bound_to=key)
        except SealError as exc:
            raise GrantError("invalid_grant", "the code is damaged; authorize again") from exc
        grant = {
            "grant_id": record["grant_id"],
            "client_id": client_id,
            "client_name": record.get("client_name", ""),
            "account": record["account"],
            "level": level,
            "resource": record["resource"],
            "created": time.time(),
        }
        tokens = await self._mint(grant, creds, level, level)
        await self._put_grant(grant)
        return tokens

    async def refresh(
        self,
        refresh_token: str,
        *,
        client_id: str,
        scope: str | None,
        resources: frozenset[str],
        resource: str | None,
    ) -> TokenSet:
        """Rotate a refresh token (RFC 6749 §6, OAuth 2.1 §4.3.1): a new pair, the old refresh
        token spent; a spent one presented again revokes the whole grant."""
        key = "oauth:rt:" + token_hash(refresh_token)
        record = _load(await self._store.get(key))
        if record is None or record.get("exp", 0) <= time.time():
            raise GrantError("invalid_grant", "the refresh token is unknown, expired or revoked")
        if record["client_id"] != client_id:
            raise GrantError("invalid_grant", "the refresh token was issued to another client")
        held = parse_level(record.get("level"))
        if held is None:
            raise GrantError("invalid_grant", "the refresh token is damaged; authorize again")
        wanted = held
        if scope is not None and scope.strip():
            asked = widest(scope)
            if asked is None:
                raise GrantError("invalid_scope", "scope names no access level of this server")
            if rank(asked) > rank(held):
                raise GrantError(
                    "invalid_scope",
                    f"this grant allows {scope_of(held)}; a refresh cannot widen it "
                    "(authorize again to ask for more)",
                )
            wanted = asked
        bound = normalize_resource(record["resource"])
        if bound not in resources or (
            resource is not None and normalize_resource(resource) != bound
        ):
            raise GrantError("invalid_target", "the refresh token is for another resource")
        spent_key = "oauth:rtspent:" + token_hash(refresh_token)
        spent_ttl = max(1.0, record["exp"] - time.time())
        if not await self._store.claim(spent_key, b"1", ttl_s=spent_ttl):
            await self.revoke_grant(record["grant_id"])
            raise GrantError(
                "invalid_grant",
                "this refresh token was already used; the grant is revoked, authorize again",
            )
        grant = _load(await self._store.get("oauth:grant:" + record["grant_id"]))
        if grant is None:
            raise GrantError("invalid_grant", "the grant was revoked; authorize again")
        try:
            creds = unseal(record["sealed"], refresh_token, bound_to=key)
        except SealError as exc:
            raise GrantError("invalid_grant", "the refresh token is damaged") from exc
        try:
            tokens = await self._mint(grant, creds, wanted, held)
            await self._put_grant(grant)
        except StoreUnavailable:
            # nothing reached the client: unspend the token so its retry is not taken for reuse
            with contextlib.suppress(StoreUnavailable):
                await self._store.delete(spent_key)
            raise
        return tokens

    async def _mint(
        self, grant: dict[str, Any], creds: Credentials, access_level: Level, refresh_level: Level
    ) -> TokenSet:
        now = time.time()
        access, refresh = new_token("access"), new_token("refresh")
        for token, kind, level, ttl in (
            (access, "at", access_level, self.lifetimes.access_s),
            (refresh, "rt", refresh_level, self.lifetimes.refresh_s),
        ):
            key = f"oauth:{kind}:{token_hash(token)}"
            record = {
                "grant_id": grant["grant_id"],
                "client_id": grant["client_id"],
                "resource": grant["resource"],
                "level": level,
                "exp": now + ttl,
                "sealed": seal(creds, token, bound_to=key),
            }
            await self._store.put(key, json.dumps(record).encode(), ttl_s=ttl)
        return TokenSet(access, refresh, int(self.lifetimes.access_s), access_level)

    async def _put_grant(self, grant: dict[str, Any]) -> None:
        """(Re)write the grant: it lives as long as its newest refresh token."""
        await self._store.put(
            "oauth:grant:" + grant["grant_id"],
            json.dumps(grant).encode(),
            ttl_s=self.lifetimes.refresh_s,
        )

    # ------------------------------------------------------------------ the resource server
    async def authenticate(self, access_token: str, resources: frozenset[str]) -> Access | None:
        """The access a bearer token gives at this resource; None when it is unknown, expired,
        revoked, for another resource, or damaged."""
        key = "oauth:at:" + token_hash(access_token)
        record = _load(await self._store.get(key))
        if record is None or record.get("exp", 0) <= time.time():
            return None
        if normalize_resource(str(record.get("resource", ""))) not in resources:
            return None
        level = parse_level(record.get("level"))
        if level is None:
            return None
        if await self._store.get("oauth:grant:" + str(record.get("grant_id"))) is None:
            return None
        try:
            creds = unseal(record["sealed"], access_token, bound_to=key)
        except (SealError, KeyError):
            return None
        return Access(creds, level, record["grant_id"], record["client_id"])

    async def touch(self, grant_id: str) -> None:
        """Note that the grant was used, at most once a minute per process."""
        now = time.monotonic()
        last = self._touched.get(grant_id)
        if last is not None and now - last < LAST_USED_EVERY_S:
            return
        if len(self._touched) >= _MAX_TOUCHED:
            self._touched.clear()
        self._touched[grant_id] = now
        await self._store.put(
            "oauth:used:" + grant_id, str(time.time()).encode(), ttl_s=self.lifetimes.refresh_s
        )

    # ------------------------------------------------------------------ revocation
    async def revoke_token(self, token: str, client_id: str | None) -> None:
        """RFC 7009: an access token is revoked alone, a refresh token with its whole grant.
        Unknown tokens and other clients' tokens are ignored (the answer is 200 either way)."""
        for kind in ("at", "rt"):
            key = f"oauth:{kind}:{token_hash(token)}"
            record = _load(await self._store.get(key))
            if record is None or (client_id is not None and record.get("client_id") != client_id):
                continue
            await self._store.delete(key)
            if kind == "rt":
                await self.revoke_grant(str(record.get("grant_id")))

    async def revoke_grant(self, grant_id: str) -> bool:
        """End a grant: every token of it stops working at once (each use checks the grant)."""
        await self._store.delete("oauth:used:" + grant_id)
        return await self._store.delete("oauth:grant:" + grant_id)

    async def list_grants(self) -> list[GrantInfo]:
        rows = await self._store.scan("oauth:grant:", limit=_MAX_GRANTS_LISTED)
        found: list[GrantInfo] = []
        for _, raw in rows:
            grant = _load(raw)
            level = parse_level(grant.get("level")) if grant else None
            if grant is None or level is None:
                continue
            used = await self._store.get("oauth:used:" + grant["grant_id"])
            found.append(
                GrantInfo(
                    grant_id=grant["grant_id"],
                    client_id=grant["client_id"],
                    client_name=grant.get("client_name", ""),
                    account=grant["account"],
                    level=level,
                    created=float(grant.get("created", 0.0)),
                    last_used=float(used) if used else None,
                )
            )
        return sorted(found, key=lambda info: info.created)

    async def revoke_account(self, app_id: str) -> int:
        """Revoke every grant of the account ``app_id``; the number revoked."""
        account = app_digest(app_id)
        revoked = 0
        for info in await self.list_grants():
            if info.account == account and await self.revoke_grant(info.grant_id):
                revoked += 1
        return revoked
