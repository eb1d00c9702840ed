"""manage_relationships end to end: link/unlink through parent (lookup) fields."""

from __future__ import annotations

import pytest

from tests.server_thread import connect
from tests.snapshots.catalog_facts import CUSTOM_TYPES
from tests.tools.tools_util import (
    check_error,
    check_output,
    get_record,
    make_contact,
    make_record,
    uniq,
    upstream,
    writes,
)

pytestmark = pytest.mark.anyio
VEHICLE = CUSTOM_TYPES["Vehicle"]


async def test_link_and_unlink_deal_to_company(mcp_server, creds, sandbox, api):
    company = make_record(api, 150, name=uniq("Co"))
    deal = make_record(api, 149, name=uniq("Deal"))
    sandbox.clear_requests()
    async with connect(mcp_server.url, creds) as client:
        out = check_output(
            "manage_relationships",
            await client.call_tool(
                "manage_relationships",
                {
                    "object_type": "Deals",
                    "id": deal,
                    "action": "link",
                    "related_object_type_id": 150,
                    "related_id": company,
                },
            ),
        )
        assert out == {
            **out,
            "object_type_id": 149,
            "id": deal,
            "field": "company",
            "related_object_type_id": 150,
            "related_id": company,
            "action": "link",
        }
        assert f"Company {company}" in out["message"]
        calls = upstream(sandbox)
        assert [(c["method"], c["path"], c["query"]) for c in calls[:2]] == [
            ("GET", "/object", {"objectID": "149", "id": str(deal)}),
            ("GET", "/object", {"objectID": "150", "id": str(company)}),
        ]
        assert (calls[2]["method"], calls[2]["path"]) == ("PUT", "/objects")
        assert calls[2]["body"] == {"objectID": 149, "id": deal, "company": company}
        assert len(calls) == 3
        assert get_record(api, 149, deal)["company"] == str(company)

        sandbox.clear_requests()
        out = check_output(
            "manage_relationships",
            await client.call_tool(
                "manage_relationships",
                {
                    "object_type_id": 149,
                    "id": deal,
                    "action": "unlink",
                    "related_object_type_id": 150,
                },
            ),
        )
        assert out["related_id"] == 0 and out["previous_related_id"] == company
        (put,) = writes(sandbox)
        assert put["body"] == {"objectID": 149, "id": deal, "company": 0}
        assert get_record(api, 149, deal)["company"] in ("0", None, "")


async def test_field_by_label_and_ambiguity(mcp_server, creds, sandbox, api):
    contact = make_contact(api)
    vehicle = make_record(api, VEHICLE, f1640=uniq("VIN"))
    async with connect(mcp_server.url, creds) as client:
        sandbox.clear_requests()
        out = check_output(
            "manage_relationships",
            await client.call_tool(
                "manage_relationships",
                {
                    "id": contact,
                    "action": "link",
                    "related_object_type_id": VEHICLE,
                    "related_id": vehicle,
                    "field": "primary vehicle",
                },
            ),
        )
        assert out["field"] == "f1612" and out["object_type_id"] == 0
        (put,) = writes(sandbox)
        assert put["body"] == {"objectID": 0, "id": contact, "f1612": vehicle}
        # contacts have two fields pointing at partners (36): the caller must pick one
        err = check_error(
            await client.call_tool(
                "manage_relationships",
                {"id": contact, "action": "link", "related_object_type_id": 36, "related_id": 1},
            ),
            "invalid_arguments",
            "freferrer",
            "lreferrer",
        )
        assert sorted(err["details"]["choices"]) == ["freferrer", "lreferrer"]


async def test_refusals_and_bad_input(mcp_server, creds, sandbox, api):
    contact = make_contact(api)
    company = make_record(api, 150, name=uniq("Co"))
    deal = make_record(api, 149, name=uniq("Deal"), company=company)
    other = make_record(api, 150, name=uniq("Other"))
    async with connect(mcp_server.url, creds) as client:
        sandbox.clear_requests()
        cases = [
            # contacts have no field pointing at companies in this account
            (
                {
                    "id": contact,
                    "action": "link",
                    "related_object_type_id": 150,
                    "related_id": company,
                },
                "invalid_arguments",
                ["no relationship field"],
            ),
            # a field that is not a relationship
            (
                {
                    "id": contact,
                    "action": "link",
                    "related_object_type_id": 150,
                    "related_id": company,
                    "field": "firstname",
                },
                "invalid_arguments",
                ["not a relationship field"],
            ),
            # a relationship field pointing elsewhere
            (
                {
                    "id": contact,
                    "action": "link",
                    "related_object_type_id": 150,
                    "related_id": company,
                    "field": "f1612",
                },
                "invalid_arguments",
                [str(VEHICLE)],
            ),
            # an unknown field
            (
                {
                    "id": contact,
                    "action": "link",
                    "related_object_type_id": VEHICLE,
                    "related_id": 1,
                    "field": "f9999",
                },
                "invalid_arguments",
                ["no field"],
            ),
            # link without related_id
            (
                {
                    "object_type_id": 149,
                    "id": deal,
                    "action": "link",
                    "related_object_type_id": 150,
                },
                "invalid_arguments",
                ["related_id"],
            ),
            # unknown related record
            (
                {
                    "object_type_id": 149,
                    "id": deal,
                    "action": "link",
                    "related_object_type_id": 150,
                    "related_id": 7777777,
                },
                "not_found",
                ["7777777"],
            ),
            # unknown record
            (
                {
                    "object_type_id": 149,
                    "id": 7777777,
                    "action": "link",
                    "related_object_type_id": 150,
                    "related_id": company,
                },
                "not_found",
                [],
            ),
            # unlinking a record that points somewhere else
            (
                {
                    "object_type_id": 149,
                    "id": deal,
                    "action": "unlink",
                    "related_object_type_id": 150,
                    "related_id": other,
                },
                "refused",
                [str(company)],
            ),
            # unknown related type
            (
                {"id": contact, "action": "link", "related_object_type_id": 4242, "related_id": 1},
                "invalid_arguments",
                ["4242"],
            ),
            # a type the policy does not let tools change
            (
                {
                    "object_type_id": 46,
                    "id": 1,
                    "action": "link",
                    "related_object_type_id": 0,
                    "related_id": 1,
                },
                "not_allowed",
                [],
            ),
            # bad types / unknown arguments
            (
                {"id": "one", "action": "link", "related_object_type_id": 150},
                "invalid_arguments",
                [],
            ),
            (
                {"id": contact, "action": "attach", "related_object_type_id": 150},
                "invalid_arguments",
                [],
            ),
            (
                {"id": contact, "action": "link", "related_object_type_id": 150, "extra": 1},
                "invalid_arguments",
                ["extra"],
            ),
        ]
        for args, code, needles in cases:
            check_error(await client.call_tool("manage_relationships", args), code, *needles)
        assert writes(sandbox) == []
    assert get_record(api, 149, deal)["company"] == str(company)
