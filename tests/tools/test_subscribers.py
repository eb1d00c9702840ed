"""get_subscribers end to end: members of a tag, a sequence or an automation."""

from __future__ import annotations

import json

import pytest

from tests.server_thread import connect
from tests.snapshots.catalog_facts import STUDENT
from tests.tools.tools_util import (
    check_error,
    check_output,
    insert,
    make_contact,
    make_record,
    ok,
    uniq,
    upstream,
    writes,
)

pytestmark = pytest.mark.anyio


async def test_tag_members_with_paging(mcp_server, creds, sandbox, api):
    name = uniq("members")
    tag = make_record(api, 14, tag_name=name)
    members = [make_contact(api, firstname=f"M{i}") for i in range(3)]
    ok(api.put("/objects/tag", json={"objectID": 0, "add_list": [tag], "ids": members}))
    async with connect(mcp_server.url, creds) as client:
        sandbox.clear_requests()
        out = check_output(
            "get_subscribers",
            await client.call_tool(
                "get_subscribers", {"tag_id": tag, "fields": ["firstname"], "range": 2}
            ),
        )
        assert out["object_type_id"] == 0 and out["count"] == 2 and out["start"] == 0
        assert out["has_more"] is True and out["total"] == 3
        assert [r["id"] for r in out["records"]] == [str(m) for m in members[:2]]
        assert set(out["records"][0]) == {"id", "firstname"}
        assert "start=2" in out["note"]
        calls = upstream(sandbox)
        assert [(c["method"], c["path"]) for c in calls] == [
            ("GET", "/objects"),
            ("GET", "/objects/tag"),
            ("GET", "/objects/tag"),
        ]
        assert calls[0]["query"]["objectID"] == "14" and calls[0]["query"]["ids"] == str(tag)
        assert calls[1]["query"] == {
            "objectID": "0",
            "tag_id": str(tag),
            "start": "0",
            "range": "2",
            "listFields": "id,firstname",
        }
        assert calls[2]["query"]["count"] == "true"

        out = check_output(
            "get_subscribers",
            await client.call_tool("get_subscribers", {"tag_id": tag, "start": 2}),
        )
        assert [r["id"] for r in out["records"]] == [str(members[2])]
        assert out["has_more"] is False and out["total"] == 3

        sandbox.clear_requests()
        out = check_output(
            "get_subscribers", await client.call_tool("get_subscribers", {"tag_name": name})
        )
        assert out["total"] == 3 and out["has_more"] is False
        calls = upstream(sandbox)
        assert [(c["method"], c["path"]) for c in calls] == [
            ("GET", "/objects"),
            ("GET", "/objects/tag"),
        ]
        assert json.loads(calls[0]["query"]["condition"]) == [
            {"field": {"field": "tag_name"}, "op": "=", "value": {"value": name}}
        ]
        assert writes(sandbox) == []


async def test_tag_of_another_type_defaults_to_its_type(mcp_server, creds, sandbox):
    async with connect(mcp_server.url, creds) as client:
        out = check_output(
            "get_subscribers",
            await client.call_tool(
                "get_subscribers", {"tag_name": "Honor Roll", "fields": ["f1601"]}
            ),
        )
        assert out["object_type_id"] == STUDENT and out["count"] > 0
        check_error(
            await client.call_tool(
                "get_subscribers", {"tag_name": "Honor Roll", "object_type_id": 0}
            ),
            "not_found",
            "for Contact records",
        )
        check_error(
            await client.call_tool("get_subscribers", {"tag_id": 9, "object_type_id": 0}),
            "invalid_arguments",
            f"object type {STUDENT}",
        )


async def test_sequence_members(mcp_server, creds, sandbox, api):
    sequence = insert(sandbox, 5, name=uniq("drip"), object_type_id=0, pause="0")
    members = [make_contact(api) for _ in range(2)]
    ok(
        api.put(
            "/objects/subscribe",
            json={"objectID": 0, "add_list": [sequence], "ids": members, "sub_type": "Sequence"},
        )
    )
    sandbox.clear_requests()
    async with connect(mcp_server.url, creds) as client:
        out = check_output(
            "get_subscribers", await client.call_tool("get_subscribers", {"sequence_id": sequence})
        )
    assert [r["id"] for r in out["records"]] == [str(m) for m in members]
    assert out["total"] == 2 and out["has_more"] is False
    assert out["records"][0]["sequence_step"] == 1 and out["records"][0]["sequence_paused"] is False
    calls = upstream(sandbox)
    assert [(c["method"], c["path"], c["query"].get("objectID")) for c in calls] == [
        ("GET", "/object", "5"),
        ("GET", "/objects", "8"),
        ("GET", "/objects", "0"),
        ("GET", "/objects/getInfo", "8"),
    ]
    assert json.loads(calls[1]["query"]["condition"]) == [
        {"field": {"field": "drip_id"}, "op": "=", "value": {"value": sequence}},
        "AND",
        {"field": {"field": "object_type_id"}, "op": "=", "value": {"value": 0}},
    ]
    assert calls[2]["query"]["ids"] == ",".join(map(str, members))


async def test_automation_members(mcp_server, creds, sandbox, api):
    automation = insert(sandbox, 140, name=uniq("auto"), object_type_id=0, pause="0", deleted="0")
    members = [make_contact(api) for _ in range(2)]
    ok(
        api.put(
            "/objects/subscribe",
            json={"objectID": 0, "add_list": [automation], "ids": members, "sub_type": "Campaign"},
        )
    )
    sandbox.clear_requests()
    async with connect(mcp_server.url, creds) as client:
        out = check_output(
            "get_subscribers",
            await client.call_tool(
                "get_subscribers", {"automation_id": automation, "fields": ["id", "email"]}
            ),
        )
    assert sorted(int(r["id"]) for r in out["records"]) == members and out["total"] == 2
    calls = upstream(sandbox)
    assert [(c["method"], c["path"]) for c in calls] == [
        ("GET", "/object"),
        ("GET", "/objects"),
        ("GET", "/objects/getInfo"),
    ]
    assert json.loads(calls[1]["query"]["condition"]) == [
        {"field": {"field": "updateCampaign"}, "op": "CONTAINS", "value": {"value": automation}}
    ]


async def test_refusals_and_bad_input(mcp_server, creds, sandbox):
    async with connect(mcp_server.url, creds) as client:
        cases = [
            ({}, "invalid_arguments", ["exactly one"]),
            ({"tag_id": 1, "sequence_id": 1}, "invalid_arguments", ["tag_id, sequence_id"]),
            ({"tag_id": 9999996}, "not_found", ["9999996"]),
            ({"tag_name": uniq("nope")}, "not_found", ["no tag named"]),
            ({"sequence_id": 9999997}, "not_found", ["9999997"]),
            ({"automation_id": 9999998}, "not_found", ["9999998"]),
            ({"tag_id": 1, "range": 51}, "invalid_arguments", ["range"]),
            ({"tag_id": "VIP"}, "invalid_arguments", ["tag_id"]),
            ({"tag_id": 1, "object_type_id": 46}, "invalid_arguments", ["object type 0"]),
            ({"tag_id": 1, "members": True}, "invalid_arguments", ["members"]),
        ]
        for args, code, needles in cases:
            check_error(await client.call_tool("get_subscribers", args), code, *needles)
