"""The Query tools end to end: list_allowed_object_types, get_object_meta, count_objects,
get_account_info, get_groups, get_contact_log, get_automation_log, get_recent_messages,
get_recent_notes, get_recent_tasks, get_scheduled_broadcasts, get_landing_page_url and
build_api_condition.

Each result is checked against the sandbox (the same question asked of the /1 API directly) and
the exact REST calls in its request log; refusals and bad input must be structured errors.
A private sandbox and server for this module keep the seeded counts exact."""

from __future__ import annotations

import json
import time
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
from tests.snapshots.catalog_facts import CUSTOM_TYPES, STUDENT
from tests.tools.tools_util import check_error, check_output, clause, insert, ok, upstream

pytestmark = pytest.mark.anyio

USERS = {"1": "Sam Sandbox", "2": "Riley Chen", "3": "Jordan Patel", "4": "Casey Morgan"}


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


def cond_text(*clauses: Any) -> str:
    return json.dumps(list(clauses), separators=(",", ":"))


def get(path: str, **query: str) -> dict[str, Any]:
    """One expected logged GET."""
    return {"method": "GET", "path": path, "query": query, "body": None, "status": 200}


def listing(api: httpx.Client, type_id: int, **params: Any) -> list[dict[str, Any]]:
    """Every record of a type matching the params (all pages)."""
    out: list[dict[str, Any]] = []
    start = 0
    while True:
        page = ok(
            api.get("/objects", params={"objectID": type_id, "start": start, "range": 50, **params})
        )
        out += page
        if len(page) < 50:
            return out
        start += 50


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


# --------------------------------------------------------------- list_allowed_object_types
async def test_list_allowed_object_types(server, headers, sbx):
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        out = check_output(
            "list_allowed_object_types", await client.call_tool("list_allowed_object_types", {})
        )
        listed = {t.name for t in (await client.list_tools()).tools}
    assert upstream(sbx) == []  # answered from the account's (cached) meta alone
    types = {t["object_type_id"]: t for t in out["types"]}
    assert types[0]["name"] == "Contact" and types[0]["custom"] is False
    assert types[0]["methods"] == ["get", "create", "update", "delete"]
    assert "manage_tags" in types[0]["tools"]
    assert types[46]["methods"] == ["get"] and "create_invoice" in types[46]["tools"]
    assert types[1]["methods"] == ["get", "update"] and "complete_task" in types[1]["tools"]
    assert 65 not in types and 2 not in types  # offers, users: not exposed
    custom = {t["object_type_id"]: t for t in out["types"] if t["custom"]}
    assert {entry["name"]: type_id for type_id, entry in custom.items()} == CUSTOM_TYPES
    assert custom[STUDENT]["methods"] == ["get", "create", "update", "delete"]
    assert custom[STUDENT]["tools"] == [
        "get_student",
        "search_student",
        "create_student",
        "update_student",
    ]
    for entry in out["types"]:
        # every specialised tool named is one the client can call
        assert set(entry["tools"]) <= listed, entry


# ---------------------------------------------------------------------------- get_object_meta
async def test_get_object_meta_one_type_and_all(server, headers, sbx, api):
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        one = check_output(
            "get_object_meta",
            await client.call_tool("get_object_meta", {"object_type": "Contacts"}),
        )
        (contacts,) = one["types"]
        assert (contacts["object_type_id"], contacts["name"], contacts["custom"]) == (
            0,
            "Contact",
            False,
        )
        fields = {f["name"]: f for f in contacts["fields"]}
        assert fields["email"]["type"] == "email" and fields["email"]["alias"] == "Email"
        assert fields["f1549"]["options"] == {
            "311": "Inbound",
            "312": "Outbound",
            "313": "Referral",
            "314": "Event",
        }
        assert fields["spent"]["editable"] is False
        assert fields["owner"]["parent_object"] == 2

        students = check_output(
            "get_object_meta",
            await client.call_tool("get_object_meta", {"object_type_id": STUDENT}),
        )["types"][0]
        sfields = {f["name"]: f for f in students["fields"]}
        assert students["custom"] is True and students["name"] == "Student"
        assert sfields["f1602"]["alias"] == "Enrollment Status"
        assert sfields["f1602"]["options"]["602"] == "Enrolled"
        assert sfields["f1606"]["parent_object"] == 0

        every = check_output("get_object_meta", await client.call_tool("get_object_meta", {}))
        allowed = check_output(
            "list_allowed_object_types", await client.call_tool("list_allowed_object_types", {})
        )
        assert upstream(sbx) == []  # meta is fetched once and cached
        # every described type is an exposed one, and vice versa
        assert [t["object_type_id"] for t in every["types"]] == [
            t["object_type_id"] for t in allowed["types"]
        ]
        raw = ok(api.get("/objects/meta", params={"objectID": 0}))
        raw_fields = next(iter(raw.values()))["fields"]
        assert sorted(fields) == sorted(raw_fields)

        check_error(
            await client.call_tool("get_object_meta", {"object_type": "Widgets"}),
            "invalid_arguments",
            "Widgets",
        )
        check_error(
            await client.call_tool("get_object_meta", {"object_type_id": "zero"}),
            "invalid_arguments",
            "object_type_id",
        )
        check_error(
            await client.call_tool(
                "get_object_meta", {"object_type_id": 0, "object_type": "Deals"}
            ),
            "invalid_arguments",
        )


# ------------------------------------------------------------------------------ count_objects
async def test_count_objects_plain_group_and_search(server, headers, sbx, api):
    ca = cond_text(clause("state", "=", "CA"))
    expected = len(listing(api, 0, condition=ca, listFields="id"))
    assert expected > 0
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        out = check_output(
            "count_objects", await client.call_tool("count_objects", {"condition": "state = CA"})
        )
        assert out == {"object_type_id": 0, "count": expected}
        assert upstream(sbx) == [get("/objects/getInfo", objectID="0", condition=ca)]

        sbx.clear_requests()
        by_group = check_output(
            "count_objects", await client.call_tool("count_objects", {"group_id": 1})
        )
        assert by_group["count"] == expected  # group 1 = California contacts
        assert upstream(sbx) == [get("/objects/getInfo", objectID="0", group_id="1")]

        everyone = check_output(
            "count_objects", await client.call_tool("count_objects", {"object_type": "Contacts"})
        )
        assert everyone["count"] == len(listing(api, 0, listFields="id"))
        found = check_output(
            "count_objects", await client.call_tool("count_objects", {"search": "ada.quill"})
        )
        assert found["count"] == 1


async def test_count_objects_sums_from_the_api_for_invoices(server, headers, sbx, api):
    info = ok(api.get("/objects/getInfo", params={"objectID": 46}))
    api_total = float(info["sums"]["total"])
    count = int(info["count"])
    assert count > 0
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        out = check_output(
            "count_objects",
            await client.call_tool(
                "count_objects",
                {"object_type_id": 46, "sum_fields": ["total"], "average_fields": ["total"]},
            ),
        )
    assert out["count"] == count
    assert out["sums"] == {"total": round(api_total, 2)}
    assert out["averages"] == {"total": round(api_total / count, 2)}
    assert out["note"] == "sums of total from the API"
    assert upstream(sbx) == [get("/objects/getInfo", objectID="46")]  # no scan


async def test_count_objects_sums_and_averages_by_scan(server, headers, sbx, api):
    ca = cond_text(clause("state", "=", "CA"))
    rows = listing(api, 0, condition=ca, listFields="id,spent,grade")
    spent = sum(float(r["spent"] or 0) for r in rows)
    grade = sum(float(r["grade"] or 0) for r in rows)
    assert 0 < len(rows) < 50 and spent > 0
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        out = check_output(
            "count_objects",
            await client.call_tool(
                "count_objects",
                {
                    "object_type_id": 0,
                    "condition": "state = CA",
                    "sum_fields": ["spent"],
                    "average_fields": ["spent", "grade"],
                },
            ),
        )
    assert out["count"] == len(rows)
    assert out["sums"] == {"spent": round(spent, 2)}
    assert out["averages"] == {
        "spent": round(spent / len(rows), 2),
        "grade": round(grade / len(rows), 2),
    }
    assert out["note"] == f"computed from {len(rows)} of {len(rows)} matching records"
    info, scan = upstream(sbx)
    assert info == get("/objects/getInfo", objectID="0", condition=ca)
    assert (scan["method"], scan["path"]) == ("GET", "/objects")
    assert scan["query"]["condition"] == ca and scan["query"]["start"] == "0"
    assert sorted(scan["query"]["listFields"].split(",")) == ["grade", "id", "spent"]


async def test_count_objects_bad_input(server, headers, sbx):
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        err = check_error(
            await client.call_tool(
                "count_objects", {"object_type_id": 0, "sum_fields": ["firstname"]}
            ),
            "invalid_arguments",
            "firstname",
            "numeric",
        )
        assert err["details"]["field"] == "sum_fields" and "spent" in err["details"]["choices"]
        check_error(
            await client.call_tool("count_objects", {"average_fields": ["no_such_field"]}),
            "invalid_arguments",
            "no_such_field",
        )
        sbx.clear_requests()
        err = check_error(
            await client.call_tool("count_objects", {"condition": "stat = CA"}),
            "invalid_arguments",
            "stat",
        )
        assert "state" in err["details"]["choices"]
        assert upstream(sbx) == []
        check_error(
            await client.call_tool("count_objects", {"group_id": 777777}), "not_found", "777777"
        )
        for args, needle in (
            ({"sum_fields": "spent"}, "sum_fields"),
            ({"group_id": "one"}, "group_id"),
            ({"object_type_id": 65}, "list_allowed_object_types"),
            ({"where": "x"}, "where"),
        ):
            result = await client.call_tool("count_objects", args)
            code = "not_allowed" if "object_type_id" in args else "invalid_arguments"
            check_error(result, code, needle)


# --------------------------------------------------------------------------- get_account_info
async def test_get_account_info(server, headers, sbx):
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        out = check_output("get_account_info", await client.call_tool("get_account_info", {}))
    assert out["account_id"] == sbx.account_id
    assert [(g["id"], g["name"], g["type"]) for g in out["gateways"]] == [
        ("1", "Sandbox Stripe", "stripe"),
        ("2", "Sandbox Authorize.net", "authorizenet"),
        ("3", "Legacy PayPal", "paypal"),
    ]
    assert {u["id"]: f"{u['firstname']} {u['lastname']}" for u in out["users"]} == USERS
    assert all(
        set(u) <= {"id", "firstname", "lastname", "email", "role", "timezone"} for u in out["users"]
    )
    assert out["object_counts"]["custom_objects"] == 3
    assert out["object_counts"]["contacts"] >= 12
    assert out["object_counts"]["invoices"] >= 10 and out["object_counts"]["tasks"] >= 6
    assert any(u.startswith("currency") for u in out["unknown"])
    assert upstream(sbx) == [
        get("/objects", objectID="70", start="0", range="50"),
        get("/objects", objectID="2", start="0", range="50"),
        get("/objects/getInfo", objectID="0"),
        get("/objects/getInfo", objectID="46"),
        get("/objects/getInfo", objectID="1"),
    ]


# -------------------------------------------------------------------------------- get_groups
async def test_get_groups(server, headers, sbx):
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        out = check_output("get_groups", await client.call_tool("get_groups", {}))
        names = [g["name"] for g in out["records"]]
        assert names == sorted(names)  # A to Z
        assert set(names) >= {
            "California contacts",
            "VIP customers",
            "High spenders",
            "Enrolled students",
            "Open deals",
        }
        assert upstream(sbx) == [
            get("/objects", objectID="3", start="0", range="50", sort="name", sortDir="asc")
        ]
        california = next(g for g in out["records"] if g["id"] == "1")
        assert json.loads(california["condition"]) == [clause("state", "=", "CA")]

        sbx.clear_requests()
        contacts = check_output(
            "get_groups", await client.call_tool("get_groups", {"object_type_id": 0})
        )
        assert sorted(int(g["id"]) for g in contacts["records"]) == [1, 2, 3]
        assert upstream(sbx)[0]["query"]["condition"] == cond_text(clause("object_type_id", "=", 0))

        deals = check_output(
            "get_groups", await client.call_tool("get_groups", {"object_type": "Deals"})
        )
        assert [g["name"] for g in deals["records"]] == ["Open deals"]
        sbx.clear_requests()
        found = check_output(
            "get_groups", await client.call_tool("get_groups", {"search": "california"})
        )
        assert [g["id"] for g in found["records"]] == ["1"]
        assert upstream(sbx)[0]["query"]["search"] == "california"

        check_error(
            await client.call_tool("get_groups", {"object_type": "Widgets"}),
            "invalid_arguments",
            "Widgets",
        )
        check_error(
            await client.call_tool("get_groups", {"range": 0}), "invalid_arguments", "range"
        )


# ------------------------------------------------------------------ contact and automation logs
async def test_get_contact_log(server, headers, sbx, api):
    contact = 1
    by_contact = cond_text(clause("contact_id", "=", contact))
    expected = listing(api, 4, condition=by_contact, sort="date", sortDir="desc")
    assert expected
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        out = check_output(
            "get_contact_log", await client.call_tool("get_contact_log", {"contact_id": contact})
        )
        assert [r["id"] for r in out["records"]] == [r["id"] for r in expected]
        assert all(r["contact_id"] == str(contact) for r in out["records"])
        assert upstream(sbx) == [
            get(
                "/objects",
                objectID="4",
                start="0",
                range="50",
                sort="date",
                sortDir="desc",
                condition=by_contact,
            )
        ]
        # a date window: since (inclusive) and until
        middle = int(expected[len(expected) // 2]["date"])
        sbx.clear_requests()
        window = check_output(
            "get_contact_log",
            await client.call_tool(
                "get_contact_log",
                {"contact_id": contact, "since": middle, "until": "2026-01-01", "sort_dir": "asc"},
            ),
        )
        dates = [int(r["date"]) for r in window["records"]]
        assert dates == sorted(dates) and min(dates) >= middle
        assert len(dates) == sum(1 for r in expected if int(r["date"]) >= middle)
        assert json.loads(upstream(sbx)[0]["query"]["condition"]) == [
            clause("contact_id", "=", contact),
            "AND",
            clause("date", ">=", middle),
            "AND",
            clause("date", "<=", epoch("2026-01-01")),
        ]

        for args, needle in (
            ({}, "contact_id"),
            ({"contact_id": "one"}, "contact_id"),
            ({"contact_id": 1, "since": "someday"}, "since"),
            ({"contact_id": 1, "sort_dir": "newest"}, "sort_dir"),
        ):
            check_error(
                await client.call_tool("get_contact_log", args), "invalid_arguments", needle
            )
        # an unknown contact simply has no history
        empty = check_output(
            "get_contact_log", await client.call_tool("get_contact_log", {"contact_id": 99999999})
        )
        assert (empty["records"], empty["count"], empty["has_more"]) == ([], 0, False)


async def test_get_automation_log(server, headers, sbx, api):
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        out = check_output(
            "get_automation_log", await client.call_tool("get_automation_log", {"contact_id": 1})
        )
        descriptions = [r["description"] for r in out["records"]]
        assert "Added to automation: Customer Onboarding" in descriptions
        assert all(r["contact_id"] == "1" for r in out["records"])
        assert upstream(sbx) == [
            get(
                "/objects",
                objectID="100",
                start="0",
                range="50",
                sort="date",
                sortDir="desc",
                condition=cond_text(clause("contact_id", "=", 1)),
            )
        ]
        sbx.clear_requests()
        one = check_output(
            "get_automation_log",
            await client.call_tool("get_automation_log", {"contact_id": 1, "automation_id": 2}),
        )
        assert one["records"] and all(r["campaign_id"] == "2" for r in one["records"])
        assert json.loads(upstream(sbx)[0]["query"]["condition"]) == [
            clause("contact_id", "=", 1),
            "AND",
            clause("campaign_id", "=", 2),
        ]
        check_error(
            await client.call_tool("get_automation_log", {"contact_id": 1, "automation_id": 0}),
            "invalid_arguments",
            "automation_id",
        )


# --------------------------------------------------------------------------- messages, notes
async def test_get_recent_messages(server, headers, sbx, api):
    every = listing(api, 7)
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        emails = check_output(
            "get_recent_messages",
            await client.call_tool("get_recent_messages", {"message_type": "email"}),
        )
        # legacy e-mail and ONTRAmail ("Template") messages are both emails
        assert sorted(r["id"] for r in emails["records"]) == sorted(
            r["id"] for r in every if r["type"] in ("e-mail", "Template")
        )
        assert {r["type"] for r in emails["records"]} == {"e-mail", "Template"}
        dates = [int(r["date"]) for r in emails["records"]]
        assert dates == sorted(dates, reverse=True)  # newest first
        assert upstream(sbx) == [
            get(
                "/objects",
                objectID="7",
                start="0",
                range="50",
                sort="date",
                sortDir="desc",
                condition=cond_text(clause("type", "IN", ["e-mail", "Template"])),
            )
        ]
        sms = check_output(
            "get_recent_messages",
            await client.call_tool("get_recent_messages", {"message_type": "sms"}),
        )
        assert sorted(r["alias"] for r in sms["records"]) == ["Appointment Reminder", "SMS Promo"]

        since = "2025-03-01"
        recent = check_output(
            "get_recent_messages",
            await client.call_tool("get_recent_messages", {"since": since, "range": 2}),
        )
        newer = [r for r in every if int(r["date"]) >= epoch(since)]
        assert recent["count"] == min(2, len(newer)) and recent["has_more"] == (len(newer) > 2)
        assert all(int(r["date"]) >= epoch(since) for r in recent["records"])

        found = check_output(
            "get_recent_messages",
            await client.call_tool("get_recent_messages", {"search": "Flash"}),
        )
        assert [r["alias"] for r in found["records"]] == ["Flash Sale"]
        check_error(
            await client.call_tool("get_recent_messages", {"message_type": "fax"}),
            "invalid_arguments",
            "message_type",
        )


async def test_get_recent_notes(server, headers, sbx, api):
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        out = check_output(
            "get_recent_notes", await client.call_tool("get_recent_notes", {"contact_id": 3})
        )
        texts = [r["data"] for r in out["records"]]
        assert "Asked about the quarterly renewal discount." in texts
        assert all(r["contact_id"] == "3" for r in out["records"])
        for note in out["records"]:
            assert note["owner_name"] == USERS[note["owner"]]
        owners = sorted({r["owner"] for r in out["records"]}, key=int)
        assert upstream(sbx) == [
            get(
                "/objects",
                objectID="12",
                start="0",
                range="50",
                sort="date",
                sortDir="desc",
                condition=cond_text(clause("contact_id", "=", 3)),
            ),
            get("/objects", objectID="2", ids=",".join(owners), start="0", range="50"),
        ]
        found = check_output(
            "get_recent_notes", await client.call_tool("get_recent_notes", {"search": "renewal"})
        )
        assert [r["contact_id"] for r in found["records"]] == ["3"]

        # the sandbox's notes have no type field marking calls: refused up front
        sbx.clear_requests()
        check_error(
            await client.call_tool("get_recent_notes", {"calls_only": True}),
            "invalid_arguments",
            "calls_only",
        )
        assert upstream(sbx) == []
        check_error(
            await client.call_tool("get_recent_notes", {"since": "last week"}),
            "invalid_arguments",
            "since",
        )


# ------------------------------------------------------------------------------------ tasks
async def test_get_recent_tasks(server, headers, sbx, api):
    open_tasks = listing(api, 1, condition=cond_text(clause("status", "=", 0)))
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        out = check_output(
            "get_recent_tasks", await client.call_tool("get_recent_tasks", {"status": "open"})
        )
        assert sorted(int(t["id"]) for t in out["records"]) == sorted(
            int(t["id"]) for t in open_tasks
        )
        assert {1, 2, 5, 6} <= {int(t["id"]) for t in out["records"]}  # the seeded pending ones
        due = [int(t["date_due"]) for t in out["records"]]
        assert due == sorted(due)  # soonest first by default
        for task in out["records"]:
            assert task["status_name"] == "open"
            assert task["owner_name"] == USERS[task["owner"]]
            assert task["date_due_iso"] == datetime.fromtimestamp(
                int(task["date_due"]), UTC
            ).strftime("%Y-%m-%dT%H:%M:%SZ")
        contacts = sorted({t["contact_id"] for t in out["records"]}, key=int)
        for task in out["records"]:
            assert task["contact_name"]
        owners = sorted({t["owner"] for t in out["records"]}, key=int)
        assert upstream(sbx) == [
            get(
                "/objects",
                objectID="1",
                start="0",
                range="50",
                sort="date_due",
                sortDir="asc",
                condition=cond_text(clause("status", "=", 0)),
            ),
            get(
                "/objects",
                objectID="0",
                ids=",".join(contacts),
                start="0",
                range="50",
                listFields="id,firstname,lastname,email",
            ),
            get("/objects", objectID="2", ids=",".join(owners), start="0", range="50"),
        ]

        completed = check_output(
            "get_recent_tasks",
            await client.call_tool("get_recent_tasks", {"status": "completed", "sort_dir": "desc"}),
        )
        assert 3 in {int(t["id"]) for t in completed["records"]}
        assert {t["status_name"] for t in completed["records"]} == {"completed"}
        due = [int(t["date_due"]) for t in completed["records"]]
        assert due == sorted(due, reverse=True)

        cancelled = check_output(
            "get_recent_tasks",
            await client.call_tool(
                "get_recent_tasks", {"status": "cancelled", "owner_id": 3, "contact_id": 3}
            ),
        )
        assert [int(t["id"]) for t in cancelled["records"]] == [4]
        assert cancelled["records"][0]["owner_name"] == "Jordan Patel"

        sbx.clear_requests()
        window = check_output(
            "get_recent_tasks",
            await client.call_tool(
                "get_recent_tasks",
                {"contact_id": 1, "due_after": "2025-12-01", "due_before": "2026-01-01"},
            ),
        )
        assert {1, 2} <= {int(t["id"]) for t in window["records"]}
        assert json.loads(upstream(sbx)[0]["query"]["condition"]) == [
            clause("contact_id", "=", 1),
            "AND",
            clause("date_due", ">=", epoch("2025-12-01")),
            "AND",
            clause("date_due", "<=", epoch("2026-01-01")),
        ]

        for args, needle in (
            ({"status": "done"}, "status"),
            ({"owner_id": "Riley"}, "owner_id"),
            ({"due_before": "soon"}, "due_before"),
            ({"assignee": 2}, "assignee"),
        ):
            check_error(
                await client.call_tool("get_recent_tasks", args), "invalid_arguments", needle
            )
        nobody = check_output(
            "get_recent_tasks", await client.call_tool("get_recent_tasks", {"owner_id": 99})
        )
        assert nobody["records"] == []


# ------------------------------------------------------------------------ scheduled broadcasts
async def test_get_scheduled_broadcasts(server, headers, sbx, api):
    soon = int(time.time()) + 7 * 86400
    later = soon + 7 * 86400
    upcoming = [
        insert(
            sbx,
            23,
            message_id=1,
            object_type_id=0,
            group_id="2",
            send_date=when,
            status="0",
            recipients="40",
            owner="1",
            date=int(time.time()),
        )
        for when in (later, soon)
    ]
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        before = int(time.time())
        out = check_output(
            "get_scheduled_broadcasts", await client.call_tool("get_scheduled_broadcasts", {})
        )
        # only sends from now on (the seeded ones lie in the past), soonest first
        assert [int(r["id"]) for r in out["records"]] == upcoming[::-1]
        (request,) = upstream(sbx)
        assert (request["path"], request["query"]["sort"], request["query"]["sortDir"]) == (
            "/objects",
            "send_date",
            "asc",
        )
        (since,) = json.loads(request["query"]["condition"])
        assert since["field"] == {"field": "send_date"} and since["op"] == ">="
        assert before <= since["value"]["value"] <= int(time.time())

        sbx.clear_requests()
        past = check_output(
            "get_scheduled_broadcasts",
            await client.call_tool(
                "get_scheduled_broadcasts", {"since": "2025-01-01", "until": "2025-07-01"}
            ),
        )
        assert [r["id"] for r in past["records"]] == ["1", "2", "3"]
        assert upstream(sbx) == [
            get(
                "/objects",
                objectID="23",
                start="0",
                range="50",
                sort="send_date",
                sortDir="asc",
                condition=cond_text(
                    clause("send_date", ">=", epoch("2025-01-01")),
                    "AND",
                    clause("send_date", "<=", epoch("2025-07-01")),
                ),
            )
        ]
        check_error(
            await client.call_tool("get_scheduled_broadcasts", {"until": "July"}),
            "invalid_arguments",
            "until",
        )


# ------------------------------------------------------------------------- get_landing_page_url
async def test_get_landing_page_url(server, headers, sbx):
    host = sbx.config.hosted_domain
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        out = check_output(
            "get_landing_page_url", await client.call_tool("get_landing_page_url", {"id": 1})
        )
        assert out == {"id": 1, "name": "Spring Sale", "url": f"http://{host}/1001"}
        assert upstream(sbx) == [
            get("/object", objectID="20", id="1"),
            get("/landingPage/getHostedURL", id="1"),
        ]

        sbx.clear_requests()
        out = check_output(
            "get_landing_page_url",
            await client.call_tool("get_landing_page_url", {"name": "webinar SIGNUP"}),
        )
        assert out == {"id": 2, "name": "Webinar Signup", "url": f"http://{host}/1002"}
        assert upstream(sbx) == [
            get(
                "/objects",
                objectID="20",
                start="0",
                range="10",
                condition=cond_text(clause("name", "LIKE", "%webinar SIGNUP%")),
            ),
            get("/landingPage/getHostedURL", id="2"),
        ]

        sbx.clear_requests()
        check_error(
            await client.call_tool("get_landing_page_url", {"name": "Black Friday"}),
            "not_found",
            "Black Friday",
        )
        err = check_error(
            await client.call_tool("get_landing_page_url", {"name": "o"}),
            "invalid_arguments",
            "pass `id`",
        )
        assert "4: Coaching Application" in err["details"]["choices"]
        check_error(await client.call_tool("get_landing_page_url", {"id": 999}), "not_found", "999")
        assert all(r["path"] != "/landingPage/getHostedURL" for r in upstream(sbx))
        check_error(await client.call_tool("get_landing_page_url", {}), "invalid_arguments", "name")
        check_error(
            await client.call_tool("get_landing_page_url", {"id": "one"}),
            "invalid_arguments",
            "id",
        )


# ---------------------------------------------------------------------------- build_api_condition
async def test_build_api_condition(server, headers, sbx):
    async with connect(server.url, headers) as client:
        sbx.clear_requests()
        out = check_output(
            "build_api_condition",
            await client.call_tool(
                "build_api_condition",
                {"expression": "state = CA and spent > 1000 and Lead Type = Referral"},
            ),
        )
        expected = [
            clause("state", "=", "CA"),
            "AND",
            clause("spent", ">", 1000),
            "AND",
            clause("f1549", "=", 313),
        ]
        assert out["object_type_id"] == 0 and out["condition"] == expected
        assert json.loads(out["condition_json"]) == expected
        assert "state" in out["description"] and "f1549" in out["description"]

        students = check_output(
            "build_api_condition",
            await client.call_tool(
                "build_api_condition",
                {
                    "object_type": "Student",
                    "expression": "Enrollment Status IN (Enrolled, Applied)",
                },
            ),
        )
        assert students["object_type_id"] == STUDENT
        assert students["condition"] == [clause("f1602", "IN", [602, 601])]

        err = check_error(
            await client.call_tool("build_api_condition", {"expression": "stat = CA"}),
            "invalid_arguments",
            'Unknown field "stat"',
        )
        assert err["details"]["field"] == "condition"
        assert "state" in err["details"]["choices"]
        err = check_error(
            await client.call_tool("build_api_condition", {"expression": "Lead Type = Walk-in"}),
            "invalid_arguments",
            "Walk-in",
        )
        assert set(err["details"]["choices"]) == {"Inbound", "Outbound", "Referral", "Event"}
        check_error(
            await client.call_tool("build_api_condition", {"expression": "state = "}),
            "invalid_arguments",
        )
        check_error(
            await client.call_tool("build_api_condition", {}), "invalid_arguments", "expression"
        )
        check_error(
            await client.call_tool(
                "build_api_condition", {"expression": "id > 1", "object_type_id": 99}
            ),
            "invalid_arguments",
            "99",
        )
    assert upstream(sbx) == []  # parsed locally: nothing is sent
