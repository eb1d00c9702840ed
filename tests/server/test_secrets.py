"""Credentials never reach logs, audit lines or error texts."""

import json
import logging

import pytest

from ontraport_mcp.runtime import audit
from ontraport_mcp.settings import Settings
from tests.server_thread import ServerThread, connect

pytestmark = pytest.mark.anyio


async def test_audit_lines_and_logs_hold_no_credentials(sandbox, tmp_path, caplog):
    sink = tmp_path / "audit.log"
    settings = Settings(base_url=sandbox.base_url, audit_log=str(sink))
    caplog.set_level(logging.DEBUG)
    headers = {"Api-Key": sandbox.api_key, "Api-Appid": sandbox.app_id}
    try:
        audit.configure(str(sink))
        with ServerThread(settings) as server:
            async with connect(server.url, headers) as client:
                await client.call_tool("get_objects", {"object_type_id": 0, "range": 1})
                await client.call_tool("get_objects", {"object_type_id": "bad"})
                await client.call_tool(
                    "delete_object", {"object_type_id": 0, "id": 1, "confirmation_token": "ct_x"}
                )
            # credentials Ontraport refuses get HTTP 401 at connect; the refusal must not log them
            with pytest.raises(BaseException):  # noqa: B017 — the client surfaces it its own way
                async with connect(
                    server.url, {"Api-Key": "wrong-secret-key", "Api-Appid": "x-app"}
                ) as bad:
                    await bad.call_tool("build_api_condition", {"expression": "state = CA"})
    finally:
        audit.configure("off")
    lines = [json.loads(line) for line in sink.read_text().splitlines()]
    assert {line["tool"] for line in lines} >= {"get_objects", "delete_object"}
    first = lines[0]
    assert set(first) >= {
        "ts",
        "tool",
        "account",
        "args",
        "outcome",
        "upstream_status",
        "duration_ms",
    }
    assert first["outcome"] == "ok" and first["upstream_status"] == 200
    everything = sink.read_text() + caplog.text
    for secret in (sandbox.api_key, sandbox.app_id, "wrong-secret-key", "x-app"):
        assert secret not in everything
    assert "ct_x" not in sink.read_text()  # confirmation tokens are redacted from audit lines


async def test_the_default_audit_line_of_a_saved_contact_holds_no_email_or_phone(sandbox, tmp_path):
    """Through the real server: the audit sink gets ids and argument names, not the person."""
    sink = tmp_path / "audit.log"
    settings = Settings(base_url=sandbox.base_url, audit_log=str(sink))
    headers = {"Api-Key": sandbox.api_key, "Api-Appid": sandbox.app_id}
    person = {
        "email": "grace.hopper@navy.example",
        "home_phone": "+1 202 555 0147",
        "firstname": "Grace",
    }
    try:
        audit.configure(str(sink))  # the default: safe
        with ServerThread(settings) as server:
            async with connect(server.url, headers) as client:
                result = await client.call_tool(
                    "saveorupdate_object", {"object_type_id": 0, "data": person}
                )
                assert not result.is_error, result.content
    finally:
        audit.configure("off")
    text = sink.read_text()
    line = json.loads(text.splitlines()[-1])
    assert line["tool"] == "saveorupdate_object" and line["outcome"] == "ok"
    assert line["args"]["object_type_id"] == 0
    assert set(line["args"]["data"]) == {"email", "home_phone", "firstname"}
    for private in ("grace", "hopper", "navy", "555", "0147", "Grace"):
        assert private not in text, private
