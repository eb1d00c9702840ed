"""``--log-format json``: one JSON object per line, with the request id of the context; the
request ids a client may choose."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from ontraport_mcp import observe
from ontraport_mcp.runtime import audit
from ontraport_mcp.telemetry.logs import configure_logging, request_id_of


@pytest.fixture
def json_root() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    level = root.level
    stream = io.StringIO()
    configure_logging("INFO", "json", stream)
    yield stream
    for handler in list(root.handlers):
        if getattr(handler, "_ontraport_mcp", False):
            root.removeHandler(handler)
    root.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_one_object_per_line_with_the_request_id(json_root):
    log = logging.getLogger("ontraport_mcp.test")
    log.info("outside any request")
    token = observe.request_id.set("r-42")
    try:
        log.warning("two\nlines %s", "here")
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
    finally:
        observe.request_id.reset(token)
    first, second, third = _lines(json_root)
    assert set(first) == {"time", "level", "logger", "message"}
    assert first["time"].endswith("Z") and first["level"] == "INFO"
    assert second == {**second, "message": "two\nlines here", "request_id": "r-42"}
    assert third["level"] == "ERROR" and "ValueError: boom" in third["exception"]


def test_configuring_twice_keeps_one_handler(json_root):
    again = io.StringIO()
    configure_logging("INFO", "json", again)
    logging.getLogger("ontraport_mcp.test").warning("once")
    assert json_root.getvalue() == ""
    assert [line["message"] for line in _lines(again)] == ["once"]


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="text or json"):
        configure_logging("INFO", "xml")  # type: ignore[arg-type]


def test_the_audit_line_as_a_json_log_line(tmp_path):
    sink = tmp_path / "audit.log"
    audit.configure(str(sink), "safe", fmt="json")
    token = observe.request_id.set("r-7")
    try:
        audit.audit(tool="get_objects", account="abc", args={"email": "a@b.c"}, outcome="ok")
    finally:
        observe.request_id.reset(token)
        audit.configure("off")
    (line,) = [json.loads(text) for text in sink.read_text().splitlines()]
    assert line["logger"].endswith("audit") and line["level"] == "INFO"
    assert line["request_id"] == "r-7" and line["tool"] == "get_objects"
    assert line["args"] == {"email": "<text 5>"}


def test_the_plain_audit_line_carries_the_request_id_too(tmp_path):
    sink = tmp_path / "audit.log"
    audit.configure(str(sink), "safe")
    token = observe.request_id.set("r-8")
    try:
        audit.audit(tool="get_objects", account="abc", args={}, outcome="ok")
    finally:
        observe.request_id.reset(token)
        audit.configure("off")
    line = json.loads(sink.read_text())
    assert (
        set(line) == {"ts", "tool", "account", "args", "outcome", "duration_ms", "request_id"}
        and line["request_id"] == "r-8"
    )


@pytest.mark.parametrize(
    "given",
    ["abc-123", "0f3c2a1b-7d9e-4c1a-9f00-5e3d2c1b0a99", "trace:span.1_2", "x" * 64],
)
def test_a_plain_client_id_is_kept(given):
    assert request_id_of([(b"x-request-id", given.encode())]) == given


@pytest.mark.parametrize(
    "given",
    [b"", b"x" * 65, b"a b", b'a"b', b"a\nb", b"caf\xc3\xa9", b"\xff", b"<script>"],
)
def test_anything_else_gets_a_new_id(given):
    made = request_id_of([(b"x-request-id", given)])
    assert made != given.decode("latin-1") and len(made) == 16 and int(made, 16) >= 0


def test_no_header_gets_a_new_id_each_time():
    assert request_id_of([]) != request_id_of([])
