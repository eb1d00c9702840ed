"""Handshake-era (2025) sessions: light ones kept here, full ones kept by the SDK.

Why two kinds: an SDK session costs about 37 KiB while it sits idle (``make bench``;
``python -m bench.census`` lists its server task's coroutines, cancel scopes, task groups, events
and memory streams).  What a 2025-era session gives beyond a single request is a back-channel:
the server can ask the client something in the middle of a call.  This server asks one thing
only — the confirmation of a ``D``/``$`` tool by elicitation — and only of clients that declared
form elicitation at ``initialize``.

So a session opened by any other client is *light*: this module keeps its id, the digest of the
credential that opened it and its last activity (a few hundred bytes), and each of its requests
is served by the SDK's stateless handshake-era path, which answers exactly as a session would,
minus the back-channel the client cannot use anyway.  ``GET`` (the server-to-client stream)
answers 405, which the transport spec provides for a server that never sends on that stream;
``DELETE`` ends the session; an unknown id, or the id presented with another credential,
answers 404 as the SDK does.  Because each request is its own exchange, the SDK cannot match a
``notifications/cancelled`` to the request it names; this module does, so cancelling works as in
a full session (the call stops, its stream ends with ``-32800``).  A client that declared form elicitation gets a full SDK session,
as before.  ``ONTRAPORT_LIGHT_SESSIONS=false`` gives every client a full session.

**Light sessions on any replica.**  With a state store (``HandshakeSessions(store=…)``, the
server's ``state.Store``: SQLite for the workers of one host, Redis for replicas), a light
session's record — the owner's credential digest, the protocol version its ``initialize`` asked
for, and when it was last used — is also kept in the store under ``session:<id>`` with the idle
timeout as its time to live, written before the client can read the id.  Any worker or replica
then serves the session: an id missing from this process's cache is looked up in the store (and
cached); a cached record is checked against the store again after ``LIGHT_RECHECK_S``, so a
``DELETE`` answered by one replica ends the session on the others within that time; activity
renews the store's time to live at most every ``LIGHT_RENEW_S``, so a session in use does not
cost a store write per request.  (The client's capabilities need no record: a light session is
by definition one whose client declared no form elicitation.)  Still: only ids this server
issued are stored, and an id presented with another credential answers 404 on every replica.
A store that does not answer degrades to this process's own sessions (logged at most once a
minute): a session opened elsewhere then answers 404 and the client opens a new one.  The
per-credential quota and ``max_sessions`` count this process's sessions.

Full SDK sessions (form elicitation) live in the process that opened them: behind a load
balancer they need sticky routing on the ``Mcp-Session-Id`` header (or the client can use the
2026-07-28 protocol, whose confirmations travel in the request itself).

``SessionTracker`` ends full sessions idle for too long even while their GET stream is open (the
SDK alone keeps such a session forever); light sessions are swept on the same beat.

No caller starves another: one credential holds at most ``max_sessions_per_credential``
sessions (light and full together); past that, or past ``max_sessions``, an ``initialize``
answers 503 with ``Retry-After``.  (Credentials Ontraport refuses never get this far: ``auth``.)
Nothing is kept for a session id this server did not issue, and a request id that is not a
string or an integer (``1.5``, ``NaN``, ``true``, an object) gets a JSON-RPC invalid-request
error instead of the SDK's silent 202.  Bodies are parsed with the parser of the SDK's
handshake-era transport (``pydantic_core.from_json``), so this module and the SDK agree on what
is JSON (no lone surrogates, nesting under its limit).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import secrets
import sys
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import anyio
import mcp_types as types
import pydantic_core
from mcp.server.streamable_http import REQUEST_CANCELLED
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import (
    DEFAULT_MAX_REQUEST_BODY_SIZE,
    TransportSecurityMiddleware,
    TransportSecuritySettings,
)
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from ..credentials import Credentials
from ..runtime.confirm import supports_form_elicitation
from ..state import Store, StoreLapse, StoreUnavailable
from .auth import CREDENTIALS_SCOPE_KEY
from .compat import end_session, live_sessions
from .fastpath import FastToolCalls
from .replay import read_body

log = logging.getLogger("ontraport_mcp.transport.sessions")
SESSION_HEADER = b"mcp-session-id"
_JSON = (b"content-type", b"application/json")
MAX_SESSION_ID_LENGTH = 128  # ids issued here and by the SDK are 32 characters
RETRY_AFTER_S = 30  # when a session cap is hit: sessions end by DELETE or idleness
_RETRY_AFTER = (b"retry-after", str(RETRY_AFTER_S).encode())
_BAD_ID = "Invalid Request: a JSON-RPC request id must be a string or an integer"
_SSE_HEADERS = [  # as the SDK's transport answers a handshake-era POST
    (b"cache-control", b"no-cache, no-transform"),
    (b"connection", b"keep-alive"),
    (b"content-type", b"text/event-stream"),
    (b"x-accel-buffering", b"no"),
]


_WARN_EVERY_S = 60.0
_last_warned: dict[str, float] = {}


def _warn_now_and_then(text: str, *args: Any) -> None:
    """Log a refusal at most once a minute per kind: a flood must not flood the log too."""
    now = time.monotonic()
    if now - _last_warned.get(text, -_WARN_EVERY_S) >= _WARN_EVERY_S:
        _last_warned[text] = now
        log.warning(text + " (more such refusals are not logged for a minute)", *args)


LIGHT_KEY_PREFIX = "session:"
LIGHT_RECHECK_S = 5.0
"""A light session cached here is confirmed in the store again after this long (a DELETE
served by another replica ends it here within this time)."""
LIGHT_RENEW_S = 60.0
"""A light session in use renews its time to live in the store at most this often (bounded by a
quarter of the idle timeout)."""
_ISSUED_ID = frozenset("0123456789abcdef")
MAX_PROTOCOL_LENGTH = 32


class LightSession:
    """All a light session keeps between its requests."""

    __slots__ = ("owner", "last_seen", "checked", "renewed", "protocol")

    def __init__(
        self, owner: str, last_seen: float, *, protocol: str = "", checked: float = 0.0
    ) -> None:
        self.owner = owner  # the credential digest that opened it (interned: shared per account)
        self.last_seen = last_seen
        self.checked = checked or last_seen  # when the store last confirmed it (monotonic)
        self.renewed = checked or last_seen  # when its time to live was last renewed there
        self.protocol = protocol  # the version its initialize asked for ("" when none)


class LightSessionStore:
    """Light session records in the shared state store (see the module docstring): the one
    place that encodes them, reads them back and decides when to touch the store again."""

    def __init__(self, store: Store, idle_timeout_s: float) -> None:
        self.store = store
        # the record lives as long as the session may idle: it lapses in the store no later
        # than the local sweep ends the session, so an ended session answers 404 everywhere
        # (renewals come every renew_s, so another replica may see it end up to that early)
        self.ttl_s = max(0.05, idle_timeout_s)
        self.renew_s = min(LIGHT_RENEW_S, self.ttl_s / 4)
        self._lapse = StoreLapse(
            log,
            "the state store did not answer: light sessions are served from this process only "
            "until it is back",
        )

    @staticmethod
    def key(session_id: str) -> str:
        return LIGHT_KEY_PREFIX + session_id

    @staticmethod
    def issued_here(session_id: str) -> bool:
        """Whether an id has the shape this module issues (32 hex digits): nothing else is ever
        looked up in the store."""
        return len(session_id) == 32 and _ISSUED_ID.issuperset(session_id)

    def _encode(self, record: LightSession) -> bytes:
        document = {"owner": record.owner, "protocol": record.protocol, "seen": time.time()}
        return json.dumps(document, separators=(",", ":")).encode()

    async def save(self, session_id: str, record: LightSession) -> bool:
        """Write (or renew) a record; False when the store did not answer."""
        try:
            await self.store.put(self.key(session_id), self._encode(record), ttl_s=self.ttl_s)
        except StoreUnavailable:
            self._lapse()
            return False
        record.renewed = record.checked = time.monotonic()
        return True

    async def load(self, session_id: str) -> LightSession | None:
        """The stored record; None when there is none (never issued, ended or expired);
        ``StoreUnavailable`` (logged) when the store did not answer."""
        try:
            raw = await self.store.get(self.key(session_id))
        except StoreUnavailable:
            self._lapse()
            raise
        if raw is None:
            return None
        try:
            document = json.loads(raw)
            owner, protocol = str(document["owner"]), str(document.get("protocol", ""))
        except (ValueError, KeyError, TypeError):
            return None  # not a record this module wrote: as good as absent
        now = time.monotonic()
        return LightSession(sys.intern(owner), now, protocol=protocol, checked=now)

    async def forget(self, session_id: str) -> None:
        try:
            await self.store.delete(self.key(session_id))
        except StoreUnavailable:
            self._lapse()  # the record expires with its time to live


class SessionTracker:
    """Last activity per full (SDK) session; ends sessions idle for too long, light ones too.

    The SDK keeps a session alive while its GET stream is open (a live client's stream is always
    open), so an abandoned client that never sends DELETE would hold memory forever.  Activity
    here is a request other than that stream; ``sweep_once`` discards sessions whose last
    activity is older than the idle timeout."""

    def __init__(
        self,
        manager: StreamableHTTPSessionManager,
        idle_timeout_s: float,
        light: dict[str, LightSession] | None = None,
        *,
        quota: int = 10_000,
    ) -> None:
        self.manager = manager
        self.idle_timeout_s = idle_timeout_s
        self.last_seen: dict[str, float] = {}
        self.light: dict[str, LightSession] = {} if light is None else light
        self.quota = max(1, quota)  # sessions per credential, light and full together
        self.owner_of: dict[str, str] = {}  # session id -> credential digest
        self.owned: dict[str, set[str]] = {}  # credential digest -> its session ids
        self.opening: Counter[str] = Counter()  # initialize requests in flight per digest

    def touch(self, session_id: str) -> None:
        self.last_seen[session_id] = time.monotonic()

    def forget(self, session_id: str) -> None:
        self.last_seen.pop(session_id, None)
        self.disown(session_id)

    # -- the per-credential quota ------------------------------------------------------------

    def own(self, session_id: str, owner: str) -> None:
        self.owner_of[session_id] = owner
        self.owned.setdefault(owner, set()).add(session_id)

    def disown(self, session_id: str) -> None:
        owner = self.owner_of.pop(session_id, None)
        ids = self.owned.get(owner) if owner is not None else None
        if ids is not None:
            ids.discard(session_id)
            if not ids:
                del self.owned[owner]  # type: ignore[arg-type]

    def may_open(self, owner: str) -> bool:
        """Whether ``owner`` may open one more session.  Full sessions the SDK ended on its own
        are noticed here (and by the sweep): work bounded by the quota, only at the quota."""
        if len(self.owned.get(owner, ())) + self.opening[owner] < self.quota:
            return True
        live = live_sessions(self.manager)
        for session_id in [s for s in self.owned.get(owner, ()) if s not in live]:
            if session_id not in self.light:
                self.forget(session_id)
        return len(self.owned.get(owner, ())) + self.opening[owner] < self.quota

    @contextlib.contextmanager
    def opening_session(self, owner: str) -> Iterator[None]:
        """Count an ``initialize`` in flight against its credential's quota."""
        self.opening[owner] += 1
        try:
            yield
        finally:
            self.opening[owner] -= 1
            if self.opening[owner] <= 0:
                del self.opening[owner]

    async def sweep_once(self) -> int:
        live = live_sessions(self.manager)
        now = time.monotonic()
        swept = 0
        for session_id in list(self.last_seen):
            if session_id not in live:
                self.forget(session_id)
        for session_id, transport in list(live.items()):
            seen = self.last_seen.setdefault(session_id, now)
            if now - seen > self.idle_timeout_s:
                self.forget(session_id)
                await end_session(self.manager, session_id, transport)
                swept += 1
        for session_id, record in list(self.light.items()):
            if now - record.last_seen > self.idle_timeout_s:
                del self.light[session_id]
                self.disown(session_id)
                swept += 1
        return swept

    async def sweep_forever(self) -> None:
        interval = max(0.05, min(30.0, self.idle_timeout_s / 4))
        while True:
            await anyio.sleep(interval)
            try:
                swept = await self.sweep_once()
                if swept:
                    log.info("swept %d idle session(s)", swept)
            except Exception:  # noqa: BLE001 — the sweeper must outlive one bad pass
                log.exception("session sweep failed")


def _decode(body: bytes | None) -> dict[str, Any]:
    """The JSON-RPC message of a body, or {} for anything else (a batch, bad JSON, too big).

    The parser is the SDK handshake-era transport's own: what it refuses (lone surrogates,
    nesting past its limit, integers past 4300 digits) is refused here too, without recursion."""
    if body is None:
        return {}
    try:
        message = pydantic_core.from_json(body)
    except ValueError:
        return {}
    return message if isinstance(message, dict) else {}


def _protocol(message: dict[str, Any]) -> str:
    """The protocol version an ``initialize`` asked for (a short string), or ""."""
    params = message.get("params")
    version = params.get("protocolVersion") if isinstance(params, dict) else None
    return version if isinstance(version, str) and len(version) <= MAX_PROTOCOL_LENGTH else ""


def _bad_id(message: dict[str, Any]) -> bool:
    """A request id that is not a string or an integer (a response may carry ``null``)."""
    if "id" not in message:
        return False
    request_id = message["id"]
    if isinstance(request_id, bool):
        return True
    if isinstance(request_id, int | str):
        return False
    return request_id is not None or "method" in message


def _id_key(request_id: Any) -> tuple[str, int | str]:
    """A request id as a key: 7 and "7" are different ids in JSON-RPC."""
    if isinstance(request_id, int) and not isinstance(request_id, bool):
        return ("int", request_id)
    return ("str", request_id) if isinstance(request_id, str) else ("none", "")


def _error(status: int, message: str, code: int, extra: list[tuple[bytes, bytes]]) -> Any:
    """A JSON-RPC error without a request id, as the SDK's transport words its HTTP refusals."""
    body = json.dumps(
        {"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}},
        separators=(",", ":"),
    ).encode()
    headers = [_JSON, (b"content-length", str(len(body)).encode()), *extra]
    return status, headers, body


async def refused_request_id(
    receive: Receive, send: Send, max_body_size: int
) -> tuple[dict[str, Any], Receive] | None:
    """Read a POST's body: its message and a replaying ``receive``, or None when its request id
    is one JSON-RPC forbids (answered here: the SDK would take it for a notification, 202)."""
    body, receive = await read_body(receive, max_body_size)
    message = _decode(body)
    if _bad_id(message):
        await _respond(send, *_error(400, _BAD_ID, types.INVALID_REQUEST, []))
        return None
    return message, receive


class RequestIdCheck:
    """The request-id rule alone, in front of the SDK's stateless handshake-era app (stateless
    mode has no ``HandshakeSessions``)."""

    def __init__(self, app: Any, max_body_size: int = DEFAULT_MAX_REQUEST_BODY_SIZE) -> None:
        self.app = app
        self.max_body_size = max_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") == "POST":
            read = await refused_request_id(receive, send, self.max_body_size)
            if read is None:
                return
            receive = read[1]
        await self.app(scope, receive, send)


async def _respond(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class HandshakeSessions:
    """ASGI app for every handshake-era request: light sessions here, the rest to the SDK.

    ``full`` is the SDK's stateful session app, ``stateless`` the SDK's stateless handshake-era
    app that serves each request of a light session."""

    def __init__(
        self,
        full: Any,
        stateless: Any,
        tracker: SessionTracker,
        *,
        security: TransportSecuritySettings,
        max_sessions: int,
        elicitation_used: bool = True,
        fast: FastToolCalls | None = None,
        max_body_size: int = DEFAULT_MAX_REQUEST_BODY_SIZE,
        light_sessions: bool = True,
        store: Store | None = None,
    ) -> None:
        self.full = full
        self.light_sessions = light_sessions  # False: every session is a full SDK session
        # light sessions shared with every worker and replica (None: this process's only)
        self.shared = (
            LightSessionStore(store, tracker.idle_timeout_s) if store is not None else None
        )
        self.stateless = stateless
        self.tracker = tracker
        self.light = tracker.light
        self.security = TransportSecurityMiddleware(security)
        self.max_sessions = max_sessions
        self.elicitation_used = elicitation_used  # False when confirmations are switched off
        self.max_body_size = max_body_size
        # answers a light session's plain tools/call itself, as for 2026-07-28 (fastpath.py):
        # the session's state is ours, so there is no SDK session bookkeeping to bypass
        self.fast = fast
        # (session id, request id) -> the scope of that light request while it runs
        self.inflight: dict[tuple[str, tuple[str, int | str]], anyio.CancelScope] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        session_id = next((v for k, v in scope["headers"] if k == SESSION_HEADER), None)
        method = scope.get("method", "")
        message: dict[str, Any] = {}
        if method == "POST":
            read = await refused_request_id(receive, send, self.max_body_size)
            if read is None:
                return
            message, receive = read
        if session_id is not None:
            sid = session_id.decode("latin-1")
            record = await self._light_record(sid)
            if record is not None:
                await self._serve_light(sid, record, scope, receive, send, message)
                return
            known = sid in live_sessions(self.tracker.manager)
            if known and method != "GET":  # an id nobody issued is never kept (the SDK: 404)
                self.tracker.touch(sid)
            await self.full(scope, receive, send)
            if known and method == "DELETE":
                self.tracker.forget(sid)
            return
        creds = scope.get(CREDENTIALS_SCOPE_KEY)
        owner = sys.intern(creds.digest) if isinstance(creds, Credentials) else ""
        if message.get("method") != "initialize":  # nothing else opens a session
            await self.full(scope, receive, self._noting_new_full_session(send, owner))
            return
        if not self.tracker.may_open(owner):
            _warn_now_and_then(
                "refusing a new session: one credential holds %d", self.tracker.quota
            )
            message_text = (
                f"Too many open sessions for these credentials (at most {self.tracker.quota}): "
                "end unused sessions with DELETE, or retry later"
            )
            busy = _error(503, message_text, types.INTERNAL_ERROR, [_RETRY_AFTER])
            await self._respond(send, *busy)
            return
        with self.tracker.opening_session(owner):
            if self._light_initialize(message):
                await self._open_light(scope, receive, send, _protocol(message))
            else:
                await self.full(scope, receive, self._noting_new_full_session(send, owner))

    # -- opening ---------------------------------------------------------------------------------

    def _light_initialize(self, message: dict[str, Any]) -> bool:
        """An ``initialize`` from a client this server will never need to ask anything."""
        if not self.light_sessions or message.get("method") != "initialize":
            return False
        params = message.get("params")
        raw = params.get("capabilities") if isinstance(params, dict) else None
        if not isinstance(raw, dict):
            return False  # malformed: the SDK words the refusal
        if not self.elicitation_used:
            return True
        try:
            caps = types.ClientCapabilities.model_validate(raw)
        except ValueError:
            return False
        return not supports_form_elicitation(caps)

    async def _open_light(
        self, scope: Scope, receive: Receive, send: Send, protocol: str = ""
    ) -> None:
        creds = scope.get(CREDENTIALS_SCOPE_KEY)
        if not isinstance(creds, Credentials):  # AuthMiddleware always sets it; never open blind
            await self._respond(send, *_error(401, "Unauthorized", types.INVALID_REQUEST, []))
            return
        if len(self.light) >= self.max_sessions:
            _warn_now_and_then(
                "refusing a new session: %d light sessions are open", len(self.light)
            )
            too_many = _error(503, "Too many open sessions", types.INTERNAL_ERROR, [_RETRY_AFTER])
            await self._respond(send, *too_many)
            return
        sid = secrets.token_hex(16)
        owner = sys.intern(creds.digest)
        header = (SESSION_HEADER, sid.encode())

        async def opening(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                # registered (and stored) before the client can read the id, so its next
                # request finds it, on this replica or another
                record = LightSession(owner, time.monotonic(), protocol=protocol)
                self.light[sid] = record
                self.tracker.own(sid, owner)
                if self.shared is not None:
                    await self.shared.save(sid, record)
                message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        await self.stateless(scope, receive, opening)

    def _noting_new_full_session(self, send: Send, owner: str) -> Send:
        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                for key, value in message.get("headers", []):
                    if key.lower() == SESSION_HEADER and status < 400:
                        session_id = value.decode("latin-1")
                        self.tracker.touch(session_id)
                        self.tracker.own(session_id, owner)
                if status == 503:  # the SDK's session cap: say when to come back
                    message = {**message, "headers": [*message.get("headers", []), _RETRY_AFTER]}
            await send(message)

        return noting

    # -- serving ---------------------------------------------------------------------------------

    async def _light_record(self, sid: str) -> LightSession | None:
        """The light session ``sid`` names: from this process's cache (confirmed in the store
        every ``LIGHT_RECHECK_S``), else from the store (then cached); None when it is not one."""
        if len(sid) > MAX_SESSION_ID_LENGTH:
            return None
        record = self.light.get(sid)
        shared = self.shared
        if shared is None:
            return record
        now = time.monotonic()
        if record is not None and now - record.checked < LIGHT_RECHECK_S:
            return record
        if record is None and (
            not shared.issued_here(sid) or sid in live_sessions(self.tracker.manager)
        ):
            return None  # a full session of this process, or an id nobody issued
        try:
            stored = await shared.load(sid)
        except StoreUnavailable:
            return record  # keep serving what this process knows until the store is back
        if stored is None:
            if record is not None:  # ended (DELETE) or expired on another replica
                self.light.pop(sid, None)
                self.tracker.disown(sid)
            return None
        if record is not None:
            record.checked = now
            return record
        self.light[sid] = stored
        self.tracker.own(sid, stored.owner)
        return stored

    async def _serve_light(
        self,
        sid: str,
        record: LightSession,
        scope: Scope,
        receive: Receive,
        send: Send,
        message: dict[str, Any],
    ) -> None:
        header = (SESSION_HEADER, sid.encode())
        creds = scope.get(CREDENTIALS_SCOPE_KEY)
        digest = creds.digest if isinstance(creds, Credentials) else ""
        if not hmac.compare_digest(digest, record.owner):
            _warn_now_and_then("refusing a session presented with another credential")
            await self._respond(send, *_error(404, "Session not found", types.INVALID_REQUEST, []))
            return
        method = scope.get("method", "")
        refusal = await self.security.validate_request(Request(scope), is_post=method == "POST")
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        record.last_seen = time.monotonic()
        shared = self.shared
        if shared is not None and method != "DELETE":
            if record.last_seen - record.renewed >= shared.renew_s:
                await shared.save(sid, record)
        if method == "POST":
            await self._post_light(sid, scope, receive, send, message)
        elif method == "DELETE":
            self.light.pop(sid, None)
            self.tracker.disown(sid)
            if shared is not None:
                await shared.forget(sid)
            await self._respond(send, 200, [_JSON, (b"content-length", b"0"), header], b"")
        elif method == "GET":
            no_stream = (
                "Method Not Allowed: this server sends nothing unprompted to this session, "
                "so it offers no GET stream; keep using POST"
            )
            allow = [(b"allow", b"POST, DELETE"), header]
            await self._respond(send, *_error(405, no_stream, types.INVALID_REQUEST, allow))
        else:
            allow = [(b"allow", b"GET, POST, DELETE"), header]
            await self._respond(
                send, *_error(405, "Method Not Allowed", types.INVALID_REQUEST, allow)
            )

    async def _post_light(
        self, sid: str, scope: Scope, receive: Receive, send: Send, message: dict[str, Any]
    ) -> None:
        """One POST of a light session, cancellable by the session's ``notifications/cancelled``.

        Each request is its own stateless exchange, so the SDK cannot match a cancellation to
        the request it names; this does, and ends the request's stream the way the SDK's
        session transport does: an error ``-32800 Request cancelled`` for its id."""
        header = (SESSION_HEADER, sid.encode())
        request_id = message.get("id") if message.get("method") else None
        if message.get("method") == "notifications/cancelled":
            params = message.get("params")
            target = params.get("requestId") if isinstance(params, dict) else None
            scope_of = self.inflight.get((sid, _id_key(target)))
            if scope_of is not None:
                scope_of.cancel()
        progress = {"started": False, "ended": False}

        async def stamped(out: Message) -> None:
            if out["type"] == "http.response.start":
                progress["started"] = True
                out = {**out, "headers": [*out.get("headers", []), header]}
            elif out["type"] == "http.response.body" and not out.get("more_body", False):
                progress["ended"] = True
            await send(out)

        if request_id is None or isinstance(request_id, bool):
            await self.stateless(scope, receive, stamped)
            return
        creds = scope.get(CREDENTIALS_SCOPE_KEY)
        fast = self.fast
        if not isinstance(creds, Credentials) or not (
            fast and fast.answers_handshake(scope, message)
        ):
            creds = fast = None
        key = (sid, _id_key(request_id))
        with anyio.CancelScope() as cancel:
            self.inflight[key] = cancel
            try:
                reply = None
                if fast is not None and creds is not None:
                    reply = await fast.reply_handshake(scope, creds, message)
                if reply is not None:
                    # no content-length (chunked, as the SDK's own reply): a cancellation that
                    # lands between the two messages can still end the stream with its event
                    start = {"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS}
                    await stamped(start)
                    await stamped({"type": "http.response.body", "body": reply})
                else:
                    await self.stateless(scope, receive, stamped)
            finally:
                if self.inflight.get(key) is cancel:
                    del self.inflight[key]
        if cancel.cancelled_caught and not progress["ended"]:
            error = {"code": REQUEST_CANCELLED, "message": "Request cancelled"}
            answer = json.dumps(
                {"jsonrpc": "2.0", "id": request_id, "error": error}, separators=(",", ":")
            )
            event = f"event: message\r\ndata: {answer}\r\n\r\n".encode()
            if not progress["started"]:
                start = {"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS}
                await stamped(start)
            await send({"type": "http.response.body", "body": event, "more_body": False})

    _respond = staticmethod(_respond)
