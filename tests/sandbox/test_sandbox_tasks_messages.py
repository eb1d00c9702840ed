"""Tasks (assign, complete with outcomes and task forms, cancel, reschedule, reopen) and messages."""

from __future__ import annotations

import httpx

from tests.sandbox.sbx_util import cond, err, ok


def task(api: httpx.Client, tid: int | str) -> dict:
    return dict(ok(api.get("/Task", params={"id": tid})))


def assign(api: httpx.Client, contact: str, message: int, **extra: object) -> str:
    ok(
        api.post(
            "/task/assign",
            json={"object_type_id": 0, "ids": [int(contact)], "message": {"id": message, **extra}},
        )
    )
    rows = ok(
        api.get(
            "/Tasks",
            params={
                "condition": cond(("contact_id", "=", contact), "AND", ("item_id", "=", message)),
                "sort": "id",
                "sortDir": "desc",
            },
        )
    )
    return str(rows[0]["id"])


def test_assign_creates_one_task_per_record(api: httpx.Client) -> None:
    a = ok(api.post("/Contacts", json={"firstname": "Tasked"}))["id"]
    b = ok(api.post("/Contacts", json={"firstname": "Tasked2"}))["id"]
    body = api.post(
        "/task/assign",
        json={
            "object_type_id": 0,
            "ids": [int(a), int(b)],
            "message": {"id": 4, "due_date": 1800000000, "task_owner": 3},
        },
    ).json()
    assert body == {"code": 0, "account_id": 204817}
    rows = ok(api.get("/Tasks", params={"condition": cond(("contact_id", "IN", [a, b]))}))
    assert len(rows) == 2
    t = rows[0]
    assert (t["status"], t["owner"], t["date_due"], t["item_id"], t["subject"]) == (
        "0",
        "3",
        "1800000000",
        "4",
        "Follow-up call",
    )
    assert t["object_type_id"] == "0" and t["object_name"] == "Contacts"
    err(
        api.post("/task/assign", json={"object_type_id": 0, "ids": [int(a)], "message": {"id": 1}}),
        400,
    )  # email
    err(
        api.post(
            "/task/assign",
            json={"object_type_id": 0, "ids": [int(a)], "message": {"id": 4, "task_owner": 99}},
        ),
        400,
    )
    err(
        api.post("/task/assign", json={"object_type_id": 0, "message": {"id": 4}}), 400
    )  # no selection
    err(api.post("/task/assign", json={"object_type_id": 0, "ids": [int(a)]}), 400)


def test_complete_with_outcome(api: httpx.Client) -> None:
    c = ok(api.post("/Contacts", json={"firstname": "Outcome"}))["id"]
    t1 = assign(api, c, 4)
    msg = err(api.post("/task/complete", json={"object_type_id": 0, "ids": [int(t1)]}), 400)
    assert "Reached" in msg  # outcome required, valid names listed
    err(api.post("/task/complete", json={"ids": [int(t1)], "data": {"outcome": ":=Maybe"}}), 400)
    assert task(api, t1)["status"] == "0"
    assert (
        "data"
        not in api.post(
            "/task/complete",
            json={"object_type_id": 0, "ids": [int(t1)], "data": {"outcome": ":=Left Voicemail"}},
        ).json()
    )
    done = task(api, t1)
    assert (
        done["status"] == "1" and done["call_outcome_id"] == "2" and int(done["date_complete"]) > 0
    )
    # plain outcome name (no ":=" prefix) is accepted too
    t2 = assign(api, c, 4)
    ok(api.post("/task/complete", json={"ids": [int(t2)], "data": {"outcome": "no answer"}}))
    assert task(api, t2)["call_outcome_id"] == "3"
    # completing again is an invalid transition naming the current status
    msg = err(
        api.post("/task/complete", json={"ids": [int(t2)], "data": {"outcome": "Reached"}}), 400
    )
    assert "1 (complete)" in msg


def test_complete_with_task_form(api: httpx.Client) -> None:
    c = ok(api.post("/Contacts", json={"firstname": "Form"}))["id"]
    t = assign(api, c, 5)
    msg = err(api.post("/task/complete", json={"ids": [int(t)], "data": {"f1549": "313"}}), 400)
    assert "f1550" in msg and "f1549" not in msg
    assert task(api, t)["status"] == "0"
    ok(
        api.post(
            "/task/complete", json={"ids": [int(t)], "data": {"f1549": "313", "f1550": "Mornings"}}
        )
    )
    assert task(api, t)["status"] == "1"
    rec = ok(api.get("/Contact", params={"id": c}))
    assert rec["f1549"] == "313" and rec["f1550"] == "Mornings"  # form values land on the contact


def test_cancel_reopen_reschedule_transitions(api: httpx.Client) -> None:
    c = ok(api.post("/Contacts", json={"firstname": "Transitions"}))["id"]
    t = assign(api, c, 6)
    ok(api.post("/task/reschedule", json={"id": int(t), "newtime": 1810000000}))
    assert task(api, t)["date_due"] == "1810000000"
    err(
        api.post("/task/reschedule", json={"id": int(t), "newtime": 1810000000000}), 400
    )  # milliseconds
    err(api.post("/task/reopen", json={"ids": [int(t)]}), 400)  # pending cannot be reopened
    ok(api.post("/task/cancel", json={"objectID": 1, "ids": [int(t)]}))
    assert task(api, t)["status"] == "2"
    msg = err(api.post("/task/cancel", json={"ids": [int(t)]}), 400)
    assert "2 (cancelled)" in msg and "0 (pending)" in msg
    err(api.post("/task/complete", json={"ids": [int(t)]}), 400)
    err(api.post("/task/reschedule", json={"id": int(t), "newtime": 1820000000}), 400)
    assert task(api, t)["date_due"] == "1810000000"
    ok(api.post("/task/reopen", json={"ids": [int(t)]}))
    assert task(api, t)["status"] == "0"
    ok(api.post("/task/complete", json={"ids": [int(t)]}))  # message 6 defines no outcomes
    ok(api.post("/task/reopen", json={"ids": [int(t)]}))
    assert task(api, t)["status"] == "0" and task(api, t)["date_complete"] == "0"
    err(api.post("/task/cancel", json={"ids": [999999]}), 404)
    err(api.post("/task/cancel", json={}), 400)


def test_put_tasks_uses_the_same_transitions(api: httpx.Client) -> None:
    c = ok(api.post("/Contacts", json={"firstname": "PutTask"}))["id"]
    t = assign(api, c, 6)
    attrs = ok(api.put("/Tasks", data={"id": t, "owner": 4, "date_due": 1830000000}))["attrs"]
    assert attrs["owner"] == "4" and attrs["date_due"] == "1830000000" and attrs["id"] == t
    ok(api.put("/Tasks", json={"id": t, "status": 2}))
    assert task(api, t)["status"] == "2"
    err(api.put("/Tasks", json={"id": t, "status": 1}), 400)  # cancelled -> complete is not allowed
    err(api.put("/Tasks", json={"id": t, "status": 7}), 400)
    assert task(api, t)["status"] == "2"


def test_seeded_tasks(ro: httpx.Client) -> None:
    assert [task(ro, i)["status"] for i in (1, 2, 3, 4, 5, 6)] == ["0", "0", "1", "2", "0", "0"]
    outcomes = ok(
        ro.get("/objects", params={"objectID": 66, "condition": cond(("item_id", "=", 4))})
    )
    assert [o["name"] for o in outcomes] == ["Reached", "Left Voicemail", "No Answer"]
    form = ok(ro.get("/Message", params={"id": 5}))
    assert form["type"] == "Task" and "f1550" in form["task_form"]


def test_messages(api: httpx.Client) -> None:
    body = api.post(
        "/message",
        data={
            "type": "email",
            "alias": "Promo",
            "subject": "Hello",
            "message_body": "<p>Hi</p>",
            "reply_to_email": "me@example.com",
        },
    ).json()
    mid = body["data"]["id"]
    assert isinstance(mid, int) and body["data"]["date"].isdigit()
    msg = ok(api.get("/Message", params={"id": mid}))
    assert msg["type"] == "e-mail" and msg["alias"] == "Promo" and msg["id"] == str(mid)
    upd = ok(api.put("/message", data={"id": mid, "type": "email", "subject": "Hello again"}))
    assert upd["id"] == str(mid) and "attrs" not in upd
    assert ok(api.get("/Message", params={"id": mid}))["subject"] == "Hello again"
    task_msg = ok(
        api.post(
            "/message",
            json={
                "type": "Task",
                "alias": "Demo call",
                "subject": "Demo",
                "outcomes": ["Booked", "Declined"],
                "task_form": ["f1550"],
            },
        )
    )["id"]
    outcomes = ok(
        api.get("/objects", params={"objectID": 66, "condition": cond(("item_id", "=", task_msg))})
    )
    assert sorted(o["name"] for o in outcomes) == ["Booked", "Declined"]
    assert ok(api.get("/Messages", params={"ids": str(task_msg)}))[0]["type"] == "Task"
    err(api.post("/message", data={"alias": "No type"}), 400)
    err(api.post("/message", data={"type": "fax", "alias": "x"}), 400)
    err(api.post("/message", data={"type": "email", "alias": "x", "reply_to_email": "nope"}), 422)
    err(
        api.post("/message", json={"type": "task", "alias": "x", "task_form": ["no_such_field"]}),
        400,
    )
    err(api.put("/message", data={"id": 999999, "type": "email"}), 404)
    err(api.put("/message", data={"type": "email"}), 400)


def test_landing_page_hosted_url(ro: httpx.Client) -> None:
    url = ok(ro.get("/landingPage/getHostedURL", params={"id": 1}))
    assert isinstance(url, str) and url.startswith("http") and url.endswith("/1001")
    err(ro.get("/landingPage/getHostedURL", params={"id": 999}), 404)
    err(ro.get("/landingPage/getHostedURL"), 400)
