"""The example requests of the product catalog (tools.md, "Example requests a user makes"), each
played as the tool sequence an assistant would run.  The commerce examples live elsewhere.

A private sandbox and server for this module keep the scenarios deterministic (exact counts,
"created" on the first upsert) whatever the other suites do to the shared sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from ontraport_mcp.sandbox.config import SandboxConfig
from ontraport_mcp.sandbox.testing import SandboxServer
from tests.conftest import server_settings
from tests.sandbox_plugin import TEST_RATE_LIMIT
from tests.server_thread import ServerThread, connect
from tests.tools.tools_util import check_error, check_output, make_group, ok, upstream, writes

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def sbx() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(db=":memory:", rate_limit=TEST_RATE_LIMIT)) as server:
        yield server


@pytest.fixture(scope="module")
def server(sbx: SandboxServer) -> Iterator[ServerThread]:
    with ServerThread(server_settings(sbx.base_url)) as thread:
        yield thread


@pytest.fixture
def headers(sbx: SandboxServer) -> dict[str, str]:
    return dict(sbx.headers)


@pytest.fixture
def api(sbx: SandboxServer) -> Iterator[httpx.Client]:
    with sbx.client() as client:
        yield client


def all_contacts(api: httpx.Client) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    start = 0
    while True:
        page = ok(api.get("/objects", params={"objectID": 0, "start": start, "range": 50}))
        out += page
        if len(page) < 50:
            return out
        start += 50


async def test_add_or_update_sarah(server, headers, sbx, api):
    """ "Add Sarah Johnson, sarah@acme.com, or update her if she exists." → saveorupdate_object"""
    args = {
        "object_type_id": 0,
        "data": {"firstname": "Sarah", "lastname": "Johnson", "email": "sarah@acme.com"},
    }
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        first = check_output(
            "saveorupdate_object", await client.call_tool("saveorupdate_object", args)
        )
        assert first["created"] is True and first["id"] > 0
        (post,) = writes(sbx)
        assert (post["method"], post["path"]) == ("POST", "/objects/saveorupdate")
        assert post["body"]["email"] == "sarah@acme.com" and post["body"]["objectID"] == 0

        again = {**args, "data": {**args["data"], "title": "VP Sales"}}
        second = check_output(
            "saveorupdate_object", await client.call_tool("saveorupdate_object", again)
        )
        assert second["created"] is False and second["id"] == first["id"]
    matches = ok(
        api.get("/object/getByEmail", params={"objectID": 0, "email": "sarah@acme.com", "all": 1})
    )
    assert matches["ids"] == [str(first["id"])]  # one Sarah, updated in place
    assert ok(api.get("/object", params={"objectID": 0, "id": first["id"]}))["title"] == "VP Sales"


async def test_active_contacts_in_california(server, headers, sbx, api):
    """ "How many active contacts do I have in California?" → build_api_condition + count_objects
    ("active" read as: some activity since 2025-07-01, half a year before the seed's today)."""
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        built = check_output(
            "build_api_condition",
            await client.call_tool(
                "build_api_condition",
                {
                    "object_type_id": 0,
                    "expression": "state = CA and date of last activity >= 2025-07-01",
                },
            ),
        )
        assert upstream(sbx) == []  # parsed locally
        since = int(datetime(2025, 7, 1, tzinfo=UTC).timestamp())
        assert built["condition"] == [
            {"field": {"field": "state"}, "op": "=", "value": {"value": "CA"}},
            "AND",
            {"field": {"field": "dla"}, "op": ">=", "value": {"value": since}},
        ]
        counted = check_output(
            "count_objects",
            await client.call_tool(
                "count_objects", {"object_type_id": 0, "condition": built["condition"]}
            ),
        )
        (info,) = upstream(sbx)
        assert (info["method"], info["path"]) == ("GET", "/objects/getInfo")
        assert json.loads(info["query"]["condition"]) == built["condition"]
    expected = [
        c for c in all_contacts(api) if c.get("state") == "CA" and int(c.get("dla") or 0) >= since
    ]
    assert counted["count"] == len(expected) > 0


async def test_tag_webinar_group_as_warm_lead(server, headers, sbx, api):
    """ "Tag everyone in my 'webinar attendees' group as 'warm lead'." → get_groups + manage_tags"""
    webinar_tag = 5  # seeded tag "Webinar Attendee"
    group = make_group(
        sbx,
        "Webinar attendees",
        [{"field": {"field": "contact_cat"}, "op": "CONTAINS", "value": {"value": webinar_tag}}],
    )
    async with connect(server.url, headers) as client:
        groups = check_output(
            "get_groups", await client.call_tool("get_groups", {"search": "webinar attendees"})
        )
        found = [g for g in groups["records"] if g["name"].lower() == "webinar attendees"]
        assert [int(g["id"]) for g in found] == [group]
        sbx.clear_requests()
        out = check_output(
            "manage_tags",
            await client.call_tool(
                "manage_tags", {"action": "add", "group_id": group, "tag_names": ["warm lead"]}
            ),
        )
        create, put = writes(sbx)
        assert (create["method"], create["path"]) == ("POST", "/objects")
        assert create["body"] == {"objectID": 14, "tag_name": "warm lead", "object_type_id": 0}
        assert (put["method"], put["path"]) == ("PUT", "/objects/tag")
        assert put["body"] == {"objectID": 0, "add_list": out["created_tag_ids"], "ids": out["ids"]}
        assert out["created_tags"] == ["warm lead"] and len(out["created_tag_ids"]) == 1
        members = ok(
            api.get("/objects/tag", params={"objectID": 0, "tag_id": webinar_tag, "range": 50})
        )
        assert sorted(out["ids"]) == sorted(int(m["id"]) for m in members) and out["ids"]

        tagged = check_output(
            "get_subscribers",
            await client.call_tool("get_subscribers", {"tag_name": "warm lead", "fields": ["id"]}),
        )
        assert sorted(int(r["id"]) for r in tagged["records"]) == sorted(out["ids"])


async def test_complete_john_smiths_follow_up_call(server, headers, sbx, api):
    """ "Mark John Smith's follow-up call complete with outcome 'left voicemail'."
    → get_objects (find John) + get_recent_tasks (his open follow-up call) + complete_task"""
    async with connect(server.url, headers) as client:
        john = check_output(
            "saveorupdate_object",
            await client.call_tool(
                "saveorupdate_object",
                {
                    "data": {
                        "firstname": "John",
                        "lastname": "Smith",
                        "email": "john.smith@acme.com",
                    }
                },
            ),
        )["id"]
        check_output(
            "assign_task",
            await client.call_tool("assign_task", {"message_id": 4, "ids": [john], "owner_id": 2}),
        )
        people = check_output(
            "get_objects",
            await client.call_tool(
                "get_objects",
                {
                    "object_type_id": 0,
                    "search": "john.smith@acme.com",
                    "fields": ["firstname", "lastname"],
                },
            ),
        )
        assert [int(p["id"]) for p in people["records"]] == [john]
        tasks = check_output(
            "get_recent_tasks",
            await client.call_tool("get_recent_tasks", {"contact_id": john, "status": "open"}),
        )
        calls = [t for t in tasks["records"] if "follow-up call" in str(t["subject"]).lower()]
        assert len(calls) == 1
        task_id = int(calls[0]["id"])

        sbx.clear_requests()
        done = check_output(
            "complete_task",
            await client.call_tool(
                "complete_task", {"ids": [task_id], "outcome": "left voicemail"}
            ),
        )
        assert done["status"] == "completed" and done["outcome"]["name"] == "Left Voicemail"
        (post,) = writes(sbx)
        assert post["path"] == "/task/complete"
        assert post["body"] == {
            "object_type_id": 0,
            "ids": [task_id],
            "data": {"outcome": ":=Left Voicemail"},
        }

        after = check_output(
            "get_recent_tasks",
            await client.call_tool("get_recent_tasks", {"contact_id": john, "status": "completed"}),
        )
        assert [int(t["id"]) for t in after["records"]] == [task_id]
        # a second attempt is refused and says why
        check_error(
            await client.call_tool(
                "complete_task", {"ids": [task_id], "outcome": "left voicemail"}
            ),
            "refused",
            "completed",
        )


async def test_delete_all_contacts_is_refused(server, headers, sbx, api):
    """ "Delete all contacts." → refused, nothing deleted."""
    before = ok(api.get("/objects/getInfo", params={"objectID": 0}))["count"]
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        for args in (
            {"object_type_id": 0},
            {"object_type": "Contacts", "condition": "id > 0"},
            {
                "object_type_id": 0,
                "condition": [{"field": {"field": "id"}, "op": ">", "value": {"value": 0}}],
            },
        ):
            result = await client.call_tool("delete_objects", args)
            check_error(result, "refused")
        assert writes(sbx) == []
    assert ok(api.get("/objects/getInfo", params={"objectID": 0}))["count"] == before
