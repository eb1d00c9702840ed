"""Tags by id and by name, tag subscribers, sequences/automations (subscribe) and pause/unpause."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema
import pytest

from tests.sandbox.sbx_util import cond, err, ok, spec, spec_validator
from tests.snapshots.catalog_facts import CUSTOM_TYPES

TAG_MSG = "The tag is now being processed."
SUB_MSG = "The subscription is now being processed."


def tag_rows(api: httpx.Client, object_id: str, object_type: int = 0) -> list[str]:
    rows = ok(
        api.get(
            "/objects",
            params={
                "objectID": 138,
                "condition": cond(
                    ("object_id", "=", object_id), "AND", ("object_type_id", "=", object_type)
                ),
            },
        )
    )
    return sorted(r["tag_id"] for r in rows)


def new_contact(api: httpx.Client, name: str) -> str:
    return str(ok(api.post("/Contacts", json={"firstname": name}))["id"])


def test_tags_by_id_keep_subscribers_in_sync(api: httpx.Client) -> None:
    a, b = new_contact(api, "TagA"), new_contact(api, "TagB")
    assert (
        ok(api.put("/objects/tag", data={"objectID": 0, "ids": f"{a},{b}", "add_list": "3,4"}))
        == TAG_MSG
    )
    assert ok(api.get("/Contact", params={"id": a}))["contact_cat"] == "*/*3*/*4*/*"
    assert tag_rows(api, a) == ["3", "4"]
    # JSON arrays work as well; adding an existing tag is a no-op
    ok(api.put("/objects/tag", json={"objectID": 0, "ids": [int(a)], "add_list": [4, 5]}))
    assert tag_rows(api, a) == ["3", "4", "5"]
    r = api.request(
        "DELETE", "/objects/tag", params={"objectID": 0, "ids": a, "remove_list": "3,5"}
    )
    assert ok(r) == TAG_MSG
    assert ok(api.get("/Contact", params={"id": a}))["contact_cat"] == "*/*4*/*"
    assert tag_rows(api, a) == ["4"] and tag_rows(api, b) == ["3", "4"]
    err(api.put("/objects/tag", data={"objectID": 0, "ids": a, "add_list": "9999"}), 400)
    err(
        api.put("/objects/tag", data={"objectID": 0, "ids": a, "add_list": "9"}), 400
    )  # tag of another type
    err(api.put("/objects/tag", data={"objectID": 0, "ids": a}), 400)
    err(
        api.put("/objects/tag", data={"objectID": 46, "ids": "1", "add_list": "1"}), 400
    )  # invoices have no tags
    err(api.put("/objects/tag", data={"objectID": 0, "ids": "999999", "add_list": "1"}), 404)


def test_action_without_selection_is_refused(api: httpx.Client) -> None:
    before = ok(api.get("/objects/tag", params={"objectID": 0, "tag_id": 6, "count": "true"}))[
        "count"
    ]
    err(api.put("/objects/tag", data={"objectID": 0, "add_list": "6"}), 400)
    err(api.put("/objects/tag", data={"objectID": 0, "add_list": "6", "performAll": 1}), 400)
    err(
        api.put("/objects/tag", data={"objectID": 0, "add_list": "6", "group_id": 1}), 400
    )  # needs performAll
    assert (
        ok(api.get("/objects/tag", params={"objectID": 0, "tag_id": 6, "count": "true"}))["count"]
        == before
    )
    # group + performAll acts on exactly the group members
    ok(
        api.put(
            "/objects/tag", data={"objectID": 0, "add_list": "6", "group_id": 1, "performAll": 1}
        )
    )
    tagged = {
        r["id"]
        for r in ok(
            api.get(
                "/objects/tag",
                params={
                    "objectID": 0,
                    "tag_id": 6,
                    "range": 50,
                    "condition": cond(("state", "=", "CA")),
                },
            )
        )
    }
    ca = {r["id"] for r in ok(api.get("/Contacts", params={"group_id": 1, "range": 50}))}
    assert ca and ca <= tagged


def test_tags_by_name_create_missing_tags(api: httpx.Client) -> None:
    a = new_contact(api, "ByName")
    assert (
        ok(
            api.put(
                "/objects/tagByName",
                json={"objectID": 0, "ids": [int(a)], "add_names": ["VIP", "Brand New Tag"]},
            )
        )
        == TAG_MSG
    )
    new = [
        t
        for t in ok(
            api.get("/Tags", params={"condition": cond(("tag_name", "=", "Brand New Tag"))})
        )
    ]
    assert len(new) == 1 and new[0]["object_type_id"] == "0"
    assert tag_rows(api, a) == sorted(["1", new[0]["tag_id"]])
    r = api.request(
        "DELETE",
        "/objects/tagByName",
        json={"objectID": 0, "ids": [int(a)], "remove_names": ["VIP", "Never Existed"]},
    )
    assert ok(r) == TAG_MSG
    assert tag_rows(api, a) == [new[0]["tag_id"]]
    # tags for a custom object are per type
    ok(
        api.put(
            "/objects/tagByName",
            json={"objectID": CUSTOM_TYPES["Vehicle"], "ids": [1], "add_names": ["Fleet"]},
        )
    )
    assert "11" in tag_rows(api, "1", CUSTOM_TYPES["Vehicle"])


def test_records_by_tag(api: httpx.Client) -> None:
    rows = ok(
        api.get(
            "/objects/tag",
            params={"objectID": 0, "tag_id": 1, "listFields": "contact_cat", "range": 50},
        )
    )
    assert rows and all("*/*1*/*" in r["contact_cat"] for r in rows)
    by_name = ok(api.get("/objects/tag", params={"objectID": 0, "tag_name": "VIP", "range": 50}))
    assert [r["id"] for r in by_name] == [r["id"] for r in rows]
    count = ok(api.get("/objects/tag", params={"objectID": 0, "tag_id": 1, "count": "true"}))
    assert (
        count["count"]
        == ok(
            api.get("/Contacts/getInfo", params={"condition": cond(("contact_cat", "CONTAINS", 1))})
        )["count"]
    )
    assert ok(api.get("/objects/tag", params={"objectID": 0, "tag_name": "No such tag"})) == []
    err(api.get("/objects/tag", params={"objectID": 0}), 400)


def test_subscribe_both_sub_types(api: httpx.Client) -> None:
    a = new_contact(api, "Subscriber")
    seq_before = int(ok(api.get("/objects", params={"objectID": 5, "ids": "2"}))[0]["subscribers"])
    assert (
        ok(
            api.put(
                "/objects/subscribe",
                data={"objectID": 0, "ids": a, "add_list": "2", "sub_type": "sequence"},
            )
        )
        == SUB_MSG
    )
    rec = ok(api.get("/Contact", params={"id": a}))
    assert rec["updateSequence"] == "*/*2*/*" and rec["updateCampaign"] is None
    subs = ok(
        api.get("/objects", params={"objectID": 8, "condition": cond(("contact_id", "=", a))})
    )
    assert [s["drip_id"] for s in subs] == ["2"] and subs[0]["pause"] == "0"
    assert (
        int(ok(api.get("/objects", params={"objectID": 5, "ids": "2"}))[0]["subscribers"])
        == seq_before + 1
    )
    # default sub_type is Campaign (automations, 140)
    ok(api.put("/objects/subscribe", data={"objectID": 0, "ids": a, "add_list": "3,5"}))
    assert ok(api.get("/Contact", params={"id": a}))["updateCampaign"] == "*/*3*/*5*/*"
    ok(
        api.put(
            "/objects/subscribe",
            data={"objectID": 0, "ids": a, "add_list": "1", "sub_type": "CAMPAIGN"},
        )
    )
    ok(
        api.request(
            "DELETE",
            "/objects/subscribe",
            params={"objectID": 0, "ids": a, "remove_list": "3", "sub_type": "Campaign"},
        )
    )
    assert ok(api.get("/Contact", params={"id": a}))["updateCampaign"] == "*/*5*/*1*/*"
    ok(
        api.request(
            "DELETE",
            "/objects/subscribe",
            params={"objectID": 0, "ids": a, "remove_list": "2", "sub_type": "Sequence"},
        )
    )
    assert ok(api.get("/Contact", params={"id": a}))["updateSequence"] is None
    assert (
        ok(api.get("/objects", params={"objectID": 8, "condition": cond(("contact_id", "=", a))}))
        == []
    )
    err(
        api.put(
            "/objects/subscribe",
            data={"objectID": 0, "ids": a, "add_list": "1", "sub_type": "Blast"},
        ),
        400,
    )
    err(api.put("/objects/subscribe", data={"objectID": 0, "ids": a, "add_list": "99"}), 400)
    log = ok(
        api.get(
            "/objects",
            params={"objectID": 100, "condition": cond(("object_id", "=", a)), "range": 50},
        )
    )
    assert any("Added to automation" in r["description"] for r in log)


# DELETE /objects/tag and /objects/subscribe: the SDK sends the query string, other clients a JSON
# body; API.md §1.5 says to read both (merged, the body wins).
REMOVALS = {
    "remove_tags": ("/objects/tag", {}),
    "unsubscribe": ("/objects/subscribe", {"sub_type": "Campaign"}),
}


def _as_form(values: dict[str, Any]) -> dict[str, Any]:
    return {k: ",".join(map(str, v)) if isinstance(v, list) else v for k, v in values.items()}


ENCODINGS = {
    "query": lambda values: {"params": _as_form(values)},
    "json": lambda values: {"json": values},
    "json_comma_strings": lambda values: {"json": _as_form(values)},
    "form": lambda values: {"data": _as_form(values)},
    "query_and_json": lambda values: {
        "params": {"objectID": values["objectID"]},
        "json": {k: v for k, v in values.items() if k != "objectID"},
    },
}


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_removals_read_the_query_string_or_the_body(api: httpx.Client, encoding: str) -> None:
    a = int(new_contact(api, f"Removal {encoding}"))
    ok(api.put("/objects/tag", json={"objectID": 0, "ids": [a], "add_list": [3, 4]}))
    ok(api.put("/objects/subscribe", json={"objectID": 0, "ids": [a], "add_list": [3, 5]}))
    encode = ENCODINGS[encoding]
    for path, extra in REMOVALS.values():
        values = {"objectID": 0, "ids": [a], "remove_list": [3], **extra}
        assert ok(api.request("DELETE", path, **encode(values))) in (TAG_MSG, SUB_MSG)
        missing = {k: v for k, v in values.items() if k != "remove_list"}
        assert "remove_list" in err(api.request("DELETE", path, **encode(missing)), 400)
    rec = ok(api.get("/Contact", params={"id": a}))
    assert (rec["contact_cat"], rec["updateCampaign"]) == ("*/*4*/*", "*/*5*/*")
    assert tag_rows(api, str(a)) == ["4"]


def _operation(operation_id: str) -> dict[str, Any]:
    for item in spec()["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return op
    raise AssertionError(f"no operation {operation_id}")


@pytest.mark.parametrize("operation_id", sorted(REMOVALS))
def test_spec_declares_the_json_body_of_removals(operation_id: str) -> None:
    """The JSON body clients send conforms to openapi/ontraport.yaml, and nothing forces the query."""
    op = _operation(operation_id)
    validator = spec_validator(op["requestBody"]["content"]["application/json"]["schema"])
    extra = REMOVALS[operation_id][1]
    for body in (
        {"objectID": 0, "ids": [7, 8], "remove_list": [3], **extra},
        {"objectID": 0, "ids": "7,8", "remove_list": "3,4", **extra},
    ):
        validator.validate(body)
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"objectID": 0, "ids": [7]})
    params = [
        spec()["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p
        for p in op["parameters"]
    ]
    assert {p["name"] for p in params} >= {"objectID", "remove_list", "ids"}
    assert not [p["name"] for p in params if p.get("required")]


def test_legacy_sequence_endpoint(api: httpx.Client) -> None:
    a = new_contact(api, "Legacy")
    assert (
        ok(api.put("/objects/sequence", data={"objectID": 0, "ids": a, "add_list": "1,2"}))
        == SUB_MSG
    )
    assert ok(api.get("/Contact", params={"id": a}))["updateSequence"] == "*/*1*/*2*/*"
    ok(
        api.request(
            "DELETE", "/objects/sequence", params={"objectID": 0, "ids": a, "remove_list": "1"}
        )
    )
    assert ok(api.get("/Contact", params={"id": a}))["updateSequence"] == "*/*2*/*"


def test_pause_and_unpause(api: httpx.Client) -> None:
    for object_id, rid in ((5, 1), (6, 2), (140, 2)):
        assert (
            "data"
            not in api.post("/objects/pause", data={"objectID": object_id, "ids": rid}).json()
        )
        assert (
            ok(api.get("/objects", params={"objectID": object_id, "ids": rid}))[0]["pause"] == "1"
        )
        ok(api.post("/objects/unpause", data={"objectID": object_id, "ids": rid}))
        assert (
            ok(api.get("/objects", params={"objectID": object_id, "ids": rid}))[0]["pause"] == "0"
        )
    sub = ok(api.get("/objects", params={"objectID": 8, "range": 1}))[0]
    ok(api.post("/objects/pause", data={"objectID": 8, "ids": sub["id"]}))
    assert ok(api.get("/objects", params={"objectID": 8, "ids": sub["id"]}))[0]["pause"] == "1"
    err(api.post("/objects/pause", data={"objectID": 0, "ids": 1}), 400)
    err(api.post("/objects/pause", data={"objectID": 6}), 400)
    ok(
        api.post(
            "/objects/pause",
            json={"objectID": 6, "condition": json.loads(cond(("id", "IN", [1, 3])))},
        )
    )
    assert [r["pause"] for r in ok(api.get("/Rules", params={"ids": "1,3"}))] == ["1", "1"]
