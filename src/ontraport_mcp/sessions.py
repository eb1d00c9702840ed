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

``SessionTracker`` ends full sessions idle for too long even while their GET stream is open (the
SDK alone keeps such a session forever); light sessions are swept on the same beat.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import sys
import time
from typing import Any

import anyio
import mcp_types as types
from mcp.server.streamable_http import REQUEST_CANCELLED
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import (
    DEFAULT_MAX_REQUEST_BODY_SIZE,
    TransportSecurityMiddleware,
    TransportSecuritySettings,
)
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from .auth import CREDENTIALS_SCOPE_KEY
from .confirm import supports_form_elicitation
from .credentials import Credentials
from .fastpath import FastToolCalls
from .replay import read_body

log = logging.getLogger("ontraport_mcp.sessions")
SESSION_HEADER = b"mcp-session-id"
_JSON = (b"content-type", b"application/json")
_SSE_HEADERS = [  # as the SDK's transport answers a handshake-era POST
    (b"cache-control", b"no-cache, no-transform"),
    (b"connection", b"keep-alive"),
    (b"content-type", b"text/event-stream"),
    (b"x-accel-buffering", b"no"),
]


class LightSession:
    """All a light session keeps between its requests."""

    __slots__ = ("owner", "last_seen")

    def __init__(self, owner: str, last_seen: float) -> None:
        self.owner = owner  # the credential digest that opened it (interned: shared per account)
        self.last_seen = last_seen


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
    ) -> None:
        self.manager = manager
        self.idle_timeout_s = idle_timeout_s
        self.last_seen: dict[str, float] = {}
        self.light: dict[str, LightSession] = {} if light is None else light

    def touch(self, session_id: str) -> None:
        self.last_seen[session_id] = time.monotonic()

    def forget(self, session_id: str) -> None:
        self.last_seen.pop(session_id, None)

    async def sweep_once(self) -> int:
        live = self.manager._server_instances  # SDK 2.3 has no public session registry
        now = time.monotonic()
        swept = 0
        for session_id in list(self.last_seen):
            if session_id not in live:
                self.forget(session_id)
        for session_id, transport in list(live.items()):
            seen = self.last_seen.setdefault(session_id, now)
            if now - seen > self.idle_timeout_s:
                self.forget(session_id)
                await self.manager._discard_session(session_id, transport)
                swept += 1
        for session_id, record in list(self.light.items()):
            if now - record.last_seen > self.idle_timeout_s:
                del self.light[session_id]
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
    """The JSON-RPC message of a body, or {} for anything else (a batch, bad JSON, too big)."""
    if body is None:
        return {}
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    return message if isinstance(message, dict) else {}


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
    ) -> None:
        self.full = full
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
        if session_id is not None:
            sid = session_id.decode("latin-1")
            record = self.light.get(sid)
            if record is not None:
                await self._serve_light(sid, record, scope, receive, send)
                return
            if method != "GET":
                self.tracker.touch(sid)
            await self.full(scope, receive, send)
            if method == "DELETE":
                self.tracker.forget(sid)
            return
        if method == "POST":
            body, receive = await read_body(receive, self.max_body_size)
            if self._light_initialize(body):
                await self._open_light(scope, receive, send)
                return
        await self.full(scope, receive, self._noting_new_full_session(send))

    # -- opening ---------------------------------------------------------------------------------

    def _light_initialize(self, body: bytes | None) -> bool:
        """An ``initialize`` from a client this server will never need to ask anything."""
        message = _decode(body)
        if message.get("method") != "initialize":
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

    async def _open_light(self, scope: Scope, receive: Receive, send: Send) -> None:
        creds = scope.get(CREDENTIALS_SCOPE_KEY)
        if not isinstance(creds, Credentials):  # AuthMiddleware always sets it; never open blind
            await self._respond(send, *_error(401, "Unauthorized", types.INVALID_REQUEST, []))
            return
        if len(self.light) >= self.max_sessions:
            log.warning("refusing a new session: %d light sessions are open", len(self.light))
            too_many = _error(503, "Too many open sessions", types.INTERNAL_ERROR, [])
            await self._respond(send, *too_many)
            return
        sid = secrets.token_hex(16)
        owner = sys.intern(creds.digest)
        header = (SESSION_HEADER, sid.encode())

        async def opening(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                # registered before the client can read the id, so its next request finds it
                self.light[sid] = LightSession(owner, time.monotonic())
                message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        await self.stateless(scope, receive, opening)

    def _noting_new_full_session(self, send: Send) -> Send:
        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start":
                for key, value in message.get("headers", []):
                    if key.lower() == SESSION_HEADER:
                        self.tracker.touch(value.decode("latin-1"))
            await send(message)

        return noting

    # -- serving ---------------------------------------------------------------------------------

    async def _serve_light(
        self, sid: str, record: LightSession, scope: Scope, receive: Receive, send: Send
    ) -> None:
        header = (SESSION_HEADER, sid.encode())
        creds = scope.get(CREDENTIALS_SCOPE_KEY)
        digest = creds.digest if isinstance(creds, Credentials) else ""
        if not hmac.compare_digest(digest, record.owner):
            log.warning("refusing a session presented with another credential")
            await self._respond(send, *_error(404, "Session not found", types.INVALID_REQUEST, []))
            return
        method = scope.get("method", "")
        refusal = await self.security.validate_request(Request(scope), is_post=method == "POST")
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        record.last_seen = time.monotonic()
        if method == "POST":
            await self._post_light(sid, scope, receive, send)
        elif method == "DELETE":
            self.light.pop(sid, None)
            await self._respond(send, 200, [_JSON, (b"content-length", b"0"), header], b"")
        elif method == "GET":
            message = (
                "Method Not Allowed: this server sends nothing unprompted to this session, "
                "so it offers no GET stream; keep using POST"
            )
            allow = [(b"allow", b"POST, DELETE"), header]
            await self._respond(send, *_error(405, message, types.INVALID_REQUEST, allow))
        else:
            allow = [(b"allow", b"GET, POST, DELETE"), header]
            await self._respond(
                send, *_error(405, "Method Not Allowed", types.INVALID_REQUEST, allow)
            )

    async def _post_light(self, sid: str, scope: Scope, receive: Receive, send: Send) -> None:
        """One POST of a light session, cancellable by the session's ``notifications/cancelled``.

        Each request is its own stateless exchange, so the SDK cannot match a cancellation to
        the request it names; this does, and ends the request's stream the way the SDK's
        session transport does: an error ``-32800 Request cancelled`` for its id."""
        header = (SESSION_HEADER, sid.encode())
        body, receive = await read_body(receive, self.max_body_size)
        message = _decode(body)
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
                if fast is not None and creds is not None:
                    reply = fast.encode_handshake(request_id, await fast.call(creds, message))
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

    @staticmethod
    async def _respond(
        send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
