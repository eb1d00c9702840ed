"""Both protocol eras end to end, stdio, argument validation and structured errors."""

import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from ontraport_mcp.runtime.executor import error_payload
from tests.server_thread import connect
from tests.snapshots.catalog_facts import STATIC_TOOLS

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_both_eras_list_and_call(mcp_server, creds, mode):
    async with connect(mcp_server.url, creds, mode=mode) as client:
        expected = "2026-07-28" if mode == "auto" else "2025-11-25"
        assert client.protocol_version == expected
        tools = (await client.list_tools()).tools
        assert len(tools) >= STATIC_TOOLS
        tool = next(t for t in tools if t.name == "get_objects")
        assert tool.annotations.read_only_hint is True and tool.output_schema
        result = await client.call_tool(
            "get_objects", {"object_type": "Contacts", "range": 2, "fields": ["email"]}
        )
        assert not result.is_error
        records = result.structured_content["records"]
        assert len(records) == 2 and set(records[0]) <= {"id", "email"}


async def test_bad_arguments_are_structured_errors(mcp_server, creds):
    async with connect(mcp_server.url, creds) as client:
        wrong_type = await client.call_tool("get_objects", {"object_type_id": "zero"})
        assert wrong_type.is_error
        assert error_payload(wrong_type)["code"] == "invalid_arguments"
        assert error_payload(wrong_type)["details"]["field"] == "object_type_id"
        unknown = await client.call_tool("get_objects", {"object_type_id": 0, "colour": "red"})
        assert unknown.is_error and "colour" in error_payload(unknown)["message"]
        bad_range = await client.call_tool("get_objects", {"object_type_id": 0, "range": 500})
        assert bad_range.is_error and error_payload(bad_range)["details"]["field"] == "range"
        missing = await client.call_tool("get_objects", {"object_type_id": 0, "id": 99999999})
        assert missing.is_error and error_payload(missing)["code"] == "not_found"
        bad_type = await client.call_tool("get_objects", {"object_type_id": 9999})
        assert bad_type.is_error and "Unknown object type" in error_payload(bad_type)["message"]
        refused = await client.call_tool(
            "create_object", {"object_type_id": 46, "data": {"total": 1}}
        )
        assert refused.is_error and error_payload(refused)["code"] == "not_allowed"
        assert (
            "create_invoice" in error_payload(refused)["message"]
            or error_payload(refused)["details"]["use_instead"]
        )


async def test_unknown_tool_is_a_protocol_error(mcp_server, creds):
    from mcp import MCPError

    async with connect(mcp_server.url, creds) as client:
        await client.list_tools()
        with pytest.raises(MCPError):
            await client.call_tool("no_such_tool", {})


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_stdio_transport(sandbox, mode):
    exe = Path(sys.executable).parent / "ontraport-mcp"
    params = StdioServerParameters(
        command=str(exe),
        args=["serve", "--transport", "stdio"],
        env={
            "ONTRAPORT_BASE_URL": sandbox.base_url,
            "ONTRAPORT_API_KEY": sandbox.api_key,
            "ONTRAPORT_APP_ID": sandbox.app_id,
            "ONTRAPORT_AUDIT_LOG": "off",
        },
    )
    async with Client(params, mode=mode) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert "manage_tags" in names
        result = await client.call_tool("count_objects", {"object_type_id": 0})
        assert not result.is_error and result.structured_content["count"] > 0
