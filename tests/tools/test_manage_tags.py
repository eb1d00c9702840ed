"""manage_tags end to end: ids, group and condition selections, tags by id and by name."""

from __future__ import annotations

import pytest

from tests.conftest import server_settings
from tests.server_thread import ServerThread, connect
from tests.snapshots.catalog_facts import STUDENT
from tests.tools.tools_util import (
    check_error,
    check_output,
    clause,
    get_record,
    make_contact,
    make_group,
    make_record,
    uniq,
    upstream,
    writes,
)

pytestmark = pytest.mark.anyio


def tags_of(api, contact_id: int) -> set[str]:
    raw = get_record(api, 0, contact_id).get("contact_cat") or ""
    return {p for p in raw.split("*/*") if p}


async def test_add_and_remove_by_id(mcp_server, creds, sandbox, api):
    a, b = make_contact(api), make_contact(api)
    tag = make_record(api, 14, tag_name=uniq("tag"))
    sandbox.clear_requests()
    async with connect(mcp_server.url, creds) as client:
        result = await client.call_tool(
            "manage_tags", {"action": "add", "ids": [a, b], "tag_ids": [tag]}
        )
        out = check_output("manage_tags", result)
        assert out["ids"] == [a, b] and out["tag_ids"] == [tag] and out["action"] == "add"
        assert "asynchronous" in out["message"]
        calls = upstream(sandbox)
        assert [(c["method"], c["path"]) for c in calls] == [
            ("GET", "/objects"),  # the records exist
            ("GET", "/objects"),  # the tag exists and is a contact tag
            ("PUT", "/objects/tag"),
        ]
        assert calls[0]["query"]["objectID"] == "0" and calls[0]["query"]["ids"] == f"{a},{b}"
        assert calls[1]["query"]["objectID"] == "14" and calls[1]["query"]["ids"] == str(tag)
        assert calls[2]["body"] == {"objectID": 0, "add_list": [tag], "ids": [a, b]}
        assert str(tag) in tags_of(api, a) and str(tag) in tags_of(api, b)

        sandbox.clear_requests()
        result = await client.call_tool(
            "manage_tags", {"action": "remove", "ids": [a], "tag_ids": [tag]}
        )
        out = check_output("manage_tags", result)
        assert out["action"] == "remove" and out["ids"] == [a]
        (delete,) = writes(sandbox)
        assert delete["method"] == "DELETE" and delete["path"] == "/objects/tag"
        assert delete["query"] == {"objectID": "0", "remove_list": str(tag), "ids": str(a)}
        assert str(tag) not in tags_of(api, a) and str(tag) in tags_of(api, b)


def tag_named(api, name: str) -> int:
    rows = api.get("/objects", params={"objectID": 14, "search": name}).json()["data"]
    (row,) = [r for r in rows if r["tag_name"] == name]
    return int(row.get("id") or row["tag_id"])


async def test_add_by_name_creates_missing_tags_and_reports_their_ids(
    mcp_server, creds, sandbox, api
):
    contact = make_contact(api)
    existing = uniq("known")
    known_id = make_record(api, 14, tag_name=existing)
    by_id = make_record(api, 14, tag_name=uniq("byid"))
    new = uniq("new")
    sandbox.clear_requests()
    async with connect(mcp_server.url, creds) as client:
        result = await client.call_tool(
            "manage_tags",
            {"action": "add", "ids": [contact], "tag_ids": [by_id], "tag_names": [existing, new]},
        )
    out = check_output("manage_tags", result)
    new_id = tag_named(api, new)
    assert out["created_tags"] == [new] and out["created_tag_ids"] == [new_id]
    assert out["tag_ids"] == [by_id, known_id, new_id]
    assert f"{new!r} (id {new_id})" in out["message"]
    create, put = writes(sandbox)
    assert (create["method"], create["path"]) == ("POST", "/objects")
    assert create["body"] == {"objectID": 14, "tag_name": new, "object_type_id": 0}
    # ids and names together: still one tagging request, by id
    assert (put["method"], put["path"]) == ("PUT", "/objects/tag")
    assert put["body"] == {"objectID": 0, "add_list": [by_id, known_id, new_id], "ids": [contact]}
    assert tags_of(api, contact) == {str(by_id), str(known_id), str(new_id)}


async def test_no_tag_created_reports_an_empty_list(mcp_server, creds, sandbox, api):
    contact = make_contact(api)
    name = uniq("old")
    tag = make_record(api, 14, tag_name=name)
    async with connect(mcp_server.url, creds) as client:
        out = check_output(
            "manage_tags",
            await client.call_tool(
                "manage_tags", {"action": "add", "ids": [contact], "tag_names": [name.upper()]}
            ),
        )
    assert out["created_tag_ids"] == [] and "created_tags" not in out
    assert out["tag_ids"] == [tag] and tags_of(api, contact) == {str(tag)}


async def test_remove_by_name_reports_unknown_names(mcp_server, creds, sandbox, api):
    contact = make_contact(api)
    name = uniq("rm")
    async with connect(mcp_server.url, creds) as client:
        check_output(
            "manage_tags",
            await client.call_tool(
                "manage_tags", {"action": "add", "ids": [contact], "tag_names": [name]}
            ),
        )
        assert tags_of(api, contact)
        sandbox.clear_requests()
        ghost = uniq("ghost")
        out = check_output(
            "manage_tags",
            await client.call_tool(
                "manage_tags", {"action": "remove", "ids": [contact], "tag_names": [name, ghost]}
            ),
        )
    assert out["unknown_tags"] == [ghost] and "ignored" in out["message"]
    assert out["created_tag_ids"] == []
    (delete,) = writes(sandbox)  # names resolved to ids: the one untagging request
    assert delete["method"] == "DELETE" and delete["path"] == "/objects/tag"
    assert delete["query"] == {
        "objectID": "0",
        "remove_list": str(tag_named(api, name)),
        "ids": str(contact),
    }
    assert not tags_of(api, contact)


async def test_remove_by_unknown_names_only_sends_nothing(mcp_server, creds, sandbox, api):
    contact = make_contact(api)
    sandbox.clear_requests()
    async with connect(mcp_server.url, creds) as client:
        out = check_output(
            "manage_tags",
            await client.call_tool(
                "manage_tags", {"action": "remove", "ids": [contact], "tag_names": [uniq("no")]}
            ),
        )
    assert out["tag_ids"] == [] and "Nothing was changed" in out["message"]
    assert writes(sandbox) == []


async def test_group_selection_is_resolved_to_ids(mcp_server, creds, sandbox, api):
    city = uniq("City")
    members = [make_contact(api, city=city) for _ in range(3)]
    group = make_group(sandbox, uniq("grp"), [clause("city", "=", city)])
    tag = make_record(api, 14, tag_name=uniq("g"))
    sandbox.clear_requests()
    async with connect(mcp_server.url, creds) as client:
        out = check_output(
            "manage_tags",
            await client.call_tool(
                "manage_tags", {"action": "add", "group_id": group, "tag_ids": [tag]}
            ),
        )
    assert sorted(out["ids"]) == members
    assert f"group {group} " in out["message"]
    calls = upstream(sandbox)
    assert ("GET", "/object") == (calls[0]["method"], calls[0]["path"])  # the group
    assert calls[0]["query"] == {"objectID": "3", "id": str(group)}
    info = [c for c in calls if c["path"] == "/objects/getInfo"]
    assert info and info[0]["query"]["group_id"] == str(group)
    (put,) = writes(sandbox)
    # the write names the resolved ids, never the group itself
    assert put["body"]["ids"] == out["ids"] and "group_id" not in put["body"]
    assert "performAll" not in put["body"]
    assert all(str(tag) in tags_of(api, m) for m in members)


async def test_condition_selection(mcp_server, creds, sandbox, api):
    city = uniq("Cond")
    members = [make_contact(api, city=city) for _ in range(2)]
    sandbox.clear_requests()
    async with connect(mcp_server.url, creds) as client:
        out = check_output(
            "manage_tags",
            await client.call_tool(
                "manage_tags",
                {"action": "add", "condition": f'city = "{city}"', "tag_names": [uniq("c")]},
            ),
        )
    assert sorted(out["ids"]) == members
    _create, put = writes(sandbox)
    assert sorted(put["body"]["ids"]) == members and "condition" not in put["body"]


async def test_empty_selection_changes_nothing(mcp_server, creds, sandbox, api):
    sandbox.clear_requests()
    async with connect(mcp_server.url, creds) as client:
        out = check_output(
            "manage_tags",
            await client.call_tool(
                "manage_tags",
                {"action": "add", "condition": f'city = "{uniq("nowhere")}"', "tag_names": ["x"]},
            ),
        )
    assert out["ids"] == [] and "nothing was changed" in out["message"]
    assert writes(sandbox) == []


async def test_large_selection_refused(fresh_sandbox, creds):
    """A group/condition selecting more than 500 records is refused before anything is sent
    (own sandbox and server: 501 contacts are added)."""
    store = fresh_sandbox.state.store
    with store.transaction():
        for i in range(501):
            store.insert(0, {"firstname": f"Bulk{i}", "lastname": "Load", "city": "Bulkville"})
    with ServerThread(server_settings(fresh_sandbox.base_url)) as server:
        fresh_sandbox.clear_requests()
        async with connect(server.url, creds) as client:
            result = await client.call_tool(
                "manage_tags",
                {"action": "add", "condition": "city = Bulkville", "tag_names": ["x"]},
            )
            err = check_error(result, "refused", "at most 500", "501")
            assert err["details"] == {"count": 501, "limit": 500}
            # a condition matching every record is bounded the same way
            result = await client.call_tool(
                "manage_tags", {"action": "remove", "condition": "id > 0", "tag_ids": [1]}
            )
            check_error(result, "refused", "at most 500")
        assert writes(fresh_sandbox) == []
        info = [r for r in upstream(fresh_sandbox) if r["path"] == "/objects/getInfo"]
        assert info and all("condition" in r["query"] for r in info)


async def test_refusals_and_bad_input(mcp_server, creds, sandbox, api):
    contact = make_contact(api)
    honor_roll = 9  # seeded tag of Students (10000)
    async with connect(mcp_server.url, creds) as client:
        sandbox.clear_requests()
        # no selection at all
        check_error(
            await client.call_tool("manage_tags", {"action": "add", "tag_names": ["x"]}),
            "invalid_arguments",
            "ids",
        )
        # no tags
        check_error(
            await client.call_tool("manage_tags", {"action": "add", "ids": [contact]}),
            "invalid_arguments",
            "tag_ids",
        )
        # unknown record id
        err = check_error(
            await client.call_tool(
                "manage_tags", {"action": "add", "ids": [contact, 99999999], "tag_names": ["x"]}
            ),
            "not_found",
            "99999999",
        )
        assert err["details"]["missing_ids"] == [99999999]
        # unknown tag id
        check_error(
            await client.call_tool(
                "manage_tags", {"action": "add", "ids": [contact], "tag_ids": [88888888]}
            ),
            "not_found",
            "88888888",
        )
        # a tag of another object type
        check_error(
            await client.call_tool(
                "manage_tags", {"action": "add", "ids": [contact], "tag_ids": [honor_roll]}
            ),
            "invalid_arguments",
            f"object type {STUDENT}",
        )
        # ids together with a condition
        check_error(
            await client.call_tool(
                "manage_tags",
                {"action": "add", "ids": [contact], "condition": "id > 0", "tag_names": ["x"]},
            ),
            "invalid_arguments",
        )
        # unknown field in the condition
        check_error(
            await client.call_tool(
                "manage_tags",
                {"action": "add", "condition": "no_such_field = 1", "tag_names": ["x"]},
            ),
            "invalid_arguments",
        )
        # unknown group
        check_error(
            await client.call_tool(
                "manage_tags", {"action": "add", "group_id": 777777, "tag_names": ["x"]}
            ),
            "not_found",
            "get_groups",
        )
        # a group of deals with contacts asked for
        check_error(
            await client.call_tool(
                "manage_tags",
                {"action": "add", "group_id": 5, "object_type_id": 0, "tag_names": ["x"]},
            ),
            "invalid_arguments",
            "object type 149",
        )
        # a type that cannot carry tags / is not exposed
        check_error(
            await client.call_tool(
                "manage_tags",
                {"action": "add", "object_type_id": 46, "ids": [1], "tag_names": ["x"]},
            ),
            "not_allowed",
        )
        # wrong argument types and unknown arguments
        check_error(
            await client.call_tool("manage_tags", {"action": "tag", "ids": [contact]}),
            "invalid_arguments",
            "action",
        )
        check_error(
            await client.call_tool(
                "manage_tags", {"action": "add", "ids": ["one"], "tag_names": ["x"]}
            ),
            "invalid_arguments",
        )
        check_error(
            await client.call_tool(
                "manage_tags", {"action": "add", "ids": [contact], "tag_names": ["x"], "colour": 1}
            ),
            "invalid_arguments",
            "colour",
        )
        assert writes(sandbox) == []
