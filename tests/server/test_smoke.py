import pytest

from tests.server_thread import connect

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_list_and_call(mcp_server, creds, sandbox, mode):
    async with connect(mcp_server.url, creds, mode=mode) as client:
        tools = await client.list_tools()
        names = {t.name for t in tools.tools}
        assert "get_objects" in names
        result = await client.call_tool("get_objects", {"object_type_id": 0, "range": 3})
        assert not result.is_error, result.content
        assert result.structured_content["count"] == 3
