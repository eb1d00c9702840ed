"""manage_subscriptions end to end: automations (Campaign) and sequences (Sequence)."""

from __future__ import annotations

import pytest

from tests.server_thread import connect
from tests.snapshots.catalog_facts import STUDENT
from tests.tools.tools_util import (
    check_error,
    check_output,
    clause,
    get_record,
    insert,
    make_contact,
    make_group,
    uniq,
    upstream,
    writes,
)

pytestmark = pytest.mark.anyio


def ids_in(value: str | None) -> set[str]:
    return {p for p in (value or "").split("*/*") if p}


async def test_enrol_and_remove_automation(mcp_server, creds, sandbox, api):
    a, b = make_contact(api), make_contact(api)
    automation = insert(sandbox, 140, name=uniq("auto"), object_type_id=0, pause="0", deleted="0")
    sandbox.clear_requests()
    async with connect(mcp_server.url, creds) as client:
        out = check_output(
            "manage_subscriptions",
            await client.call_tool(
                "manage_subscriptions",
                {
                    "action": "add",
                    "sub_type": "Campaign",
                    "subscription_ids": [automation],
                    "ids": [a, b],
                },
            ),
        )
        assert out == {
            **out,
            "object_type_id": 0,
            "action": "add",
            "sub_type": "Campaign",
            "ids": [a, b],
            "subscription_ids": [automation],
        }
        assert "steps" in out["message"]
        calls = upstream(sandbox)
        assert [(c["method"], c["path"]) for c in calls] == [
            ("GET", "/objects"),  # records exist
            ("GET", "/objects"),  # automation exists and runs on contacts
            ("PUT", "/objects/subscribe"),
        ]
        assert calls[1]["query"]["objectID"] == "140"
        assert calls[2]["body"] == {
            "objectID": 0,
            "add_list": [automation],
            "ids": [a, b],
            "sub_type": "Campaign",
        }
        assert str(automation) in ids_in(get_record(api, 0, a)["updateCampaign"])

        sandbox.clear_requests()
        out = check_output(
            "manage_subscriptions",
            await client.call_tool(
                "manage_subscriptions",
                {
                    "action": "remove",
                    "sub_type": "Campaign",
                    "subscription_ids": [automation],
                    "ids": [a],
                },
            ),
        )
        assert "not undo" in out["message"]
        (delete,) = writes(sandbox)
        assert (delete["method"], delete["path"]) == ("DELETE", "/objects/subscribe")
        assert delete["query"] == {
            "objectID": "0",
            "remove_list": str(automation),
            "ids": str(a),
            "sub_type": "Campaign",
        }
        assert str(automation) not in ids_in(get_record(api, 0, a)["updateCampaign"])
        assert str(automation) in ids_in(get_record(api, 0, b)["updateCampaign"])


async def test_sequence_by_group(mcp_server, creds, sandbox, api):
    city = uniq("Seq")
    members = [make_contact(api, city=city) for _ in range(2)]
    group = make_group(sandbox, uniq("g"), [clause("city", "=", city)])
    sequence = insert(sandbox, 5, name=uniq("seq"), object_type_id=0, type="0", pause="1")
    sandbox.clear_requests()
    async with connect(mcp_server.url, creds) as client:
        out = check_output(
            "manage_subscriptions",
            await client.call_tool(
                "manage_subscriptions",
                {
                    "action": "add",
                    "sub_type": "Sequence",
                    "subscription_ids": [sequence],
                    "group_id": group,
                },
            ),
        )
    assert sorted(out["ids"]) == members
    assert "paused" in out["message"]  # the sequence is paused: said so
    (put,) = writes(sandbox)
    assert put["path"] == "/objects/subscribe"
    assert put["body"]["sub_type"] == "Sequence" and put["body"]["add_list"] == [sequence]
    assert sorted(put["body"]["ids"]) == members and "group_id" not in put["body"]
    for m in members:
        assert str(sequence) in ids_in(get_record(api, 0, m)["updateSequence"])


async def test_refusals_and_bad_input(mcp_server, creds, sandbox, api):
    contact = make_contact(api)
    student_sequence = 4  # seeded: a sequence of Students (10000)
    async with connect(mcp_server.url, creds) as client:
        sandbox.clear_requests()
        check_error(
            await client.call_tool(
                "manage_subscriptions",
                {
                    "action": "add",
                    "sub_type": "Sequence",
                    "subscription_ids": [987654],
                    "ids": [contact],
                },
            ),
            "not_found",
            "sequence",
            "987654",
        )
        check_error(
            await client.call_tool(
                "manage_subscriptions",
                {
                    "action": "add",
                    "sub_type": "Campaign",
                    "subscription_ids": [1],
                    "ids": [55555555],
                },
            ),
            "not_found",
            "55555555",
        )
        check_error(
            await client.call_tool(
                "manage_subscriptions",
                {
                    "action": "add",
                    "sub_type": "Sequence",
                    "subscription_ids": [student_sequence],
                    "ids": [contact],
                },
            ),
            "invalid_arguments",
            f"object type {STUDENT}",
        )
        check_error(
            await client.call_tool(
                "manage_subscriptions",
                {"action": "add", "sub_type": "Campaign", "subscription_ids": [1]},
            ),
            "invalid_arguments",
            "ids",
        )
        check_error(
            await client.call_tool(
                "manage_subscriptions",
                {"action": "add", "sub_type": "Drip", "subscription_ids": [1], "ids": [contact]},
            ),
            "invalid_arguments",
            "sub_type",
        )
        check_error(
            await client.call_tool(
                "manage_subscriptions",
                {
                    "action": "add",
                    "sub_type": "Campaign",
                    "subscription_ids": "1",
                    "ids": [contact],
                },
            ),
            "invalid_arguments",
            "subscription_ids",
        )
        check_error(
            await client.call_tool(
                "manage_subscriptions",
                {
                    "action": "add",
                    "sub_type": "Campaign",
                    "subscription_ids": [1],
                    "ids": [1],
                    "object_type_id": 7,
                },
            ),
            "not_allowed",
        )
        assert writes(sandbox) == []
