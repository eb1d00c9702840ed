"""The task tools end to end: assign_task, complete_task, cancel_task, reschedule_task and
get_task_form_requirements (seeded task messages: 4 with outcomes, 5 with a form, 6 plain)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.server_thread import connect
from tests.tools.tools_util import (
    check_error,
    check_output,
    get_record,
    make_contact,
    make_task,
    upstream,
    writes,
)

pytestmark = pytest.mark.anyio

WITH_OUTCOMES, WITH_FORM, PLAIN = 4, 5, 6


def status(api, task_id: int) -> str:
    return str(get_record(api, 1, task_id)["status"])


# ------------------------------------------------------------------------------ complete_task
async def test_complete_with_outcome_and_note(mcp_server, creds, sandbox, api):
    contact = make_contact(api)
    task = make_task(api, contact, WITH_OUTCOMES)
    sandbox.clear_requests()
    async with connect(mcp_server.url, creds) as client:
        out = check_output(
            "complete_task",
            await client.call_tool(
                "complete_task",
                {"ids": [task], "outcome": "left voicemail", "note": "Will call back Tuesday"},
            ),
        )
    assert out["ids"] == [task] and out["status"] == "completed"
    assert out["outcome"] == {"id": 2, "name": "Left Voicemail"}
    assert "Left Voicemail" in out["message"]
    calls = upstream(sandbox)
    assert [(c["method"], c["path"], c["query"].get("objectID")) for c in calls] == [
        ("GET", "/objects", "1"),  # the task, to check its status
        ("GET", "/objects", "7"),  # its task message (form)
        ("GET", "/objects", "66"),  # the message's outcomes
        ("POST", "/task/complete", None),
        ("POST", "/objects", None),  # the note
    ]
    assert calls[0]["query"]["ids"] == str(task)
    assert calls[1]["query"]["ids"] == str(WITH_OUTCOMES)
    assert json.loads(calls[2]["query"]["condition"]) == [
        {"field": {"field": "item_id"}, "op": "IN", "value": {"list": [{"value": WITH_OUTCOMES}]}}
    ]
    assert calls[3]["body"] == {
        "object_type_id": 0,
        "ids": [task],
        "data": {"outcome": ":=Left Voicemail"},
    }
    assert calls[4]["body"]["objectID"] == 12 and calls[4]["body"]["contact_id"] == contact
    assert "Will call back Tuesday" in calls[4]["body"]["data"]
    record = get_record(api, 1, task)
    assert record["status"] == "1" and record["call_outcome_id"] == "2"
    note = get_record(api, 12, out["note_ids"][0])
    assert note["contact_id"] == str(contact) and "Will call back Tuesday" in note["data"]


async def test_complete_by_outcome_id_and_plain_task(mcp_server, creds, sandbox, api):
    contact = make_contact(api)
    t1 = make_task(api, contact, WITH_OUTCOMES)
    t2 = make_task(api, contact, PLAIN)
    async with connect(mcp_server.url, creds) as client:
        sandbox.clear_requests()
        check_output(
            "complete_task", await client.call_tool("complete_task", {"ids": [t1], "outcome": 1})
        )
        (post,) = writes(sandbox)
        assert post["body"]["data"] == {"outcome": ":=Reached"}
        sandbox.clear_requests()
        out = check_output("complete_task", await client.call_tool("complete_task", {"ids": [t2]}))
        assert "outcome" not in out
        (post,) = writes(sandbox)
        assert post["body"] == {"object_type_id": 0, "ids": [t2]}
    assert status(api, t1) == "1" and status(api, t2) == "1"


async def test_complete_explains_missing_form_fields(mcp_server, creds, sandbox, api):
    contact = make_contact(api)
    task = make_task(api, contact, WITH_FORM)
    async with connect(mcp_server.url, creds) as client:
        sandbox.clear_requests()
        err = check_error(
            await client.call_tool("complete_task", {"ids": [task]}),
            "invalid_arguments",
            "f1549 (Lead Type)",
            "f1550 (Preferred Contact Time)",
        )
        assert [f["name"] for f in err["details"]["missing_fields"]] == ["f1549", "f1550"]
        err = check_error(
            await client.call_tool("complete_task", {"ids": [task], "data": {"f1549": "313"}}),
            "invalid_arguments",
            "f1550",
        )
        assert "f1549" not in err["message"]
        check_error(
            await client.call_tool(
                "complete_task",
                {"ids": [task], "data": {"Lead Type": "Carrier pigeon", "f1550": "x"}},
            ),
            "invalid_arguments",
            "Referral",
        )
        check_error(
            await client.call_tool(
                "complete_task", {"ids": [task], "data": {"f1549": "313", "f1550": "x", "shoe": 1}}
            ),
            "invalid_arguments",
            "shoe",
        )
        assert writes(sandbox) == []
        assert status(api, task) == "0"
        # by label: the option label becomes its id, the alias becomes the field name
        out = check_output(
            "complete_task",
            await client.call_tool(
                "complete_task",
                {
                    "ids": [task],
                    "data": {"Lead Type": "referral", "Preferred Contact Time": "Morning"},
                },
            ),
        )
    assert "f1549" in out["message"] or "Lead Type" in out["message"]
    (post,) = writes(sandbox)
    assert post["body"] == {
        "object_type_id": 0,
        "ids": [task],
        "data": {"f1549": "313", "f1550": "Morning"},
    }
    assert status(api, task) == "1"
    contact_after = get_record(api, 0, contact)
    assert contact_after["f1549"] == "313" and contact_after["f1550"] == "Morning"


async def test_complete_refusals(mcp_server, creds, sandbox, api):
    contact = make_contact(api)
    open_task = make_task(api, contact, WITH_OUTCOMES)
    plain = make_task(api, contact, PLAIN)
    done = make_task(api, contact, PLAIN)
    api.post("/task/complete", json={"object_type_id": 0, "ids": [done]})
    async with connect(mcp_server.url, creds) as client:
        sandbox.clear_requests()
        err = check_error(
            await client.call_tool("complete_task", {"ids": [open_task]}),
            "invalid_arguments",
            "needs an outcome",
            "'Reached'",
            "'Left Voicemail'",
            "'No Answer'",
        )
        assert err["details"]["choices"] == ["Reached", "Left Voicemail", "No Answer"]
        check_error(
            await client.call_tool("complete_task", {"ids": [open_task], "outcome": "sold"}),
            "invalid_arguments",
            "'sold'",
            "Left Voicemail",
        )
        check_error(
            await client.call_tool("complete_task", {"ids": [plain], "outcome": "Reached"}),
            "invalid_arguments",
            "no outcomes",
        )
        err = check_error(
            await client.call_tool("complete_task", {"ids": [done, plain]}),
            "refused",
            f"task {done}",
            "completed",
        )
        assert err["details"]["pending_ids"] == [plain]
        assert err["details"]["tasks"] == [{"id": done, "status": "completed"}]
        err = check_error(
            await client.call_tool("complete_task", {"ids": [plain, 99999991]}),
            "not_found",
            "99999991",
        )
        check_error(await client.call_tool("complete_task", {"ids": []}), "invalid_arguments")
        check_error(
            await client.call_tool("complete_task", {"ids": [plain], "outcome": 0}),
            "invalid_arguments",
        )
        check_error(
            await client.call_tool("complete_task", {"ids": [plain], "data": {}}),
            "invalid_arguments",
        )
        check_error(
            await client.call_tool("complete_task", {"ids": [plain], "when": "now"}),
            "invalid_arguments",
            "when",
        )
        assert writes(sandbox) == []
    assert status(api, open_task) == "0" and status(api, plain) == "0"


# -------------------------------------------------------------------------------- cancel_task
async def test_cancel(mcp_server, creds, sandbox, api):
    contact = make_contact(api)
    t1, t2 = make_task(api, contact), make_task(api, contact)
    async with connect(mcp_server.url, creds) as client:
        sandbox.clear_requests()
        out = check_output("cancel_task", await client.call_tool("cancel_task", {"ids": [t1, t2]}))
        assert out["ids"] == [t1, t2] and out["status"] == "cancelled"
        calls = upstream(sandbox)
        assert [(c["method"], c["path"]) for c in calls] == [
            ("GET", "/objects"),
            ("POST", "/task/cancel"),
        ]
        assert calls[0]["query"] == {
            "objectID": "1",
            "start": "0",
            "range": "50",
            "ids": f"{t1},{t2}",
        }
        assert calls[1]["body"] == {"objectID": 0, "ids": [t1, t2]}
        assert status(api, t1) == "2" and status(api, t2) == "2"

        t3 = make_task(api, contact)
        sandbox.clear_requests()
        err = check_error(
            await client.call_tool("cancel_task", {"ids": [t1, t3]}),
            "refused",
            f"task {t1}",
            "cancelled",
            str(t3),
        )
        assert err["details"]["pending_ids"] == [t3]
        check_error(
            await client.call_tool("cancel_task", {"ids": [88888881]}), "not_found", "88888881"
        )
        check_error(await client.call_tool("cancel_task", {"ids": "1,2"}), "invalid_arguments")
        check_error(await client.call_tool("cancel_task", {}), "invalid_arguments", "ids")
        assert writes(sandbox) == []
    assert status(api, t3) == "0"


# ---------------------------------------------------------------------------- reschedule_task
async def test_reschedule(mcp_server, creds, sandbox, api):
    contact = make_contact(api)
    task = make_task(api, contact)
    when = "2031-05-09T09:00:00-07:00"
    epoch = int(datetime(2031, 5, 9, 16, 0, tzinfo=UTC).timestamp())
    async with connect(mcp_server.url, creds) as client:
        sandbox.clear_requests()
        out = check_output(
            "reschedule_task",
            await client.call_tool("reschedule_task", {"id": task, "due_date": when}),
        )
        assert out == {**out, "id": task, "date_due": epoch, "date_due_iso": "2031-05-09T16:00:00Z"}
        calls = upstream(sandbox)
        assert [(c["method"], c["path"]) for c in calls] == [
            ("GET", "/Task"),
            ("POST", "/task/reschedule"),
        ]
        assert calls[0]["query"] == {"id": str(task)}
        assert calls[1]["body"] == {"id": task, "newtime": epoch}
        assert get_record(api, 1, task)["date_due"] == str(epoch)

        sandbox.clear_requests()
        out = check_output(
            "reschedule_task",
            await client.call_tool("reschedule_task", {"id": task, "due_date": epoch + 3600}),
        )
        assert out["date_due"] == epoch + 3600
        (post,) = writes(sandbox)
        assert post["body"] == {"id": task, "newtime": epoch + 3600}
        out = check_output(
            "reschedule_task",
            await client.call_tool("reschedule_task", {"id": task, "due_date": "2032-01-02"}),
        )
        assert out["date_due_iso"] == "2032-01-02T00:00:00Z"


async def test_reschedule_refusals(mcp_server, creds, sandbox, api):
    contact = make_contact(api)
    task = make_task(api, contact)
    api.post("/task/cancel", json={"objectID": 0, "ids": [task]})
    async with connect(mcp_server.url, creds) as client:
        sandbox.clear_requests()
        check_error(
            await client.call_tool("reschedule_task", {"id": task, "due_date": "2031-01-01"}),
            "refused",
            "cancelled",
        )
        check_error(
            await client.call_tool("reschedule_task", {"id": 99999992, "due_date": "2031-01-01"}),
            "not_found",
            "99999992",
        )
        check_error(
            await client.call_tool("reschedule_task", {"id": task, "due_date": 1_900_000_000_000}),
            "invalid_arguments",
            "milliseconds",
        )
        check_error(
            await client.call_tool("reschedule_task", {"id": task, "due_date": "next tuesday"}),
            "invalid_arguments",
            "due_date",
        )
        check_error(
            await client.call_tool("reschedule_task", {"id": task, "due_date": "2031-02-30"}),
            "invalid_arguments",
            "due_date",
        )
        check_error(
            await client.call_tool("reschedule_task", {"id": task}), "invalid_arguments", "due_date"
        )
        assert writes(sandbox) == []


# -------------------------------------------------------------------------------- assign_task
async def test_assign(mcp_server, creds, sandbox, api):
    a, b = make_contact(api), make_contact(api)
    due = "2031-05-02T17:00:00Z"
    epoch = int(datetime(2031, 5, 2, 17, 0, tzinfo=UTC).timestamp())
    sandbox.clear_requests()
    async with connect(mcp_server.url, creds) as client:
        out = check_output(
            "assign_task",
            await client.call_tool(
                "assign_task",
                {"message_id": WITH_OUTCOMES, "ids": [a, b], "owner_id": 3, "due_date": due},
            ),
        )
    assert (
        out["object_type_id"] == 0 and out["ids"] == [a, b] and out["message_id"] == WITH_OUTCOMES
    )
    assert len(out["task_ids"]) == 2 and out["date_due_iso"] == "2031-05-02T17:00:00Z"
    (post,) = writes(sandbox)
    assert post["path"] == "/task/assign"
    assert post["body"] == {
        "object_type_id": 0,
        "ids": [a, b],
        "message": {"id": WITH_OUTCOMES, "due_date": epoch, "task_owner": 3},
    }
    reads = [(c["method"], c["path"]) for c in upstream(sandbox) if c["method"] == "GET"]
    assert reads[0] == ("GET", "/Message")
    for task_id, contact in zip(out["task_ids"], [a, b], strict=True):
        task = get_record(api, 1, task_id)
        assert task["contact_id"] == str(contact) and task["owner"] == "3"
        assert task["date_due"] == str(epoch) and task["item_id"] == str(WITH_OUTCOMES)


async def test_assign_refusals(mcp_server, creds, sandbox, api):
    contact = make_contact(api)
    async with connect(mcp_server.url, creds) as client:
        sandbox.clear_requests()
        check_error(
            await client.call_tool("assign_task", {"message_id": 1, "ids": [contact]}),
            "invalid_arguments",
            "not a task message",
        )
        check_error(
            await client.call_tool("assign_task", {"message_id": 9999993, "ids": [contact]}),
            "not_found",
            "9999993",
        )
        check_error(
            await client.call_tool("assign_task", {"message_id": PLAIN, "ids": [contact, 9999994]}),
            "not_found",
            "9999994",
        )
        check_error(
            await client.call_tool(
                "assign_task", {"message_id": PLAIN, "ids": [contact], "owner_id": 999}
            ),
            "not_found",
            "user",
        )
        check_error(
            await client.call_tool(
                "assign_task", {"message_id": PLAIN, "ids": [contact], "due_date": 99_999_999_999}
            ),
            "invalid_arguments",
            "milliseconds",
        )
        check_error(
            await client.call_tool(
                "assign_task", {"message_id": PLAIN, "ids": [contact], "object_type_id": 4242}
            ),
            "invalid_arguments",
            "4242",
        )
        check_error(
            await client.call_tool("assign_task", {"message_id": "four", "ids": [contact]}),
            "invalid_arguments",
            "message_id",
        )
        check_error(
            await client.call_tool("assign_task", {"ids": [contact]}),
            "invalid_arguments",
            "message_id",
        )
        assert writes(sandbox) == []


# ----------------------------------------------------------------- get_task_form_requirements
async def test_form_requirements(mcp_server, creds, sandbox, api):
    contact = make_contact(api)
    form_task = make_task(api, contact, WITH_FORM)
    outcome_task = make_task(api, contact, WITH_OUTCOMES)
    async with connect(mcp_server.url, creds) as client:
        sandbox.clear_requests()
        out = check_output(
            "get_task_form_requirements",
            await client.call_tool("get_task_form_requirements", {"id": form_task}),
        )
        assert out["task_id"] == form_task and out["status"] == "open"
        assert out["message_id"] == WITH_FORM and out["outcomes"] == []
        assert [(f["name"], f["alias"], f["type"]) for f in out["required_fields"]] == [
            ("f1549", "Lead Type", "drop"),
            ("f1550", "Preferred Contact Time", "text"),
        ]
        assert out["required_fields"][0]["options"]["313"] == "Referral"
        assert "f1549" in out["notes"]
        calls = upstream(sandbox)
        assert [(c["method"], c["path"], c["query"].get("objectID")) for c in calls] == [
            ("GET", "/Task", None),
            ("GET", "/objects", "7"),
            ("GET", "/objects", "66"),
        ]
        assert calls[0]["query"] == {"id": str(form_task)}
        assert writes(sandbox) == []

        out = check_output(
            "get_task_form_requirements",
            await client.call_tool("get_task_form_requirements", {"id": outcome_task}),
        )
        assert [o["name"] for o in out["outcomes"]] == ["Reached", "Left Voicemail", "No Answer"]
        assert [o["id"] for o in out["outcomes"]] == [1, 2, 3]
        assert out["required_fields"] == []

        api.post("/task/cancel", json={"objectID": 0, "ids": [outcome_task]})
        out = check_output(
            "get_task_form_requirements",
            await client.call_tool("get_task_form_requirements", {"id": outcome_task}),
        )
        assert out["status"] == "cancelled" and "cancelled" in out["notes"]

        check_error(
            await client.call_tool("get_task_form_requirements", {"id": 99999995}),
            "not_found",
            "99999995",
        )
        check_error(
            await client.call_tool("get_task_form_requirements", {"id": "x"}), "invalid_arguments"
        )
        check_error(
            await client.call_tool("get_task_form_requirements", {}), "invalid_arguments", "id"
        )
