"""pause_unpause_objects end to end: sequences, rules, sequence subscribers and automations."""

from __future__ import annotations

import pytest

from ontraport_mcp.overrides.manage import _pause_supported
from tests.server_thread import connect
from tests.tools.tools_util import (
    check_error,
    check_output,
    get_record,
    insert,
    uniq,
    upstream,
    writes,
)

pytestmark = pytest.mark.anyio


async def test_pause_and_resume_sequences(mcp_server, creds, sandbox, api):
    s1 = insert(sandbox, 5, name=uniq("seq"), object_type_id=0, pause="0")
    s2 = insert(sandbox, 5, name=uniq("seq"), object_type_id=0, pause="1")
    sandbox.clear_requests()
    async with connect(mcp_server.url, creds) as client:
        out = check_output(
            "pause_unpause_objects",
            await client.call_tool(
                "pause_unpause_objects", {"object_type_id": 5, "action": "pause", "ids": [s1, s2]}
            ),
        )
        assert out == {**out, "object_type_id": 5, "action": "pause", "ids": [s1, s2]}
        assert f"Already paused before the call: {s2}" in out["message"]
        calls = upstream(sandbox)
        assert [(c["method"], c["path"]) for c in calls] == [
            ("GET", "/objects"),
            ("POST", "/objects/pause"),
        ]
        assert calls[0]["query"]["objectID"] == "5"
        assert calls[1]["body"] == {"objectID": 5, "ids": [s1, s2]}
        assert get_record(api, 5, s1)["pause"] == "1"

        sandbox.clear_requests()
        out = check_output(
            "pause_unpause_objects",
            await client.call_tool(
                "pause_unpause_objects",
                {"object_type": "Sequences", "action": "unpause", "ids": [s1]},
            ),
        )
        assert out["action"] == "unpause" and "Resumed" in out["message"]
        (post,) = writes(sandbox)
        assert (post["path"], post["body"]) == ("/objects/unpause", {"objectID": 5, "ids": [s1]})
        assert get_record(api, 5, s1)["pause"] == "0"


async def test_pause_rule_and_sequence_subscriber(mcp_server, creds, sandbox, api):
    rule = insert(sandbox, 6, name=uniq("rule"), object_type_id=0, pause="0")
    row = insert(sandbox, 8, contact_id=1, drip_id=1, object_type_id=0, step_num=1, pause="0")
    async with connect(mcp_server.url, creds) as client:
        sandbox.clear_requests()
        check_output(
            "pause_unpause_objects",
            await client.call_tool(
                "pause_unpause_objects", {"object_type": "rules", "action": "pause", "ids": [rule]}
            ),
        )
        (post,) = writes(sandbox)
        assert post["body"] == {"objectID": 6, "ids": [rule]}
        assert get_record(api, 6, rule)["pause"] == "1"
        sandbox.clear_requests()
        out = check_output(
            "pause_unpause_objects",
            await client.call_tool(
                "pause_unpause_objects",
                {"object_type": "Sequence subscribers", "action": "pause", "ids": [row]},
            ),
        )
        assert out["object_type_id"] == 8
        (post,) = writes(sandbox)
        assert post["body"] == {"objectID": 8, "ids": [row]}


async def test_automations(mcp_server, creds, sandbox, api):
    automation = insert(sandbox, 140, name=uniq("auto"), object_type_id=0, pause="0", deleted="0")
    sandbox.clear_requests()
    async with connect(mcp_server.url, creds) as client:
        result = await client.call_tool(
            "pause_unpause_objects",
            {"object_type": "Automations", "action": "pause", "ids": [automation]},
        )
    if _pause_supported(140):
        out = check_output("pause_unpause_objects", result)
        assert out["object_type_id"] == 140
        (post,) = writes(sandbox)
        assert post["body"] == {"objectID": 140, "ids": [automation]}
        assert get_record(api, 140, automation)["pause"] == "1"
    else:
        # The API description (openapi/ontraport.yaml PauseSelection) documents objectID 5, 6
        # and 8 only, so the client cannot send 140: refused up front, nothing sent.
        check_error(result, "refused", "automation", "nothing was changed")
        assert upstream(sandbox) == []


async def test_refusals_and_bad_input(mcp_server, creds, sandbox):
    async with connect(mcp_server.url, creds) as client:
        sandbox.clear_requests()
        check_error(
            await client.call_tool(
                "pause_unpause_objects", {"object_type_id": 5, "action": "pause", "ids": [9876543]}
            ),
            "not_found",
            "9876543",
        )
        check_error(
            await client.call_tool(
                "pause_unpause_objects", {"object_type": "Contacts", "action": "pause", "ids": [1]}
            ),
            "invalid_arguments",
            "cannot be paused",
        )
        check_error(
            await client.call_tool("pause_unpause_objects", {"action": "pause", "ids": [1]}),
            "invalid_arguments",
            "object_type_id",
        )
        check_error(
            await client.call_tool(
                "pause_unpause_objects", {"object_type_id": 0, "action": "pause", "ids": [1]}
            ),
            "invalid_arguments",
            "object_type_id",
        )
        check_error(
            await client.call_tool(
                "pause_unpause_objects", {"object_type_id": 5, "action": "stop", "ids": [1]}
            ),
            "invalid_arguments",
            "action",
        )
        check_error(
            await client.call_tool(
                "pause_unpause_objects", {"object_type_id": 5, "action": "pause", "ids": []}
            ),
            "invalid_arguments",
            "ids",
        )
        check_error(
            await client.call_tool(
                "pause_unpause_objects", {"object_type": "Widgets", "action": "pause", "ids": [1]}
            ),
            "invalid_arguments",
            "Widgets",
        )
        assert writes(sandbox) == []
