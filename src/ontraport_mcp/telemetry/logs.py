"""Structured logs and the request id that ties a log line, an audit line and a span together.

``configure_logging(level, "json")`` writes one JSON object per line on stderr::

    {"time": "2026-12-07T05:31:02.114Z", "level": "INFO", "logger": "…", "message": "…",
     "request_id": "…"}

(``request_id`` when one is set; ``exception`` with the traceback when the record has one).  An
audit line (``runtime.audit``) keeps its own fields at the top level of the same object.

``RequestIdMiddleware`` gives every HTTP request an id: the client's ``X-Request-Id`` when it is
short and plain (``PLAIN_ID``), else a fresh random one; it is set in ``observe.request_id`` for
the request and echoed in the response header.  The SDK runs a session's calls in tasks started
from the request's own context, so the id reaches them too (tests/telemetry check it on a full
session).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import time
from typing import IO, Any, Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import observe

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"
PLAIN_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
"""A client's request id is taken only when it matches this: no spaces, quotes or controls."""
_HEADER = b"x-request-id"
_RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}


def _utc(created: float) -> str:
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{whole}.{int(created % 1 * 1000):03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per record; the request id from the record, else from the context."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _utc(record.created),
            "level": record.levelname,
            "logger": record.name,
        }
        audit_line = getattr(record, "audit", None)
        if isinstance(audit_line, dict):
            entry["message"] = "tool call"
            entry.update(audit_line)
        else:
            entry["message"] = record.getMessage()
        request_id = getattr(record, "request_id", None) or observe.request_id.get()
        if request_id and "request_id" not in entry:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, separators=(",", ":"), default=str)


def formatter(fmt: LogFormat) -> logging.Formatter:
    """The formatter of ``fmt`` for ordinary log records."""
    return JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)


def configure_logging(
    level: str | int, fmt: LogFormat = "text", stream: IO[str] | None = None
) -> None:
    """The root logger on ``stream`` (stderr) at ``level`` in ``fmt`` (replaces
    ``logging.basicConfig`` in the CLI); calling it again replaces its handler.  Loggers that keep
    their own handlers (the audit writer) are configured apart."""
    if fmt not in ("text", "json"):
        raise ValueError(f"unknown log format {fmt!r}: choose text or json")
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_ontraport_mcp", False):
            root.removeHandler(old)
            old.close()
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter(fmt))
    handler._ontraport_mcp = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)


def request_id_of(headers: Any) -> str:
    """The id of a request: the client's ``X-Request-Id`` when short and plain, else a new one.
    ``headers`` are the ASGI scope's ``(name, value)`` byte pairs."""
    for name, value in headers:
        if name == _HEADER:
            try:
                text = value.decode("ascii")
            except UnicodeDecodeError:
                break
            if PLAIN_ID.fullmatch(text):
                return text
            break
    return secrets.token_hex(8)


class RequestIdMiddleware:
    """ASGI middleware: sets ``observe.request_id`` for each HTTP request and echoes it as
    ``X-Request-Id`` on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope.get("headers", ()))
        echoed = request_id.encode("ascii")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != _HEADER]
                message = {**message, "headers": [*headers, (_HEADER, echoed)]}
            await send(message)

        token = observe.request_id.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            observe.request_id.reset(token)
