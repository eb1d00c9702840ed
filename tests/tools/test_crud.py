"""The generic CRUD tools end to end: saveorupdate_object, create_object, get_objects,
update_object, delete_object and delete_objects, the access policy, custom objects through the
generic tools and the per-custom-object tools (get_/search_/create_/update_student).

Each success is checked against the sandbox's request log (the exact REST calls) and the
sandbox's state; each refusal or bad input must end in a structured error with nothing written.
A private sandbox and server for this module: these tests write and delete records."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from ontraport_mcp.runtime.executor import error_payload
from ontraport_mcp.sandbox.config import SandboxConfig
from ontraport_mcp.sandbox.testing import SandboxServer
from tests.conftest import server_settings
from tests.sandbox_plugin import TEST_RATE_LIMIT
from tests.server_thread import ServerThread, connect
from tests.snapshots.catalog_facts import STUDENT
from tests.tools.tools_util import (
    check_error,
    check_output,
    clause,
    get_record,
    insert,
    make_contact,
    ok,
    uniq,
    upstream,
    writes,
)

pytestmark = pytest.mark.anyio

STUDENTS = STUDENT  # seeded custom object "Student" (tools get_/search_/create_/update_student)


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


def calls(sbx: SandboxServer) -> list[tuple[str, str]]:
    return [(r["method"], r["path"]) for r in upstream(sbx)]


def cond_text(*clauses: Any) -> str:
    """A condition as the server serialises it in a query string (compact JSON)."""
    return json.dumps(list(clauses), separators=(",", ":"))


def exists(api: httpx.Client, type_id: int, record_id: int) -> bool:
    response = api.get("/object", params={"objectID": type_id, "id": record_id})
    assert response.status_code in (200, 404), response.text
    return response.status_code == 200


def count_of(api: httpx.Client, type_id: int, **params: Any) -> int:
    return int(ok(api.get("/objects/getInfo", params={"objectID": type_id, **params}))["count"])


def epoch(text: str) -> int:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


# ------------------------------------------------------------------------ saveorupdate_object
async def test_saveorupdate_creates_then_updates_in_place(server, headers, sbx, api):
    email = f"{uniq('sou')}@example.com"
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        first = check_output(
            "saveorupdate_object",
            await client.call_tool(
                "saveorupdate_object",
                {"data": {"firstname": "Nia", "lastname": "Okafor", "email": email, "f1551": True}},
            ),
        )
        assert first["created"] is True and first["object_type_id"] == 0 and first["id"] > 0
        assert upstream(sbx) == [
            {
                "method": "POST",
                "path": "/objects/saveorupdate",
                "query": {},
                # booleans go out as the API's "1"/"0"
                "body": {
                    "objectID": 0,
                    "firstname": "Nia",
                    "lastname": "Okafor",
                    "email": email,
                    "f1551": "1",
                },
                "status": 200,
            }
        ]
        assert first["record"]["email"] == email

        # the same email again: an update of that record, blanks ignored on request
        sbx.clear_requests()
        second = check_output(
            "saveorupdate_object",
            await client.call_tool(
                "saveorupdate_object",
                {
                    "object_type": "Contacts",
                    "data": {"email": email, "title": "CTO", "lastname": ""},
                    "ignore_blanks": True,
                },
            ),
        )
        assert second["created"] is False and second["id"] == first["id"]
        assert second["record"]["title"] == "CTO"
        (post,) = upstream(sbx)
        assert (post["method"], post["path"]) == ("POST", "/objects/saveorupdate")
        assert post["body"] == {
            "objectID": 0,
            "email": email,
            "title": "CTO",
            "lastname": "",
            "ignore_blanks": True,
        }
    stored = get_record(api, 0, first["id"])
    assert (stored["title"], stored["lastname"], stored["f1551"]) == ("CTO", "Okafor", "1")
    matches = ok(api.get("/object/getByEmail", params={"objectID": 0, "email": email, "all": 1}))
    assert matches["ids"] == [str(first["id"])]


async def test_saveorupdate_refusals_and_bad_input(server, headers, sbx, api):
    before = count_of(api, 0)
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        # the id belongs in the arguments, never in data
        check_error(
            await client.call_tool("saveorupdate_object", {"data": {"id": 1, "firstname": "X"}}),
            "invalid_arguments",
            "id",
        )
        # an unknown field is refused with the closest real fields, not silently dropped
        err = check_error(
            await client.call_tool(
                "saveorupdate_object",
                {"data": {"email": "ada.quill@example.com", "fristname": "Ada"}},
            ),
            "invalid_arguments",
            "fristname",
        )
        assert err["details"]["unknown"] == ["fristname"]
        assert "firstname" in err["details"]["choices"]
        # empty data, wrong types, unknown arguments
        check_error(
            await client.call_tool("saveorupdate_object", {"data": {}}),
            "invalid_arguments",
            "data",
        )
        check_error(
            await client.call_tool("saveorupdate_object", {"data": "firstname=X"}),
            "invalid_arguments",
            "data",
        )
        check_error(
            await client.call_tool(
                "saveorupdate_object", {"object_type_id": "zero", "data": {"firstname": "X"}}
            ),
            "invalid_arguments",
            "object_type_id",
        )
        check_error(
            await client.call_tool(
                "saveorupdate_object", {"data": {"firstname": "X"}, "upsert": True}
            ),
            "invalid_arguments",
            "upsert",
        )
        # an unknown type and a type the policy does not let the generic tools create
        check_error(
            await client.call_tool(
                "saveorupdate_object", {"object_type": "Widgets", "data": {"name": "X"}}
            ),
            "invalid_arguments",
            "Widgets",
        )
        err = check_error(
            await client.call_tool(
                "saveorupdate_object", {"object_type_id": 46, "data": {"total": 1}}
            ),
            "not_allowed",
            "create_invoice",
        )
        assert err["details"]["method"] == "create"
        assert writes(sbx) == []
    assert count_of(api, 0) == before


# ------------------------------------------------------------------------------ create_object
async def test_create_object_contact_note_and_company(server, headers, sbx, api):
    name = uniq("Create")
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        contact = check_output(
            "create_object",
            await client.call_tool(
                "create_object",
                {"object_type_id": 0, "data": {"firstname": name, "f1549": "313"}},
            ),
        )
        assert upstream(sbx) == [
            {
                "method": "POST",
                "path": "/objects",
                "query": {},
                "body": {"objectID": 0, "firstname": name, "f1549": "313"},
                "status": 200,
            }
        ]
        cid = contact["id"]
        assert contact["record"]["firstname"] == name and int(contact["record"]["id"]) == cid
        assert get_record(api, 0, cid)["f1549"] == "313"

        # a note on that contact (type 12), and a company by type name
        sbx.clear_requests()
        note = check_output(
            "create_object",
            await client.call_tool(
                "create_object",
                {"object_type_id": 12, "data": {"contact_id": cid, "data": "Called, no answer."}},
            ),
        )
        company = check_output(
            "create_object",
            await client.call_tool(
                "create_object",
                {"object_type": "Companies", "data": {"name": f"{name} Corp", "city": "Denver"}},
            ),
        )
        posts = upstream(sbx)
        assert [(p["method"], p["path"]) for p in posts] == [("POST", "/objects")] * 2
        assert posts[0]["body"] == {"objectID": 12, "contact_id": cid, "data": "Called, no answer."}
        assert posts[1]["body"] == {"objectID": 150, "name": f"{name} Corp", "city": "Denver"}
        assert note["object_type_id"] == 12 and company["object_type_id"] == 150
    assert get_record(api, 12, note["id"])["contact_id"] == str(cid)
    assert get_record(api, 150, company["id"])["name"] == f"{name} Corp"


async def test_create_object_refusals_and_bad_input(server, headers, sbx, api):
    before = count_of(api, 0)
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        err = check_error(
            await client.call_tool(
                "create_object", {"data": {"firstname": "Zed", "nickname": "Z"}}
            ),
            "invalid_arguments",
            "nickname",
        )
        assert err["details"]["field"] == "data" and err["details"]["unknown"] == ["nickname"]
        check_error(
            await client.call_tool("create_object", {"data": {"objectID": 12, "firstname": "Z"}}),
            "invalid_arguments",
            "objectID",
        )
        check_error(await client.call_tool("create_object", {}), "invalid_arguments", "data")
        check_error(
            await client.call_tool("create_object", {"object_type_id": -1, "data": {"a": 1}}),
            "invalid_arguments",
            "object_type_id",
        )
        check_error(
            await client.call_tool("create_object", {"object_type_id": 99, "data": {"a": 1}}),
            "invalid_arguments",
            "99",
        )
        # id and name of two different types: refused, never written to either
        err = check_error(
            await client.call_tool(
                "create_object",
                {"object_type_id": 0, "object_type": "Deals", "data": {"name": "Big deal"}},
            ),
            "invalid_arguments",
            "Contact",
            "Deal",
        )
        assert err["details"] == {"field": "object_type"}
        assert writes(sbx) == []
        # a value the API rejects is a structured 4xx error, not a server error
        sbx.clear_requests()
        err = check_error(
            await client.call_tool("create_object", {"data": {"email": "not-an-email"}}),
            "unprocessable",
            "email",
        )
        assert err["http_status"] == 422
        assert [r["status"] for r in upstream(sbx)] == [422]
    assert count_of(api, 0) == before


# -------------------------------------------------------------------------------- get_objects
async def test_get_objects_single_id(server, headers, sbx):
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        out = check_output("get_objects", await client.call_tool("get_objects", {"id": 1}))
        (record,) = out["records"]
        assert record["email"] == "ada.quill@example.com" and record["firstname"] == "Ada"
        assert (out["count"], out["has_more"], out["total"]) == (1, False, 1)
        assert upstream(sbx) == [
            {
                "method": "GET",
                "path": "/object",
                "query": {"objectID": "0", "id": "1"},
                "body": None,
                "status": 200,
            }
        ]
        # a projection of the single record
        out = check_output(
            "get_objects",
            await client.call_tool(
                "get_objects", {"object_type": "Contact", "id": 1, "fields": ["email", "state"]}
            ),
        )
        assert out["records"] == [{"id": "1", "email": "ada.quill@example.com", "state": "CA"}]
        # an unknown id
        sbx.clear_requests()
        check_error(
            await client.call_tool("get_objects", {"id": 99999999}), "not_found", "99999999"
        )
        assert calls(sbx) == [("GET", "/object")]


async def test_get_objects_by_ids(server, headers, sbx):
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        out = check_output(
            "get_objects",
            await client.call_tool(
                "get_objects", {"object_type_id": 0, "ids": [1, 2, 3], "fields": ["email"]}
            ),
        )
        assert out["records"] == [
            {"id": "1", "email": "ada.quill@example.com"},
            {"id": "2", "email": "ben.ortiz@example.com"},
            {"id": "3", "email": "carla.diaz@example.com"},
        ]
        assert (out["count"], out["start"], out["has_more"]) == (3, 0, False)
        assert upstream(sbx) == [
            {
                "method": "GET",
                "path": "/objects",
                "query": {
                    "objectID": "0",
                    "ids": "1,2,3",
                    "start": "0",
                    "range": "50",
                    "listFields": "id,email",
                },
                "body": None,
                "status": 200,
            }
        ]
        # ids that do not exist are simply not returned
        out = check_output(
            "get_objects",
            await client.call_tool("get_objects", {"ids": [4, 99999999], "fields": ["email"]}),
        )
        assert out["records"] == [{"id": "4", "email": "shared@example.com"}]


async def test_get_objects_condition_text_json_and_json_text(server, headers, sbx, api):
    expected_condition = [
        clause("state", "=", "CA"),
        "AND",
        clause("city", "=", "San Diego"),
    ]
    wire = cond_text(*expected_condition)
    expected = ok(
        api.get("/objects", params={"objectID": 0, "condition": wire, "listFields": "id"})
    )
    assert expected
    async with connect(server.url, headers) as client:
        for condition in (
            'state = CA and city = "San Diego"',
            expected_condition,
            json.dumps(expected_condition),
        ):
            sbx.clear_requests()
            out = check_output(
                "get_objects",
                await client.call_tool(
                    "get_objects",
                    {"condition": condition, "fields": ["city", "state"], "range": 50},
                ),
            )
            assert [r["id"] for r in out["records"]] == [r["id"] for r in expected]
            assert all((r["state"], r["city"]) == ("CA", "San Diego") for r in out["records"])
            (request,) = upstream(sbx)
            assert request["path"] == "/objects"
            assert request["query"] == {
                "objectID": "0",
                "start": "0",
                "range": "50",
                "condition": wire,
                "listFields": "id,city,state",
            }


async def test_get_objects_search_group_and_sort(server, headers, sbx, api):
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        out = check_output(
            "get_objects",
            await client.call_tool("get_objects", {"search": "ada.quill", "fields": ["email"]}),
        )
        assert out["records"] == [{"id": "1", "email": "ada.quill@example.com"}]
        assert upstream(sbx)[0]["query"] == {
            "objectID": "0",
            "start": "0",
            "range": "50",
            "search": "ada.quill",
            "listFields": "id,email",
        }

        # the members of saved group 1 (California contacts)
        in_ca = count_of(api, 0, condition=cond_text(clause("state", "=", "CA")))
        sbx.clear_requests()
        out = check_output(
            "get_objects",
            await client.call_tool(
                "get_objects", {"group_id": 1, "fields": ["state"], "include_total": True}
            ),
        )
        assert out["records"] and all(r["state"] == "CA" for r in out["records"])
        assert out["total"] == in_ca
        assert [(r["path"], r["query"].get("group_id")) for r in upstream(sbx)] == [
            ("/objects", "1"),
            ("/objects/getInfo", "1"),
        ]

        # sorted by last name, Z to A
        sbx.clear_requests()
        out = check_output(
            "get_objects",
            await client.call_tool(
                "get_objects",
                {"sort": "lastname", "sort_dir": "desc", "range": 10, "fields": ["lastname"]},
            ),
        )
        names = [r["lastname"] for r in out["records"]]
        assert len(names) == 10 and names == sorted(names, reverse=True)
        (request,) = upstream(sbx)
        assert (request["query"]["sort"], request["query"]["sortDir"]) == ("lastname", "desc")


async def test_get_objects_paging_has_more_and_total(server, headers, sbx, api):
    condition = cond_text(clause("state", "=", "CA"))
    total = count_of(api, 0, condition=condition)
    assert total > 6
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        first = check_output(
            "get_objects",
            await client.call_tool(
                "get_objects",
                {"condition": "state = CA", "range": 3, "include_total": True, "fields": ["id"]},
            ),
        )
        assert (first["count"], first["start"], first["has_more"], first["total"]) == (
            3,
            0,
            True,
            total,
        )
        assert "start=3" in first["note"]
        assert upstream(sbx) == [
            {
                "method": "GET",
                "path": "/objects",
                "query": {
                    "objectID": "0",
                    "start": "0",
                    "range": "3",
                    "condition": condition,
                    "listFields": "id",
                },
                "body": None,
                "status": 200,
            },
            {
                "method": "GET",
                "path": "/objects/getInfo",
                "query": {"objectID": "0", "condition": condition},
                "body": None,
                "status": 200,
            },
        ]
        # the last page: has_more turns false exactly at the end
        last = check_output(
            "get_objects",
            await client.call_tool(
                "get_objects",
                {
                    "condition": "state = CA",
                    "start": total - 2,
                    "range": 3,
                    "include_total": True,
                    "fields": ["id"],
                },
            ),
        )
        assert (last["count"], last["start"], last["has_more"], last["total"]) == (
            2,
            total - 2,
            False,
            total,
        )
        assert "note" not in last
        # pages do not overlap and cover every match
        seen: list[str] = []
        for start in range(0, total, 25):
            page = check_output(
                "get_objects",
                await client.call_tool(
                    "get_objects",
                    {"condition": "state = CA", "start": start, "range": 25, "fields": ["id"]},
                ),
            )
            seen += [r["id"] for r in page["records"]]
        assert len(seen) == len(set(seen)) == total


async def test_get_objects_bad_input(server, headers, sbx):
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        # unknown field in a readable condition: the closest fields are offered
        err = check_error(
            await client.call_tool("get_objects", {"condition": "stat = CA"}),
            "invalid_arguments",
            "stat",
        )
        assert "state" in err["details"]["choices"] and err["details"]["field"] == "condition"
        # ... and in condition JSON
        check_error(
            await client.call_tool(
                "get_objects", {"condition": [clause("no_such_field", "=", "x")]}
            ),
            "invalid_arguments",
            "no_such_field",
        )
        check_error(
            await client.call_tool("get_objects", {"condition": "{not json"}),
            "invalid_arguments",
            "JSON",
        )
        assert upstream(sbx) == []  # conditions are checked before anything is sent
        # an unknown field in the projection is refused instead of returning bare ids
        err = check_error(
            await client.call_tool("get_objects", {"fields": ["emial"], "range": 2}),
            "invalid_arguments",
            "emial",
        )
        assert err["details"]["unknown"] == ["emial"] and "email" in err["details"]["choices"]
        # fields the records carry beyond the meta (a group's condition) are fine to project
        groups = check_output(
            "get_objects",
            await client.call_tool(
                "get_objects",
                {"object_type": "Groups", "ids": [1], "fields": ["name", "condition"]},
            ),
        )
        assert groups["records"] == [
            {
                "id": "1",
                "name": "California contacts",
                "condition": json.dumps([clause("state", "=", "CA")]),
            }
        ]
        # sorting by an unknown field: the API's refusal, as a structured 4xx
        err = check_error(
            await client.call_tool("get_objects", {"sort": "no_such_field"}),
            "bad_request",
            "no_such_field",
        )
        assert err["http_status"] == 400
        # unknown group
        check_error(await client.call_tool("get_objects", {"group_id": 777777}), "not_found")
        # wrong types, out-of-range values, unknown arguments
        for args, needle in (
            ({"id": "one"}, "id"),
            ({"ids": [1, "two"]}, "ids"),
            ({"ids": []}, "ids"),
            ({"range": 51}, "range"),
            ({"start": -1}, "start"),
            ({"sort_dir": "up"}, "sort_dir"),
            ({"fields": "email"}, "fields"),
            ({"include_total": "yes"}, "include_total"),
            ({"limit": 5}, "limit"),
        ):
            check_error(await client.call_tool("get_objects", args), "invalid_arguments", needle)
        # types: unknown id, unknown name, and a type the generic tools do not expose (users)
        check_error(
            await client.call_tool("get_objects", {"object_type_id": 99}),
            "invalid_arguments",
            "list_allowed_object_types",
        )
        check_error(
            await client.call_tool("get_objects", {"object_type": "Widgets"}),
            "invalid_arguments",
            "Widgets",
        )
        check_error(
            await client.call_tool("get_objects", {"object_type_id": 65}),  # offers
            "not_allowed",
            "list_allowed_object_types",
        )
        assert writes(sbx) == []


# ------------------------------------------------------------------------------ update_object
async def test_update_object_by_id_unique_id_and_email(server, headers, sbx, api):
    email = f"{uniq('upd')}@example.com"
    cid = make_contact(api, email=email)
    unique_id = get_record(api, 0, cid)["unique_id"]
    async with connect(server.url, headers) as client:
        # by id
        sbx.clear_requests()
        out = check_output(
            "update_object",
            await client.call_tool(
                "update_object", {"object_type_id": 0, "id": cid, "data": {"title": "Director"}}
            ),
        )
        assert out["id"] == cid and out["changed"]["title"] == "Director"
        assert upstream(sbx) == [
            {
                "method": "PUT",
                "path": "/objects",
                "query": {},
                "body": {"objectID": 0, "id": cid, "title": "Director"},
                "status": 200,
            }
        ]
        # by unique_id
        sbx.clear_requests()
        out = check_output(
            "update_object",
            await client.call_tool(
                "update_object", {"unique_id": unique_id, "data": {"company": "Acme"}}
            ),
        )
        assert out["id"] == cid and out["changed"]["company"] == "Acme"
        (put,) = upstream(sbx)
        assert (put["method"], put["path"]) == ("PUT", "/objects")
        assert put["body"] == {"objectID": 0, "unique_id": unique_id, "company": "Acme"}
        # by email: resolved to the one matching id first
        sbx.clear_requests()
        out = check_output(
            "update_object",
            await client.call_tool(
                "update_object", {"email": email, "data": {"office_phone": "555-1234"}}
            ),
        )
        assert out["id"] == cid and out["changed"]["office_phone"] == "555-1234"
        lookup, put = upstream(sbx)
        assert (lookup["method"], lookup["path"]) == ("GET", "/object/getByEmail")
        assert lookup["query"] == {"objectID": "0", "email": email, "all": "1"}
        assert (put["method"], put["path"]) == ("PUT", "/objects")
        assert put["body"] == {"objectID": 0, "id": cid, "office_phone": "555-1234"}
    stored = get_record(api, 0, cid)
    assert (stored["title"], stored["company"], stored["office_phone"]) == (
        "Director",
        "Acme",
        "555-1234",
    )


async def test_update_object_refusals_and_bad_input(server, headers, sbx, api):
    shared = [get_record(api, 0, 4), get_record(api, 0, 5)]
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        # two contacts share this email: refused, both ids named, nothing written
        err = check_error(
            await client.call_tool(
                "update_object", {"email": "shared@example.com", "data": {"title": "X"}}
            ),
            "refused",
            "2 records",
            "shared@example.com",
        )
        assert err["details"]["ids"] == [4, 5]
        assert calls(sbx) == [("GET", "/object/getByEmail")]
        # no record with that email
        sbx.clear_requests()
        check_error(
            await client.call_tool(
                "update_object", {"email": "nobody@example.com", "data": {"title": "X"}}
            ),
            "not_found",
            "nobody@example.com",
        )
        assert calls(sbx) == [("GET", "/object/getByEmail")]
        # unknown id / unique_id: the API's 404, as not_found
        for selector in ({"id": 99999999}, {"unique_id": "NO-SUCH-UID"}):
            sbx.clear_requests()
            check_error(
                await client.call_tool("update_object", {**selector, "data": {"title": "X"}}),
                "not_found",
            )
            assert [r["status"] for r in upstream(sbx)] == [404]
        sbx.clear_requests()
        # exactly one selector
        for args in (
            {"data": {"title": "X"}},
            {"id": 1, "email": "ada.quill@example.com", "data": {"title": "X"}},
            {"id": 1, "unique_id": "ABC", "data": {"title": "X"}},
        ):
            check_error(
                await client.call_tool("update_object", args), "invalid_arguments", "exactly one"
            )
        # unknown field, empty data, bad email, wrong types
        err = check_error(
            await client.call_tool("update_object", {"id": 1, "data": {"titel": "X"}}),
            "invalid_arguments",
            "titel",
        )
        assert "title" in err["details"]["choices"]
        for args, needle in (
            ({"id": 1, "data": {}}, "data"),
            ({"id": 1}, "data"),
            ({"id": "1x", "data": {"title": "X"}}, "id"),
            ({"id": 0, "data": {"title": "X"}}, "id"),
        ):
            check_error(await client.call_tool("update_object", args), "invalid_arguments", needle)
        # a malformed email is not looked up into a write (the schema's format is advisory:
        # the API's refusal comes back as a structured 4xx)
        check_error(
            await client.call_tool(
                "update_object", {"email": "not-an-email", "data": {"title": "X"}}
            ),
            "not_found",
            "not-an-email",
        )
        # not for purchases (type 17): the specialised tool is named
        err = check_error(
            await client.call_tool(
                "update_object", {"object_type_id": 17, "id": 1, "data": {"quantity": 2}}
            ),
            "not_allowed",
            "get_purchases",
        )
        assert err["details"] == {
            "object_type_id": 17,
            "method": "update",
            "use_instead": ["get_purchases"],
        }
        # a type without an email field cannot be picked by email (the API says so, as a 4xx)
        check_error(
            await client.call_tool(
                "update_object",
                {"object_type_id": 149, "email": "ada.quill@example.com", "data": {"name": "X"}},
            ),
            "bad_request",
            "email",
        )
        assert writes(sbx) == []
    assert [get_record(api, 0, 4), get_record(api, 0, 5)] == shared


# ------------------------------------------------------------------------------ delete_object
async def test_delete_object_confirmation_then_token(server, headers, sbx, api):
    cid = make_contact(api, firstname="Doomed", lastname="Record")
    other = make_contact(api, firstname="Keep", lastname="Me")
    args = {"object_type_id": 0, "id": cid}
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        ask = check_output("delete_object", await client.call_tool("delete_object", args))
        assert ask["status"] == "confirmation_required"
        assert ask["summary"] == (
            f"Permanently delete Contact #{cid} (Doomed Record). This cannot be undone."
        )
        assert ask["confirmation_token"] and ask["expires_in_s"] > 0
        assert upstream(sbx) == [
            {
                "method": "GET",
                "path": "/object",
                "query": {"objectID": "0", "id": str(cid)},
                "body": None,
                "status": 200,
            }
        ]
        assert exists(api, 0, cid)  # nothing happened yet

        # the token belongs to these arguments: another record cannot use it
        sbx.clear_requests()
        check_error(
            await client.call_tool(
                "delete_object",
                {"object_type_id": 0, "id": other, "confirmation_token": ask["confirmation_token"]},
            ),
            "confirmation_invalid",
            "different",
        )
        assert writes(sbx) == [] and exists(api, 0, other)

        sbx.clear_requests()
        done = check_output(
            "delete_object",
            await client.call_tool(
                "delete_object", {**args, "confirmation_token": ask["confirmation_token"]}
            ),
        )
        assert done == {"object_type_id": 0, "id": cid, "deleted": True, "status": "done"}
        assert writes(sbx) == [
            {
                "method": "DELETE",
                "path": "/object",
                "query": {"objectID": "0", "id": str(cid)},
                "body": None,
                "status": 200,
            }
        ]
        assert not exists(api, 0, cid)  # really gone
        assert exists(api, 0, other)

        # the used token is refused; nothing more is deleted
        sbx.clear_requests()
        result = await client.call_tool(
            "delete_object", {**args, "confirmation_token": ask["confirmation_token"]}
        )
        assert result.is_error
        assert error_payload(result)["code"] in ("confirmation_invalid", "not_found")
        assert writes(sbx) == []

        # an unused but made-up token is refused as such
        check_error(
            await client.call_tool(
                "delete_object",
                {"object_type_id": 0, "id": other, "confirmation_token": "ct_made_up"},
            ),
            "confirmation_invalid",
            "unknown or already used",
        )
        assert writes(sbx) == [] and exists(api, 0, other)


async def test_delete_object_refusals_and_bad_input(server, headers, sbx):
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        check_error(
            await client.call_tool("delete_object", {"object_type_id": 0, "id": 99999999}),
            "not_found",
            "99999999",
        )
        # tasks (1) and invoices (46) cannot be deleted: the specialised tools are named
        err = check_error(
            await client.call_tool("delete_object", {"object_type_id": 1, "id": 1}),
            "not_allowed",
            "cancel_task",
        )
        assert err["details"]["method"] == "delete"
        check_error(
            await client.call_tool("delete_object", {"object_type_id": 46, "id": 1}),
            "not_allowed",
            "void_transaction",
        )
        check_error(
            await client.call_tool("delete_object", {"object_type_id": 99, "id": 1}),
            "invalid_arguments",
            "99",
        )
        for args, needle in (
            ({"object_type_id": 0}, "id"),
            ({"id": 5}, "object_type_id"),
            ({"object_type_id": 0, "id": "five"}, "id"),  # "5" would be read as 5
            ({"object_type": "Contacts", "id": 5}, "object_type"),
        ):
            check_error(await client.call_tool("delete_object", args), "invalid_arguments", needle)
        assert writes(sbx) == []


# ----------------------------------------------------------------------------- delete_objects
async def test_delete_objects_refusals(server, headers, sbx, api):
    before = count_of(api, 0)
    city = uniq("Nowhere")
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        # no ids and no condition
        check_error(
            await client.call_tool("delete_objects", {"object_type_id": 0}), "refused", "ids"
        )
        # an always-true condition, readable or JSON
        for condition in ("id > 0", [clause("id", ">", 0)], "id > 0 or state = CA"):
            check_error(
                await client.call_tool(
                    "delete_objects", {"object_type_id": 0, "condition": condition}
                ),
                "refused",
                "every record",
            )
        assert upstream(sbx) == []  # refused before a request is made
        # a condition that happens to match the whole collection (counted first)
        err = check_error(
            await client.call_tool(
                "delete_objects", {"object_type_id": 0, "condition": "date > 0"}
            ),
            "refused",
            f"all {before} Contact records",
        )
        assert err["http_status"] == 409
        assert calls(sbx) == [("GET", "/objects/getInfo")] * 2
        # nothing matches: nothing to confirm
        check_error(
            await client.call_tool(
                "delete_objects", {"object_type_id": 0, "condition": f'city = "{city}"'}
            ),
            "not_found",
            city,
        )
        check_error(
            await client.call_tool("delete_objects", {"object_type_id": 0, "ids": [99999999]}),
            "not_found",
            "99999999",
        )
        # types and arguments
        check_error(
            await client.call_tool("delete_objects", {"object_type_id": 46, "ids": [1]}),
            "not_allowed",
            "write_off_transaction",
        )
        for args, needle in (
            ({"ids": []}, "ids"),
            ({"ids": [1, 1]}, "ids"),
            ({"ids": ["one"]}, "ids"),
            ({"condition": ""}, "condition"),
            ({"condition": "no_such_field = 1"}, "no_such_field"),
            ({"ids": [1], "everything": True}, "everything"),
        ):
            check_error(await client.call_tool("delete_objects", args), "invalid_arguments", needle)
        assert writes(sbx) == []
    assert count_of(api, 0) == before


async def test_delete_objects_by_condition_pins_the_ids(server, headers, sbx, api):
    city = uniq("Gone")
    doomed = [make_contact(api, city=city) for _ in range(3)]
    bystander = make_contact(api, city=uniq("Stay"))
    condition = cond_text(clause("city", "=", city))
    args = {"object_type_id": 0, "condition": f'city = "{city}"'}
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        ask = check_output("delete_objects", await client.call_tool("delete_objects", args))
        assert ask["status"] == "confirmation_required"
        assert ask["summary"] == (
            f'Permanently delete 3 Contact record(s) matching city = "{city}".'
        )
        assert upstream(sbx) == [
            {
                "method": "GET",
                "path": "/objects/getInfo",
                "query": {"objectID": "0"},
                "body": None,
                "status": 200,
            },
            {
                "method": "GET",
                "path": "/objects/getInfo",
                "query": {"objectID": "0", "condition": condition},
                "body": None,
                "status": 200,
            },
        ]
        assert all(exists(api, 0, i) for i in doomed)

        sbx.clear_requests()
        done = check_output(
            "delete_objects",
            await client.call_tool(
                "delete_objects", {**args, "confirmation_token": ask["confirmation_token"]}
            ),
        )
        assert done == {
            "object_type_id": 0,
            "deleted_count": 3,
            "ids": doomed,
            "status": "done",
        }
        log = upstream(sbx)
        # counted again (plan + handler), the matches pinned by id, then one DELETE of those ids
        assert [(r["method"], r["path"]) for r in log] == [
            ("GET", "/objects/getInfo"),
            ("GET", "/objects/getInfo"),
            ("GET", "/objects/getInfo"),
            ("GET", "/objects/getInfo"),
            ("GET", "/objects"),
            ("DELETE", "/objects"),
        ]
        assert log[4]["query"] == {
            "objectID": "0",
            "range": "50",
            "listFields": "id",
            "condition": condition,
            "start": "0",
        }
        delete = log[5]
        assert delete["query"]["objectID"] == "0"
        assert delete["query"]["ids"] == ",".join(map(str, doomed))
        # the DELETE names the pinned ids only, never the selection that found them
        assert not {"condition", "search", "group_id", "performAll"} & set(delete["query"])
        assert delete["body"] is None and delete["status"] == 200
    assert not any(exists(api, 0, i) for i in doomed)
    assert exists(api, 0, bystander)


async def test_delete_objects_by_ids_only_deletes_existing_matches(server, headers, sbx, api):
    city = uniq("Ids")
    a, b, c = (make_contact(api, city=city) for _ in range(3))
    async with connect(server.url, headers) as client:
        # an unknown id among the ids: counted out, and not reported as deleted
        args = {"object_type_id": 0, "ids": [a, b, 99999999]}
        ask = check_output("delete_objects", await client.call_tool("delete_objects", args))
        assert ask["summary"] == (
            f"Permanently delete 2 Contact record(s) matching ids {a},{b},99999999."
        )
        sbx.clear_requests()
        done = check_output(
            "delete_objects",
            await client.call_tool(
                "delete_objects", {**args, "confirmation_token": ask["confirmation_token"]}
            ),
        )
        assert (done["deleted_count"], done["ids"]) == (2, [a, b])
        pin, delete = upstream(sbx)[-2:]
        assert (pin["method"], pin["path"]) == ("GET", "/objects")
        assert pin["query"]["ids"] == f"{a},{b},99999999"
        assert (delete["method"], delete["path"]) == ("DELETE", "/objects")
        assert delete["query"]["ids"] == f"{a},{b}"
        assert not exists(api, 0, a) and not exists(api, 0, b) and exists(api, 0, c)

        # ids together with a condition: only records matching both go
        args = {"object_type_id": 0, "ids": [c], "condition": "state = ZZ"}
        check_error(await client.call_tool("delete_objects", args), "not_found", f"ids {c}")
        args = {"object_type_id": 0, "ids": [c], "condition": f'city = "{city}"'}
        ask = check_output("delete_objects", await client.call_tool("delete_objects", args))
        assert ask["summary"] == (
            f'Permanently delete 1 Contact record(s) matching ids {c} and city = "{city}".'
        )
        sbx.clear_requests()
        done = check_output(
            "delete_objects",
            await client.call_tool(
                "delete_objects", {**args, "confirmation_token": ask["confirmation_token"]}
            ),
        )
        assert done["ids"] == [c]
        (delete,) = writes(sbx)
        assert delete["query"]["ids"] == str(c)
    assert not exists(api, 0, c)


async def test_delete_objects_sends_at_most_50_ids_per_request(server, headers, sbx, api):
    city = uniq("Bulk")
    doomed = [insert(sbx, 0, firstname=f"Bulk{i}", lastname="Load", city=city) for i in range(55)]
    args = {"object_type_id": 0, "condition": f'city = "{city}"'}
    async with connect(server.url, headers) as client:
        ask = check_output("delete_objects", await client.call_tool("delete_objects", args))
        assert "delete 55 Contact record(s)" in ask["summary"]
        sbx.clear_requests()
        done = check_output(
            "delete_objects",
            await client.call_tool(
                "delete_objects", {**args, "confirmation_token": ask["confirmation_token"]}
            ),
        )
    assert done["deleted_count"] == 55 and done["ids"] == doomed
    pins = [r for r in upstream(sbx) if (r["method"], r["path"]) == ("GET", "/objects")]
    assert [p["query"]["start"] for p in pins] == ["0", "50"]
    deletes = writes(sbx)
    assert [d["query"]["ids"] for d in deletes] == [
        ",".join(map(str, doomed[:50])),
        ",".join(map(str, doomed[50:])),
    ]
    assert count_of(api, 0, condition=cond_text(clause("city", "=", city))) == 0


# ------------------------------------------------------------------------------ access policy
async def test_access_policy_names_the_specialised_tools(server, headers, sbx):
    cases = [
        ("create_object", {"object_type_id": 46, "data": {"total": 5}}, "create_invoice"),
        ("saveorupdate_object", {"object_type_id": 227, "data": {"total": 5}}, "get_payments"),
        ("update_object", {"object_type_id": 17, "id": 1, "data": {"price": 1}}, "get_purchases"),
        ("update_object", {"object_type_id": 46, "id": 1, "data": {"total": 1}}, "update_invoice"),
        ("delete_object", {"object_type_id": 1, "id": 1}, "complete_task"),
        ("delete_objects", {"object_type_id": 140, "ids": [1]}, "pause_unpause_objects"),
        ("create_object", {"object_type_id": 3, "data": {"name": "G"}}, "get_groups"),
    ]
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        for tool, args, named in cases:
            err = check_error(await client.call_tool(tool, args), "not_allowed", named)
            assert err["http_status"] == 403
            assert named in err["details"]["use_instead"]
            assert err["details"]["object_type_id"] == args["object_type_id"]
        assert upstream(sbx) == []  # decided from the policy, before any request


# ----------------------------------------------------------------- custom objects, generic tools
async def test_custom_object_through_the_generic_tools(server, headers, sbx, api):
    name = uniq("Student")
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        created = check_output(
            "create_object",
            await client.call_tool(
                "create_object",
                {"object_type": "Student", "data": {"f1601": name, "f1602": "601"}},
            ),
        )
        sid = created["id"]
        assert created["object_type_id"] == STUDENTS
        (post,) = upstream(sbx)
        assert post["body"] == {"objectID": STUDENTS, "f1601": name, "f1602": "601"}

        sbx.clear_requests()
        updated = check_output(
            "update_object",
            await client.call_tool(
                "update_object", {"object_type_id": STUDENTS, "id": sid, "data": {"f1602": "604"}}
            ),
        )
        assert updated["changed"]["f1602"] == "604"
        (put,) = upstream(sbx)
        assert put["body"] == {"objectID": STUDENTS, "id": sid, "f1602": "604"}

        # a readable condition on the custom fields, by label: the option label becomes its id
        withdrawn = cond_text(clause("f1602", "=", 604))
        sbx.clear_requests()
        found = check_output(
            "get_objects",
            await client.call_tool(
                "get_objects",
                {
                    "object_type_id": STUDENTS,
                    "condition": "Enrollment Status = Withdrawn",
                    "fields": ["f1601", "f1602"],
                    "include_total": True,
                },
            ),
        )
        assert {"id": str(sid), "f1601": name, "f1602": "604"} in found["records"]
        assert all(r["f1602"] == "604" for r in found["records"])
        assert [r["query"].get("condition") for r in upstream(sbx)] == [withdrawn, withdrawn]

        sbx.clear_requests()
        counted = check_output(
            "count_objects",
            await client.call_tool(
                "count_objects", {"object_type_id": STUDENTS, "condition": "f1602 = 604"}
            ),
        )
        assert counted == {"object_type_id": STUDENTS, "count": found["total"]}
        assert upstream(sbx) == [
            {
                "method": "GET",
                "path": "/objects/getInfo",
                "query": {"objectID": str(STUDENTS), "condition": withdrawn},
                "body": None,
                "status": 200,
            }
        ]
        # unknown custom field
        check_error(
            await client.call_tool(
                "create_object", {"object_type_id": STUDENTS, "data": {"f9999": "x"}}
            ),
            "invalid_arguments",
            "f9999",
        )
    assert get_record(api, STUDENTS, sid)["f1602"] == "604"
    assert counted["count"] == count_of(api, STUDENTS, condition=withdrawn)


# ------------------------------------------------------------------- per-custom-object tools
async def test_student_tools_convert_labels_and_dates(server, headers, sbx, api):
    name = uniq("Kim")
    async with connect(server.url, headers) as client:
        listed = {t.name for t in (await client.list_tools()).tools}
        assert {"get_student", "search_student", "create_student", "update_student"} <= listed

        sbx.clear_requests()
        created = await client.call_tool(
            "create_student",
            {
                "student_name": name,
                "enrollment_status": "Enrolled",
                "courses": ["Biology", "studio art"],
                "enrollment_date": "2026-03-01",
                "tuition_balance": 120.5,
                "parent_guardian": 1,
                "student_email": "kim@example.edu",
            },
        )
        assert not created.is_error, created.content
        out = created.structured_content
        sid = out["id"]
        assert out["object_type_id"] == STUDENTS and sid > 0
        assert upstream(sbx) == [
            {
                "method": "POST",
                "path": "/objects",
                "query": {},
                "body": {
                    "objectID": STUDENTS,
                    "f1601": name,
                    "f1602": "602",  # "Enrolled"
                    "f1603": "*/*612*/*615*/*",  # Biology, Studio Art
                    "f1604": str(epoch("2026-03-01")),
                    "f1605": 120.5,
                    "f1606": 1,
                    "f1607": "kim@example.edu",
                },
                "status": 200,
            }
        ]

        sbx.clear_requests()
        updated = await client.call_tool(
            "update_student",
            {
                "id": sid,
                "enrollment_status": "graduated",
                "enrollment_date": "2026-06-15T12:00:00Z",
            },
        )
        assert not updated.is_error, updated.content
        assert updated.structured_content["id"] == sid
        (put,) = upstream(sbx)
        assert (put["method"], put["path"]) == ("PUT", "/objects")
        assert put["body"] == {
            "objectID": STUDENTS,
            "id": sid,
            "f1602": "603",
            "f1604": str(epoch("2026-06-15T12:00:00Z")),
        }

        sbx.clear_requests()
        got = await client.call_tool("get_student", {"id": sid, "fields": ["student_name"]})
        assert not got.is_error, got.content
        # labelled: the tool's argument names, not the f-numbers
        assert got.structured_content["record"] == {"id": str(sid), "student_name": name}
        assert upstream(sbx)[0]["query"] == {"objectID": str(STUDENTS), "id": str(sid)}

        sbx.clear_requests()
        searched = await client.call_tool(
            "search_student",
            {"condition": f'Student Name = "{name}"', "fields": ["student_name", "f1602"]},
        )
        assert not searched.is_error, searched.content
        assert searched.structured_content["records"] == [
            {"id": str(sid), "student_name": name, "enrollment_status": "Graduated"}
        ]
        (request,) = upstream(sbx)
        assert request["query"]["condition"] == cond_text(clause("f1601", "=", name))
        assert request["query"]["listFields"] == "id,f1601,f1602"
    stored = get_record(api, STUDENTS, sid)
    assert (stored["f1602"], stored["f1603"], stored["f1604"]) == (
        "603",
        "*/*612*/*615*/*",
        str(epoch("2026-06-15T12:00:00Z")),
    )


async def test_student_tools_bad_input(server, headers, sbx):
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        err = check_error(
            await client.call_tool(
                "create_student", {"student_name": "X", "enrollment_status": "Expelled"}
            ),
            "invalid_arguments",
            "Expelled",
        )
        assert err["details"]["choices"] == ["Applied", "Enrolled", "Graduated", "Withdrawn"]
        check_error(
            await client.call_tool("create_student", {"student_name": "X", "courses": ["Chess"]}),
            "invalid_arguments",
            "Chess",
        )
        check_error(
            await client.call_tool(
                "create_student", {"student_name": "X", "enrollment_date": "someday"}
            ),
            "invalid_arguments",
            "enrollment_date",
        )
        check_error(
            await client.call_tool("create_student", {"nickname": "X"}),
            "invalid_arguments",
            "nickname",
        )
        check_error(await client.call_tool("create_student", {}), "invalid_arguments")
        check_error(
            await client.call_tool("update_student", {"student_name": "X"}),
            "invalid_arguments",
            "id",
        )
        check_error(
            await client.call_tool(
                "create_student", {"student_name": "X", "tuition_balance": "lots"}
            ),
            "invalid_arguments",
            "tuition_balance",
        )
        check_error(
            await client.call_tool("search_student", {"condition": "shoesize = 9"}),
            "invalid_arguments",
            "shoesize",
        )
        assert writes(sbx) == []
        check_error(await client.call_tool("get_student", {"id": 99999999}), "not_found")
        check_error(
            await client.call_tool("update_student", {"id": 99999999, "student_name": "Y"}),
            "not_found",
        )
        assert [r["status"] for r in upstream(sbx)] == [404, 404]
