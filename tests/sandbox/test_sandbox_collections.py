"""Paging, sorting, listFields, search, count, conditions and groups."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.sandbox.sbx_util import cond, err, ok
from tests.snapshots.catalog_facts import CUSTOM_TYPES


def ids(rows: list[dict]) -> list[int]:
    return [int(r["id"]) for r in rows]


def all_contacts(ro: httpx.Client, **params: object) -> list[dict]:
    out: list[dict] = []
    for start in range(0, 1000, 50):
        page = ok(ro.get("/Contacts", params={**params, "start": start, "range": 50}))
        out.extend(page)
        if len(page) < 50:
            break
    return out


def test_paging_and_range_cap(ro: httpx.Client) -> None:
    assert len(ok(ro.get("/objects", params={"objectID": 0}))) == 50
    assert len(ok(ro.get("/objects", params={"objectID": 0, "range": 500}))) == 50
    page2 = ok(ro.get("/objects", params={"objectID": 0, "start": 50, "range": 10}))
    assert ids(page2) == list(range(51, 61))
    err(ro.get("/objects", params={"objectID": 0, "range": 0}), 400)
    err(ro.get("/objects", params={"objectID": 0, "start": -1}), 400)
    assert ok(ro.get("/objects", params={"objectID": 0, "start": 100000})) == []


def test_sort_numeric_aware_and_direction(ro: httpx.Client) -> None:
    rows = ok(
        ro.get(
            "/Contacts",
            params={"sort": "grade", "sortDir": "desc", "listFields": "grade", "range": 50},
        )
    )
    grades = [int(r["grade"]) for r in rows]
    assert grades == sorted(grades, reverse=True) and grades[0] >= 90
    by_name = ok(
        ro.get("/Contacts", params={"sort": "lastname", "listFields": "lastname", "range": 50})
    )
    names = [r["lastname"].lower() for r in by_name]
    assert names == sorted(names)
    recent = ok(
        ro.get(
            "/Contacts", params={"sort": "dlm", "sortDir": "desc", "listFields": "dlm", "range": 5}
        )
    )
    dlms = [int(r["dlm"]) for r in recent]
    assert dlms == sorted(dlms, reverse=True)
    err(ro.get("/Contacts", params={"sort": "no_such_field"}), 400)
    err(ro.get("/Contacts", params={"sort": "grade", "sortDir": "sideways"}), 400)


def test_list_fields_always_include_id(ro: httpx.Client) -> None:
    rows = ok(
        ro.get("/objects", params={"objectID": 0, "listFields": "firstname,email", "range": 2})
    )
    assert set(rows[0]) == {"id", "firstname", "email"}
    rows = ok(
        ro.get(
            "/objects", params={"objectID": 0, "listFields": json.dumps(["lastname"]), "range": 2}
        )
    )
    assert set(rows[0]) == {"id", "lastname"}
    tags = ok(ro.get("/Tags", params={"listFields": "tag_name", "range": 2}))
    assert set(tags[0]) == {"tag_id", "tag_name"}


def test_search_and_search_notes(ro: httpx.Client) -> None:
    hits = ok(ro.get("/Contacts", params={"search": "ada.quill"}))
    assert ids(hits) == [1]
    assert 1 in ids(ok(ro.get("/Contacts", params={"search": "Ada Quill"})))
    assert ok(ro.get("/Contacts", params={"search": "renewal"})) == []
    assert ids(ok(ro.get("/Contacts", params={"search": "renewal", "searchNotes": "true"}))) == [3]


def test_count_and_ids(ro: httpx.Client) -> None:
    body = ro.get("/Contacts", params={"ids": "1,2,3", "count": "true"}).json()
    assert ids(body["data"]) == [1, 2, 3] and body["count"] == "3"
    assert ids(ok(ro.get("/Contacts", params={"ids": json.dumps([5, 4])}))) == [4, 5]


@pytest.mark.parametrize(
    ("condition", "check"),
    [
        (cond(("state", "=", "CA")), lambda r: r["state"] == "CA"),
        (cond(("state", "<>", "CA")), lambda r: r["state"] != "CA"),
        (cond(("grade", ">", 90)), lambda r: int(r["grade"]) > 90),
        (cond(("grade", ">=", "90")), lambda r: int(r["grade"]) >= 90),
        (cond(("grade", "<", 5)), lambda r: int(r["grade"]) < 5),
        (cond(("grade", "<=", 5)), lambda r: int(r["grade"]) <= 5),
        (cond(("id", "IN", [3, 12, 15])), lambda r: r["id"] in ("3", "12", "15")),
        (cond(("state", "NOT IN", ["CA", "TX"])), lambda r: r["state"] not in ("CA", "TX")),
        (
            cond(("email", "LIKE", "%@example.net")),
            lambda r: (r["email"] or "").endswith("@example.net"),
        ),
        (cond(("contact_cat", "CONTAINS", 1)), lambda r: "*/*1*/*" in (r["contact_cat"] or "")),
        (
            cond(("contact_cat", "DOES NOT CONTAIN", 1)),
            lambda r: "*/*1*/*" not in (r["contact_cat"] or ""),
        ),
        (cond(("email", "IS", "NULL")), lambda r: r["email"] is None),
        (cond(("date", ">", 1750000000)), lambda r: int(r["date"]) > 1750000000),
    ],
)
def test_condition_operators(ro: httpx.Client, condition: str, check) -> None:  # type: ignore[no-untyped-def]
    everyone = {r["id"]: r for r in all_contacts(ro)}
    matched = all_contacts(ro, condition=condition)
    expected = {i for i, r in everyone.items() if check(r)}
    assert expected, "the seed should contain matches"
    assert {r["id"] for r in matched} == expected


def test_and_binds_tighter_than_or(ro: httpx.Client) -> None:
    c = cond(("id", "=", 1), "OR", ("state", "=", "TX"), "AND", ("grade", ">", 50))
    everyone = all_contacts(ro)
    expected = {
        r["id"] for r in everyone if r["id"] == "1" or (r["state"] == "TX" and int(r["grade"]) > 50)
    }
    assert {r["id"] for r in all_contacts(ro, condition=c)} == expected
    nested = json.dumps(
        [
            [json.loads(cond(("id", "=", 1)))[0], "OR", json.loads(cond(("state", "=", "TX")))[0]],
            "AND",
            json.loads(cond(("grade", ">", 50)))[0],
        ]
    )
    expected2 = {
        r["id"] for r in everyone if (r["id"] == "1" or r["state"] == "TX") and int(r["grade"]) > 50
    }
    assert {r["id"] for r in all_contacts(ro, condition=nested)} == expected2


@pytest.mark.parametrize(
    "bad",
    [
        "not json",
        "{",
        json.dumps([{"field": {"field": "nope"}, "op": "=", "value": {"value": 1}}]),
        json.dumps([{"field": {"field": "id"}, "op": "~", "value": {"value": 1}}]),
        json.dumps([{"field": {"field": "id"}, "op": "=", "value": {"value": 1}}, "AND"]),
        json.dumps(["OR"]),
        json.dumps([1, 2]),
        json.dumps("x"),
        json.dumps([{"field": {"field": "id"}, "op": "IN", "value": {"value": 1}}]),
    ],
)
def test_malformed_conditions_are_400(ro: httpx.Client, bad: str) -> None:
    err(ro.get("/Contacts", params={"condition": bad}), 400)


def test_group_id(ro: httpx.Client) -> None:
    members = all_contacts(ro, group_id=1)
    assert members and all(r["state"] == "CA" for r in members)
    ca = all_contacts(ro, condition=cond(("state", "=", "CA")))
    assert {r["id"] for r in members} == {r["id"] for r in ca}
    group = ok(ro.get("/Group", params={"id": 1}))
    assert json.loads(group["condition"])[0]["field"]["field"] == "state"
    err(ro.get("/Contacts", params={"group_id": 4}), 400)  # group 4 is a group of students
    err(ro.get("/Contacts", params={"group_id": 999}), 404)
    students = ok(ro.get("/objects", params={"objectID": CUSTOM_TYPES["Student"], "group_id": 4}))
    assert students and all(s["f1602"] == "602" for s in students)


def test_get_info_counts_and_sums(ro: httpx.Client) -> None:
    info = ok(ro.get("/Contacts/getInfo"))
    assert info["count"] == "200" and isinstance(info["listFields"], list)
    ca = ok(
        ro.get("/objects/getInfo", params={"objectID": 0, "condition": cond(("state", "=", "CA"))})
    )
    assert int(ca["count"]) == len(all_contacts(ro, condition=cond(("state", "=", "CA"))))
    tinfo = ok(ro.get("/Transactions/getInfo", params={"condition": cond(("id", "IN", [1, 2]))}))
    one, two = (
        ok(ro.get("/Transaction", params={"id": 1})),
        ok(ro.get("/Transaction", params={"id": 2})),
    )
    assert tinfo["count"] == "2"
    assert tinfo["sums"]["total"] == pytest.approx(float(one["total"]) + float(two["total"]))
    assert "sums" not in info
