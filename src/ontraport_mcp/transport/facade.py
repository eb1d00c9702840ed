"""The tools as plain HTTP operations, for fuzzing and for integrations that speak OpenAPI.

    GET  /openapi.json      an OpenAPI 3.1 document generated from the caller's live manifest
    POST /tools/{name}      the tool's input schema as the JSON body → its structuredContent

Same credentials, same confirmation rules, same execution path and structured errors as MCP:
a tool error answers with its HTTP status (400 bad arguments, 403 policy, 404 not found, 409
refused, 429 rate limited…) and the body ``{code, error, message, retry_after_s?, details?}``.

The routes keep the transport rules of ``/mcp`` (``app.FacadeGuard``: Host and Origin, JSON
``Content-Type``, the 4 MiB body limit).  A body is parsed with ``pydantic_core.from_json``, which
has a nesting limit and no recursion, and refuses lone surrogates (no UTF-8 can carry them);
responses are written with ASCII escapes when a value holds a character UTF-8 cannot encode.
"""

from __future__ import annotations

from typing import Any

import mcp_types as types
import pydantic_core
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router

from .. import __version__, wirejson
from ..credentials import Credentials
from ..errors import InvalidArguments, Refused, ToolError
from ..runtime.dispatch import ACCESS_SCOPE_KEY, Dispatch
from ..runtime.executor import error_payload
from .auth import CREDENTIALS_SCOPE_KEY

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["code", "error", "message"],
    "properties": {
        "code": {"type": "string"},
        "error": {"type": "string"},
        "message": {"type": "string"},
        "retry_after_s": {"type": "number"},
        "details": {"type": "object"},
        "http_status": {"type": "integer"},
    },
}
# 413 body too large, 421 foreign Host, 431 headers too large, 503 busy (server.FacadeGuard, auth)
ERROR_STATUSES = (
    "400", "401", "403", "404", "409", "413", "421", "429", "431", "502", "503", "504",
)  # fmt: skip


class _JSON(JSONResponse):
    """JSON that survives any string: UTF-8 when it can, ASCII escapes when a lone surrogate
    (valid in JSON text, not in UTF-8) would make the standard encoder fail."""

    def render(self, content: Any) -> bytes:
        return wirejson.dumps(content).encode("utf-8", "backslashreplace")


def _error_response(exc: ToolError) -> JSONResponse:
    return _JSON(exc.payload(), status_code=exc.status)


_NOT_AN_OBJECT = "The body must be a JSON object of the tool's arguments."


def _arguments(body: bytes) -> dict[str, Any]:
    """The body's argument object; an empty body is no arguments."""
    try:
        args = pydantic_core.from_json(body or b"{}")
    except ValueError as exc:  # bad JSON, too deep, a lone surrogate, a number past 4300 digits
        raise InvalidArguments(f"{_NOT_AN_OBJECT} It is not JSON: {exc}") from None
    if not isinstance(args, dict):
        raise InvalidArguments(_NOT_AN_OBJECT)
    return args


def build_document(tools: list[Any], base: str) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for tool in tools:
        responses: dict[str, Any] = {
            "200": {
                "description": "The tool's structured result.",
                "content": {
                    "application/json": {"schema": tool.output_schema or {"type": "object"}}
                },
            }
        }
        for status in ERROR_STATUSES:
            responses[status] = {"$ref": "#/components/responses/ToolError"}
        paths[f"/tools/{tool.name}"] = {
            "post": {
                "operationId": tool.name,
                "summary": tool.title or tool.name,
                "description": tool.description or "",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": tool.input_schema}},
                },
                "responses": responses,
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ontraport-mcp tools",
            "version": __version__,
            "description": "Every MCP tool of this account as an HTTP operation.",
        },
        "servers": [{"url": base}],
        "security": [{"ApiKey": [], "AppId": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "ApiKey": {"type": "apiKey", "in": "header", "name": "Api-Key"},
                "AppId": {"type": "apiKey", "in": "header", "name": "Api-Appid"},
            },
            "responses": {
                "ToolError": {
                    "description": "A structured tool error.",
                    "content": {"application/json": {"schema": ERROR_SCHEMA}},
                }
            },
        },
    }


def facade_router(dispatch: Dispatch) -> Router:
    """The facade's routes, over the one dispatch (the caller's tools, access and errors)."""

    def creds_of(request: Request) -> Credentials:
        creds = request.scope.get(CREDENTIALS_SCOPE_KEY)
        assert isinstance(creds, Credentials)  # the auth middleware guarantees it
        return creds

    async def openapi(request: Request) -> Response:
        access = dispatch.access(request.scope.get(ACCESS_SCOPE_KEY))
        try:
            manifest = await dispatch.manifest(creds_of(request))
        except ToolError as exc:
            return _error_response(exc)
        specs = [s for s in (*dispatch.static_specs, *manifest.tools) if access.allows(s)]
        base = str(request.base_url).rstrip("/")
        return _JSON(build_document(specs, base))

    async def call(request: Request) -> Response:
        access = dispatch.access(request.scope.get(ACCESS_SCOPE_KEY))
        try:
            args = _arguments(await request.body())
            result = await dispatch.call(
                creds_of(request), request.path_params["name"], args, access=access
            )
        except ToolError as exc:  # an unknown tool, or the account's types unreadable
            return _error_response(exc)
        if not isinstance(result, types.CallToolResult):  # needs MCP elicitation; never here
            return _error_response(Refused("This confirmation needs an MCP client.", status=409))
        error = error_payload(result)
        if error is not None:
            return _JSON(error, status_code=int(error.get("http_status") or 500))
        return _JSON(result.structured_content or {})

    return Router(
        routes=[
            Route("/openapi.json", openapi, methods=["GET"]),
            Route("/tools/{name}", call, methods=["POST"]),
        ]
    )
