"""``tools/call`` and ``tools/list`` answered without the SDK's per-request pipeline:
2026-07-28 requests, and requests of light handshake-era sessions (``sessions.py`` hands those
over through ``answers_handshake`` / ``reply_handshake``).  Calls only of tools that never ask the
user anything; listings from the dispatch's cache of encoded listings (``runtime.dispatch``).

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
the same requests through both paths and compares the replies.  Our own spans and metrics
(``observe``) are recorded in the dispatch, on this path as on the SDK's; the SDK's own span is
not.
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

from .. import wirejson
from ..credentials import Credentials
from ..errors import ToolError
from ..runtime.dispatch import ACCESS_SCOPE_KEY, Dispatch
from .auth import CREDENTIALS_SCOPE_KEY
from .replay import read_body

if TYPE_CHECKING:
    from collections.abc import Mapping

    import mcp_types as types


class ToolHost(Protocol):
    """What this path needs of the server (``server.OntraportMCP``), named here so that the
    transport does not import the server that builds it."""

    @property
    def dispatch(self) -> Dispatch: ...

    @property
    def server(self) -> Any: ...  # the SDK's Server: its server_info_stamp

    @property
    def list_hint(self) -> tuple[int, str]: ...  # tools/list cache hint: ttl ms, scope

    def input_schema(self, name: str) -> Mapping[str, Any] | None: ...


_ENVELOPE_KEYS = frozenset({"jsonrpc", "id", "method", "params"})
_PARAM_KEYS_OF = {
    "tools/call": frozenset({"name", "arguments", "_meta"}),
    "tools/list": frozenset({"_meta"}),  # a cursor goes to the SDK (our lists are one page)
}
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
        # static tools that never ask the user anything and take no Mcp-Param-* headers; the
        # caller's access is checked by the dispatch, on this path as on every other
        self.eligible = frozenset(
            name
            for name in mcp.dispatch.fast_eligible(mcp.dispatch.access("full"))
            if mcp.input_schema(name) is None
        )
        stamp = {SERVER_INFO_META_KEY: mcp.server.server_info_stamp}
        self._meta_json = json.dumps(stamp, separators=(",", ":"))
        self.answered = 0  # calls this path answered (tests and the benchmark read it)
        self.listed = 0  # listings this path answered

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
            decoded = wirejson.loads_request(body)
        except (ValueError, RecursionError):
            return False
        method = _plain_request(decoded, self.eligible)
        if method is None:
            return False
        raw_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        if any(name.startswith("mcp-param-") for name, _ in raw_headers):
            return False
        if find_duplicated_routing_header(raw_headers) is not None:
            return False
        verdict = classify_inbound_request(decoded, headers=dict(raw_headers))
        if isinstance(verdict, InboundLadderRejection):  # the SDK words every rejection
            return False
        if method == "tools/list":
            tools = await self._tools(scope, creds)
            if tools is None:
                return False
            reply = self._encode_list(decoded["id"], tools)
        else:
            reply = self._encode(decoded["id"], await self.call(scope, creds, decoded))
        await send({"type": "http.response.start", "status": 200, "headers": _headers(reply)})
        await send({"type": "http.response.body", "body": reply})
        return True

    # -- the handshake era, for light sessions (sessions.py) ---------------------------------

    def answers_handshake(self, scope: Any, message: Any) -> bool:
        """Whether this path answers a light session's POST: a plain ``tools/list``, or a plain
        ``tools/call`` of an eligible tool, that the SDK's handshake-era transport would accept
        as it stands (both media types accepted, a JSON body); the session layer has checked
        the session, the credential and transport security."""
        if _plain_request(message, self.eligible, envelope=False) is None:
            return False
        request = Request(scope)
        if check_accept_headers(request) != (True, True):
            return False
        content_type = request.headers.get("content-type", "")
        return _JSON_TYPE in (part.strip() for part in content_type.split(";")[0].split(","))

    async def reply_handshake(
        self, scope: Any, creds: Credentials, message: dict[str, Any]
    ) -> bytes | None:
        """The handshake-era reply to a request ``answers_handshake`` accepted, as the one
        event of an SSE response in the SDK's shape; None: let the SDK answer after all."""
        request_id = json.dumps(message["id"])
        if message["method"] == "tools/list":
            tools = await self._tools(scope, creds)
            if tools is None:
                return None
            reply = b'{"jsonrpc":"2.0","id":%s,"result":{"tools":%s}}' % (
                request_id.encode(),
                tools,
            )
        else:
            content, is_error, structured = self._parts(await self.call(scope, creds, message))
            reply = (
                f'{{"jsonrpc":"2.0","id":{request_id},"result":{{"content":{content},'
                f'"isError":{is_error}{structured}}}}}'
            ).encode()
        return b"event: message\r\ndata: %s\r\n\r\n" % reply

    # -- shared --------------------------------------------------------------------------------

    async def call(
        self, scope: Any, creds: Credentials, message: dict[str, Any]
    ) -> types.CallToolResult:
        """Run the call through the one dispatch (``message`` passed ``_plain_tool_call``)."""
        params = message["params"]
        dispatch = self.mcp.dispatch
        result = await dispatch.call(
            creds,
            params["name"],
            dict(params.get("arguments") or {}),
            access=dispatch.access(scope.get(ACCESS_SCOPE_KEY)),
        )
        self.answered += 1
        return result  # type: ignore[return-value]

    async def _tools(self, scope: Any, creds: Credentials) -> bytes | None:
        """The caller's listing, encoded; None when only the SDK should answer (the credential
        refused, or a stand-in listing while Ontraport is unreachable)."""
        dispatch = self.mcp.dispatch
        try:
            listing = await dispatch.listing(creds, dispatch.access(scope.get(ACCESS_SCOPE_KEY)))
        except ToolError:
            return None
        if listing.ttl_ms is not None:
            return None
        self.listed += 1
        return listing.encoded

    def _encode_list(self, request_id: int | str, tools: bytes) -> bytes:
        """The 2026-07-28 ``tools/list`` reply with the server's cache hint, in the SDK's shape."""
        ttl_ms, cache_scope = self.mcp.list_hint
        return (
            b'{"jsonrpc":"2.0","id":%s,"result":{"cacheScope":%s,"resultType":"complete",'
            b'"tools":%s,"ttlMs":%d,"_meta":%s}}'
            % (
                json.dumps(request_id).encode(),
                json.dumps(cache_scope).encode(),
                tools,
                ttl_ms,
                self._meta_json.encode(),
            )
        )

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


def _plain_request(decoded: Any, eligible: frozenset[str], *, envelope: bool = True) -> str | None:
    """``"tools/call"`` or ``"tools/list"`` when ``decoded`` is a single JSON-RPC request of that
    method with nothing this path would not handle (a call of an ``eligible`` tool; a list with
    no cursor), else None.  ``envelope``: the 2026-07-28 ``_meta`` envelope is required, else it
    is optional."""
    if not isinstance(decoded, dict) or decoded.keys() - _ENVELOPE_KEYS:
        return None
    request_id = decoded.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, int | str):
        return None
    method = decoded.get("method")
    if decoded.get("jsonrpc") != "2.0" or method not in _PARAM_KEYS_OF:
        return None
    params = decoded.get("params", {} if method == "tools/list" else None)
    if not isinstance(params, dict) or params.keys() - _PARAM_KEYS_OF[method]:
        return None
    if method == "tools/call":
        if not isinstance(params.get("name"), str) or params["name"] not in eligible:
            return None
        arguments = params.get("arguments")
        if arguments is not None and not isinstance(arguments, dict):
            return None
    meta = params.get("_meta")
    if meta is None and not envelope:
        return str(method)
    return str(method) if isinstance(meta, dict) and _PROGRESS_KEY not in meta else None


def _headers(reply: bytes) -> list[tuple[bytes, bytes]]:
    return [*_JSON_HEADERS, (b"content-length", str(len(reply)).encode())]
