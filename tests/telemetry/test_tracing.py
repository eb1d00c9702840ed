"""One span per tools/call with one child per request to Ontraport, on every route; the request
id of a call is the same in its span, its audit line and the JSON log lines written during it."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode
from starlette.applications import Starlette

from ontraport_mcp import observe
from ontraport_mcp.runtime import audit
from ontraport_mcp.sandbox.testing import SandboxServer, free_port
from ontraport_mcp.telemetry import install
from ontraport_mcp.telemetry.logs import JsonFormatter

from .conftest import (
    Instrumented,
    close_session,
    facade_call,
    modern_call,
    open_full_session,
    session_call,
    tool_result,
)

READ = {"object_type_id": 0, "range": 2}


def _spans_of(
    instrumented: Instrumented, request_id: str
) -> tuple[ReadableSpan, list[ReadableSpan]]:
    """The call's tools/call span (exactly one) and its children."""
    finished = instrumented.spans.get_finished_spans()
    calls = [
        s
        for s in finished
        if s.name.startswith("tools/call")
        and (s.attributes or {}).get("ontraport.request_id") == request_id
    ]
    assert len(calls) == 1, [s.name for s in finished]
    call = calls[0]
    children = [
        s for s in finished if s.parent is not None and s.parent.span_id == call.context.span_id
    ]
    return call, children


def _check_read(call: ReadableSpan, children: list[ReadableSpan]) -> None:
    assert call.name == "tools/call get_objects"
    assert call.kind is SpanKind.SERVER
    assert dict(call.attributes or {}) == {
        "gen_ai.tool.name": "get_objects",
        "ontraport.tool.class": "R",
        "ontraport.request_id": call.attributes["ontraport.request_id"],  # type: ignore[index]
        "ontraport.outcome": "ok",
    }
    assert len(children) == 1
    child = children[0]
    assert child.kind is SpanKind.CLIENT
    assert child.context.trace_id == call.context.trace_id
    attrs = dict(child.attributes or {})
    assert attrs["http.response.status_code"] == 200
    assert attrs["ontraport.attempt"] == 1
    assert child.name == f"ontraport {attrs['ontraport.operation']}"
    assert call.start_time <= child.start_time <= child.end_time <= call.end_time  # type: ignore[operator]


def test_fast_path_call_has_one_span_with_its_upstream_child(instrumented, creds):
    reply = modern_call(
        instrumented.server, creds, "get_objects", READ, **{"X-Request-Id": "fast-1"}
    )
    assert reply.headers["x-request-id"] == "fast-1"
    assert instrumented.server.app.state.fast_calls.answered >= 1
    call, children = _spans_of(instrumented, "fast-1")
    _check_read(call, children)
    assert call.parent is None


def test_sdk_session_call_has_one_span_not_doubled_by_the_sdk_span(instrumented, creds):
    """The SDK wraps the request in its own ``tools/call get_objects`` span, on the process-wide
    provider: ours is the only one exported, once."""
    server = instrumented.server
    session = open_full_session(server, creds)
    try:
        # two calls: the second must not carry the id of the first (or of the initialize)
        for request_id in ("sdk-1", "sdk-2"):
            reply = session_call(
                server, session, creds, "get_objects", READ, **{"X-Request-Id": request_id}
            )
            assert reply.headers["x-request-id"] == request_id
            assert tool_result(reply).get("isError") is not True
    finally:
        close_session(server, session, creds)
    for request_id in ("sdk-1", "sdk-2"):
        call, children = _spans_of(instrumented, request_id)
        _check_read(call, children)
    # the SDK's span (scope "mcp-python-sdk") stays on the unconfigured process-wide provider
    scopes = {s.instrumentation_scope.name for s in instrumented.spans.get_finished_spans()}
    assert scopes == {"ontraport_mcp"}


def test_facade_call_has_one_span_with_its_upstream_child(instrumented, creds):
    reply = facade_call(
        instrumented.server, creds, "get_objects", READ, **{"X-Request-Id": "facade-1"}
    )
    assert reply.status_code == 200, reply.text
    assert reply.headers["x-request-id"] == "facade-1"
    call, children = _spans_of(instrumented, "facade-1")
    _check_read(call, children)


def test_an_error_outcome_marks_the_span(instrumented, creds):
    modern_call(
        instrumented.server,
        creds,
        "get_objects",
        {"object_type_id": 0, "range": 99},
        **{"X-Request-Id": "bad-1"},
    )
    call, children = _spans_of(instrumented, "bad-1")
    assert call.attributes["ontraport.outcome"] == "error:invalid_arguments"  # type: ignore[index]
    assert call.status.status_code is StatusCode.ERROR
    assert children == []  # refused before any request to Ontraport


def test_no_attribute_holds_a_credential_or_an_argument(instrumented, creds, sandbox):
    modern_call(
        instrumented.server,
        creds,
        "get_objects",
        {"object_type_id": 0, "range": 1, "condition": "email = 'private@example.com'"},
    )
    text = json.dumps(
        [
            dict(s.attributes or {}) | {"name": s.name}
            for s in instrumented.spans.get_finished_spans()
        ]
    )
    for secret in (sandbox.api_key, sandbox.app_id, "private@example.com"):
        assert secret not in text


class _Capture(logging.Handler):
    """JSON log lines, formatted as ``--log-format json`` writes them."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextlib.contextmanager
def _log_during_calls(logger: logging.Logger) -> Iterator[None]:
    """An observer that writes a log line inside every tools/call (as any code of the call may)."""

    @contextlib.contextmanager
    def log_inside(span: observe.Span) -> Iterator[None]:
        if span.kind == "tools/call":
            logger.warning("inside the call")
        yield

    unwatch = observe.watch(log_inside)
    try:
        yield
    finally:
        unwatch()


def test_request_id_is_the_same_in_span_audit_line_and_json_log(instrumented, creds, tmp_path):
    audit_file = tmp_path / "audit.log"
    audit.configure(str(audit_file), "safe", fmt="json")
    logger = logging.getLogger("tests.telemetry.inside")
    capture = _Capture()
    logger.addHandler(capture)
    try:
        with _log_during_calls(logger):
            modern_call(
                instrumented.server, creds, "get_objects", READ, **{"X-Request-Id": "tie-1"}
            )
    finally:
        logger.removeHandler(capture)
        audit.configure("off")
    call, _ = _spans_of(instrumented, "tie-1")
    assert call.attributes["ontraport.request_id"] == "tie-1"  # type: ignore[index]
    audit_lines = [json.loads(line) for line in audit_file.read_text().splitlines()]
    assert len(audit_lines) == 1
    line = audit_lines[0]
    assert line["request_id"] == "tie-1" and line["tool"] == "get_objects"
    assert {"time", "level", "logger", "message", "outcome"} <= set(line)
    logged = [json.loads(text) for text in capture.lines]
    assert [(e["message"], e.get("request_id")) for e in logged] == [("inside the call", "tie-1")]


def test_a_made_up_request_id_replaces_one_that_is_not_plain(instrumented, creds):
    reply = modern_call(
        instrumented.server, creds, "get_objects", READ, **{"X-Request-Id": 'a b"c'}
    )
    made = reply.headers["x-request-id"]
    assert made != 'a b"c' and len(made) == 16
    _spans_of(instrumented, made)


# --- off and free; OTLP when asked -------------------------------------------------------------


def test_nothing_watches_without_an_endpoint_or_metrics():
    app = Starlette()
    before = observe.watchers()
    telemetry = install(SimpleNamespace(metrics=False), app, environ={})
    try:
        assert telemetry.tracing is None and telemetry.metrics is None
        telemetry.start()
        assert observe.watchers() == before
    finally:
        telemetry.close()


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        length = int(self.headers.get("content-length", "0"))
        self.received.append((self.path, self.rfile.read(length)))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


def test_spans_are_exported_over_otlp_when_the_endpoint_is_set(
    sandbox: SandboxServer, creds, monkeypatch
):
    from tests.conftest import server_settings
    from tests.server_thread import ServerThread

    port = free_port()
    collector = ThreadingHTTPServer(("127.0.0.1", port), _Collector)
    thread = threading.Thread(target=collector.serve_forever, daemon=True)
    thread.start()
    _Collector.received = []
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
    try:
        server = ServerThread(server_settings(sandbox.base_url))  # build_app installs it
        assert server.app.state.telemetry.tracing is not None
        with server:
            modern_call(server, creds, "get_objects", READ, **{"X-Request-Id": "otlp-1"})
        # the app's shutdown flushed the batch
    finally:
        collector.shutdown()
        collector.server_close()
        thread.join(timeout=5)
    paths = {path for path, _ in _Collector.received}
    assert paths == {"/v1/traces"}
    payload = b"".join(body for _, body in _Collector.received)
    assert b"tools/call get_objects" in payload and b"otlp-1" in payload
    assert sandbox.api_key.encode() not in payload
