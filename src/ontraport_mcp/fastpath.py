"""``tools/call`` answered without the SDK's per-request pipeline, for the tools that never ask
the user anything: 2026-07-28 requests, and requests of light handshake-era sessions
(``sessions.py`` hands those over through ``answers_handshake`` / ``encode_handshake``).

Why: a 2026-07-28 request is one self-contained POST.  For it the SDK builds a connection object,
a dispatch context, an OpenTelemetry span, then validates and re-dumps the result through pydantic
and serialises it again — about half of the server's CPU per call once the upstream transport was
made lean (``make bench``, profile section).  Here the same checks run through the SDK's own
public functions (transport security, Accept, routing headers, the per-request envelope ladder),
the tool runs through the one executor every path uses, and the reply is written once, embedding
the JSON text the executor already produced as ``structuredContent``.

Anything this module does not fully own goes to the SDK untouched (the body is replayed): other
methods, notifications, batches, malformed envelopes, any ladder rejection, progress tokens,
``Mcp-Param-*`` headers, oversized bodies, custom-object tools (their names need the account's
manifest), and every tool that may need confirmation (elicitation needs the SDK).  A test sends
the same requests through both paths and compares the replies.  The one thing given up is the
SDK's OpenTelemetry span for these calls; set ``ONTRAPORT_FAST_TOOL_CALLS=false`` to keep it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol

from mcp.server.streamable_http import check_accept_headers
from mcp.server.transport_security import (
    DEFAULT_MAX_REQUEST_BODY_SIZE,
    TransportSecurityMiddleware,
    TransportSecuritySettings,
)
from mcp.shared.inbound import (
    InboundLadderRejection,
    classify_inbound_request,
    find_duplicated_routing_header,
)
from mcp_types import SERVER_INFO_META_KEY
from starlette.requests import Request

from . import wirejson
from .auth import CREDENTIALS_SCOPE_KEY
from .context import ToolContext
from .credentials import Credentials
from .executor import run_tool
from .replay import read_body

if TYPE_CHECKING:
    from collections.abc import Mapping

    import mcp_types as types

    from .context import Services
    from .registry import Entry


class ToolHost(Protocol):
    """What this path needs of the server (``server.OntraportMCP``), named here so that the
    transport does not import the server that builds it."""

    @property
    def registry(self) -> Mapping[str, Entry]: ...

    @property
    def services(self) -> Services: ...

    @property
    def server(self) -> Any: ...  # the SDK's Server: its server_info_stamp

    def _input_schema(self, name: str) -> Mapping[str, Any] | None: ...


_ENVELOPE_KEYS = frozenset({"jsonrpc", "id", "method", "params"})
_PARAM_KEYS = frozenset({"name", "arguments", "_meta"})
_PROGRESS_KEY = "progressToken"
_JSON_TYPE = "application/json"
_JSON_HEADERS = [(b"content-type", b"application/json")]


class FastToolCalls:
    """ASGI app in front of the SDK's 2026-07-28 app (``sdk``)."""

    def __init__(
        self,
        mcp: ToolHost,
        sdk: Any,
        security: TransportSecuritySettings,
        *,
        max_body_size: int = DEFAULT_MAX_REQUEST_BODY_SIZE,
    ) -> None:
        self.mcp = mcp
        self.sdk = sdk
        self.security = TransportSecurityMiddleware(security)
        self.max_body_size = max_body_size
        self.eligible = frozenset(
            name
            for name, entry in mcp.registry.items()
            if not entry.spec.needs_confirmation and mcp._input_schema(name) is None
        )
        stamp = {SERVER_INFO_META_KEY: mcp.server.server_info_stamp}
        self._meta_json = json.dumps(stamp, separators=(",", ":"))
        self.answered = 0  # calls this path answered (tests and the benchmark read it)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("method") != "POST":
            await self.sdk(scope, receive, send)
            return
        body, replay = await read_body(receive, self.max_body_size)
        if body is None or not await self._answer(scope, body, send):
            await self.sdk(scope, replay, send)

    async def _answer(self, scope: Any, body: bytes, send: Any) -> bool:
        """Answer the request and return True, or return False having sent nothing."""
        creds = scope.get(CREDENTIALS_SCOPE_KEY)
        if not isinstance(creds, Credentials):
            return False
        request = Request(scope)
        if await self.security.validate_request(request, is_post=True) is not None:
            return False
        if not check_accept_headers(request)[0]:
            return False
        try:
            decoded = json.loads(body)
        except (ValueError, RecursionError):
            return False
        if not _plain_tool_call(decoded) or decoded["params"]["name"] not in self.eligible:
            return False
        raw_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        if any(name.startswith("mcp-param-") for name, _ in raw_headers):
            return False
        if find_duplicated_routing_header(raw_headers) is not None:
            return False
        verdict = classify_inbound_request(decoded, headers=dict(raw_headers))
        if isinstance(verdict, InboundLadderRejection):  # the SDK words every rejection
            return False
        result = await self.call(creds, decoded)
        reply = self._encode(decoded["id"], result)
        await send({"type": "http.response.start", "status": 200, "headers": _headers(reply)})
        await send({"type": "http.response.body", "body": reply})
        return True

    # -- the handshake era, for light sessions (sessions.py) ---------------------------------

    def answers_handshake(self, scope: Any, message: Any) -> bool:
        """Whether this path answers a light session's POST: a plain ``tools/call`` of an
        eligible tool that the SDK's handshake-era transport would accept as it stands (both
        media types accepted, a JSON body); the session layer has checked the session,
        the credential and transport security."""
        if not _plain_tool_call(message, envelope=False):
            return False
        if message["params"]["name"] not in self.eligible:
            return False
        request = Request(scope)
        if check_accept_headers(request) != (True, True):
            return False
        content_type = request.headers.get("content-type", "")
        return _JSON_TYPE in (part.strip() for part in content_type.split(";")[0].split(","))

    def encode_handshake(self, request_id: int | str, result: types.CallToolResult) -> bytes:
        """The handshake-era reply as the one event of an SSE response, in the SDK's shape."""
        content, is_error, structured = self._parts(result)
        reply = (
            f'{{"jsonrpc":"2.0","id":{json.dumps(request_id)},"result":{{"content":{content},'
            f'"isError":{is_error}{structured}}}}}'
        )
        return f"event: message\r\ndata: {reply}\r\n\r\n".encode()

    # -- shared --------------------------------------------------------------------------------

    async def call(self, creds: Credentials, message: dict[str, Any]) -> types.CallToolResult:
        """Run the call through the one executor (``message`` passed ``_plain_tool_call``)."""
        params = message["params"]
        entry = self.mcp.registry[params["name"]]
        ctx = ToolContext(services=self.mcp.services, credentials=creds, spec=entry.spec)
        result = await run_tool(entry, ctx, dict(params.get("arguments") or {}))
        self.answered += 1
        return result  # type: ignore[return-value]

    def _encode(self, request_id: int | str, result: types.CallToolResult) -> bytes:
        """The 2026-07-28 JSON-RPC reply, in the SDK's wire shape, serialising the result once."""
        content, is_error, structured = self._parts(result)
        return (
            f'{{"jsonrpc":"2.0","id":{json.dumps(request_id)},"result":{{"content":{content},'
            f'"isError":{is_error},"resultType":"complete"{structured},'
            f'"_meta":{self._meta_json}}}}}'
        ).encode()

    @staticmethod
    def _parts(result: types.CallToolResult) -> tuple[str, str, str]:
        """content, isError, and the ``,"structuredContent":…`` member (empty when absent: error
        results carry none, see executor) as JSON text."""
        text = result.content[0].text if result.content else ""  # type: ignore[union-attr]
        structured = ""
        if result.structured_content is not None:
            # the executor's text block of a success is this very JSON (_success)
            structured = f',"structuredContent":{text}'
        content = f'[{{"text":{wirejson.dumps(text)},"type":"text"}}]'
        return content, "true" if result.is_error else "false", structured


def _plain_tool_call(decoded: Any, *, envelope: bool = True) -> bool:
    """A single JSON-RPC ``tools/call`` request with nothing this path would not handle
    (``envelope``: the 2026-07-28 ``_meta`` envelope is required, else it is optional)."""
    if not isinstance(decoded, dict) or decoded.keys() - _ENVELOPE_KEYS:
        return False
    request_id = decoded.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, int | str):
        return False
    if decoded.get("jsonrpc") != "2.0" or decoded.get("method") != "tools/call":
        return False
    params = decoded.get("params")
    if not isinstance(params, dict) or params.keys() - _PARAM_KEYS:
        return False
    if not isinstance(params.get("name"), str):
        return False
    arguments = params.get("arguments")
    if arguments is not None and not isinstance(arguments, dict):
        return False
    meta = params.get("_meta")
    if meta is None and not envelope:
        return True
    return isinstance(meta, dict) and _PROGRESS_KEY not in meta


def _headers(reply: bytes) -> list[tuple[bytes, bytes]]:
    return [*_JSON_HEADERS, (b"content-length", str(len(reply)).encode())]
