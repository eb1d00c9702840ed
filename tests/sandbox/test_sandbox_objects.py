"""Generic objects API: create/update/delete, saveorupdate, getByEmail, meta and the field editor."""

from __future__ import annotations

import json

import httpx

from tests.sandbox.sbx_util import cond, err, ok
from tests.snapshots.catalog_facts import CUSTOM_TYPES

STUDENT, PROPERTY, VEHICLE = (CUSTOM_TYPES[n] for n in ("Student", "Property", "Vehicle"))


def test_create_returns_flat_record_and_update_returns_attrs(api: httpx.Client) -> None:
    created = ok(
        api.post(
            "/objects",
            json={
                "objectID": 0,
                "firstname": "Lena",
                "lastname": "Park",
                "email": "lena.park@example.com",
                "unknown_field": "ignored",
            },
        )
    )
    assert created["firstname"] == "Lena" and created["use_utm_names"] == "false"
    assert created["owner"] == "1" and created["id"].isdigit() and "unknown_field" not in created
    cid = created["id"]
    attrs = ok(
        api.put(
            "/objects", json={"objectID": 0, "id": cid, "firstname": "Lena M.", "lastname": "Park"}
        )
    )["attrs"]
    assert (
        set(attrs) == {"firstname", "dlm", "id"}
        and attrs["firstname"] == "Lena M."
        and attrs["id"] == cid
    )
    # form encoding works on the named alias too
    attrs = ok(api.put("/Contacts", data={"id": cid, "city": "Austin"}))["attrs"]
    assert attrs["city"] == "Austin"
    assert ok(api.get("/Contact", params={"id": cid}))["city"] == "Austin"
    # unique_id selects the record as well
    uid = ok(api.get("/Contact", params={"id": cid}))["unique_id"]
    attrs = ok(api.put("/objects", json={"objectID": 0, "unique_id": uid, "title": "CTO"}))["attrs"]
    assert attrs["id"] == cid and attrs["title"] == "CTO"


def test_invalid_email_is_422_and_bad_types_400(api: httpx.Client) -> None:
    err(api.post("/Contacts", data={"email": "not-an-email"}), 422)
    err(api.put("/Contacts", data={"id": 1, "email": "a@b"}), 422)
    err(api.put("/Contacts", json={"id": 1, "grade": "lots"}), 400)
    err(api.put("/Contacts", json={"id": 1, "firstname": {"nested": 1}}), 400)
    err(api.put("/Contacts", json={"id": "x", "firstname": "A"}), 400)
    err(api.put("/Contacts", json={"id": 999999, "firstname": "A"}), 404)
    err(api.put("/Contacts", json={"firstname": "A"}), 400)
    err(
        api.post("/objects", json={"objectID": 12, "data": "note without contact"}), 400
    )  # required contact_id
    assert ok(api.get("/Contact", params={"id": 1}))["email"] == "ada.quill@example.com"


def test_access_rules_per_type(api: httpx.Client) -> None:
    err(api.post("/objects", json={"objectID": 46, "total": "1.00"}), 400)
    err(api.delete("/object", params={"objectID": 45, "id": 1}), 400)
    err(api.put("/objects", json={"objectID": 17, "id": 1, "name": "x"}), 400)


def test_save_or_update_merges_on_email(api: httpx.Client) -> None:
    created = ok(
        api.post(
            "/Contacts/saveorupdate", data={"email": "merge.me@example.com", "firstname": "Mia"}
        )
    )
    assert "attrs" not in created and created["email"] == "merge.me@example.com"
    merged = ok(
        api.post(
            "/objects/saveorupdate",
            json={
                "objectID": 0,
                "email": "MERGE.me@example.com",
                "firstname": "Mia",
                "lastname": "Stone",
            },
        )
    )
    assert merged["attrs"]["id"] == created["id"] and merged["attrs"]["lastname"] == "Stone"
    assert "firstname" not in merged["attrs"]
    # ignore_blanks: empty strings do not overwrite
    merged = ok(
        api.post(
            "/objects/saveorupdate",
            json={
                "objectID": 0,
                "email": "merge.me@example.com",
                "lastname": "",
                "city": "Reno",
                "ignore_blanks": True,
            },
        )
    )
    rec = ok(api.get("/Contact", params={"id": created["id"]}))
    assert rec["lastname"] == "Stone" and rec["city"] == "Reno"
    ok(
        api.post(
            "/objects/saveorupdate",
            json={"objectID": 0, "email": "merge.me@example.com", "lastname": ""},
        )
    )
    assert ok(api.get("/Contact", params={"id": created["id"]}))["lastname"] == ""
    # unique_id takes precedence over email
    uid7 = ok(api.get("/Contact", params={"id": 7}))["unique_id"]
    by_uid = ok(
        api.post(
            "/objects/saveorupdate",
            json={
                "objectID": 0,
                "unique_id": uid7,
                "email": "merge.me@example.com",
                "title": "Chief",
            },
        )
    )
    assert by_uid["attrs"]["id"] == "7" and by_uid["attrs"]["email"] == "merge.me@example.com"
    err(api.post("/Contacts/saveorupdate", data={"email": "bad@@example.com"}), 422)


def test_get_by_email(api: httpx.Client) -> None:
    assert ok(
        api.get("/object/getByEmail", params={"objectID": 0, "email": "ada.quill@example.com"})
    ) == {"id": "1"}
    assert ok(
        api.get(
            "/object/getByEmail", params={"objectID": 0, "email": "shared@example.com", "all": 1}
        )
    ) == {"ids": ["4", "5"]}
    assert ok(
        api.get(
            "/object/getByEmail", params={"objectID": 0, "email": "shared@example.com", "all": 0}
        )
    ) == {"id": "4"}
    err(api.get("/object/getByEmail", params={"objectID": 0, "email": "nobody@example.com"}), 404)
    err(api.get("/object/getByEmail", params={"objectID": 0, "email": "not an email"}), 404)
    student = ok(api.get("/objects", params={"objectID": STUDENT, "range": 1}))[0]
    assert ok(
        api.get("/object/getByEmail", params={"objectID": STUDENT, "email": student["f1607"]})
    ) == {"id": student["id"]}
    err(api.get("/object/getByEmail", params={"objectID": 14, "email": "a@example.com"}), 400)


def test_bulk_delete_is_truthful(api: httpx.Client) -> None:
    made = [
        ok(api.post("/objects", json={"objectID": PROPERTY, "f1620": f"Bulk {i}", "f1622": "622"}))[
            "id"
        ]
        for i in range(3)
    ]
    assert (
        ok(api.delete("/objects", params={"objectID": PROPERTY, "ids": ",".join(made[:2])}))
        == "Deleted"
    )
    remaining = {r["id"] for r in ok(api.get("/objects", params={"objectID": PROPERTY}))}
    assert made[2] in remaining and not set(made[:2]) & remaining
    assert ok(api.delete("/objects", params={"objectID": PROPERTY, "ids": "999999"})) == "Deleted"
    # DELETE with a JSON body (merged with the query string)
    r = api.request(
        "DELETE",
        "/objects",
        params={"objectID": PROPERTY},
        json={"condition": cond(("f1620", "LIKE", "Bulk%"))},
    )
    assert ok(r) == "Deleted"
    assert made[2] not in {r["id"] for r in ok(api.get("/objects", params={"objectID": PROPERTY}))}
    # no criteria at all: really everything of that type
    assert ok(api.delete("/objects", params={"objectID": PROPERTY})) == "Deleted"
    assert ok(api.get("/objects/getInfo", params={"objectID": PROPERTY}))["count"] == "0"


def test_delete_contact_removes_memberships(api: httpx.Client) -> None:
    cid = ok(
        api.post(
            "/Contacts",
            json={"firstname": "Gone", "contact_cat": "*/*1*/*", "updateSequence": "*/*2*/*"},
        )
    )["id"]
    subs = ok(
        api.get(
            "/objects",
            params={
                "objectID": 138,
                "condition": cond(("object_id", "=", cid), "AND", ("object_type_id", "=", 0)),
            },
        )
    )
    assert [s["tag_id"] for s in subs] == ["1"]
    assert ok(
        api.get("/objects", params={"objectID": 8, "condition": cond(("contact_id", "=", cid))})
    )
    ok(api.delete("/Contact", params={"id": cid}))
    assert (
        ok(
            api.get(
                "/objects",
                params={
                    "objectID": 138,
                    "condition": cond(("object_id", "=", cid), "AND", ("object_type_id", "=", 0)),
                },
            )
        )
        == []
    )
    assert (
        ok(api.get("/objects", params={"objectID": 8, "condition": cond(("contact_id", "=", cid))}))
        == []
    )


def test_meta_formats_and_filters(api: httpx.Client) -> None:
    by_id = ok(api.get("/objects/meta"))
    assert by_id["0"]["name"] == "Contact" and str(VEHICLE) in by_id and "2" not in by_id
    assert by_id["0"]["fields"]["f1548"]["options"]["301"] == "Gardening"
    assert by_id["0"]["fields"]["f1612"]["parent_object"] == str(VEHICLE)
    assert list(ok(api.get("/objects/meta", params={"objectID": 46, "format": "byId"}))) == ["46"]
    by_name = ok(api.get("/objects/meta", params={"format": "byName"}))
    assert by_name["Invoice"]["fields"]["total"]["type"] == "price"
    assert list(ok(api.get("/Transactions/meta"))) == ["46"]
    err(api.get("/objects/meta", params={"format": "weird"}), 400)
    err(api.get("/objects/meta", params={"objectID": 4242}), 400)


def test_field_editor_changes_show_in_meta(api: httpx.Client) -> None:
    sections = ok(api.get("/objects/fieldeditor", params={"objectID": 0}))
    assert any(s["name"] == "Custom Fields" for s in sections.values())
    saved = ok(
        api.post(
            "/objects/fieldeditor",
            json={
                "objectID": 0,
                "name": "Loyalty",
                "description": "Loyalty program",
                "fields": [
                    [
                        {
                            "alias": "Loyalty Tier",
                            "type": "drop",
                            "required": 0,
                            "unique": 0,
                            "options": {"add": ["Bronze", "Silver", "Gold"]},
                        }
                    ],
                    [{"alias": "Points", "type": "numeric"}],
                ],
            },
        )
    )
    assert sorted(saved["success"].values()) == ["Loyalty Tier", "Points"] and saved["error"] == []
    tier = next(k for k, v in saved["success"].items() if v == "Loyalty Tier")
    points = next(k for k, v in saved["success"].items() if v == "Points")
    meta = ok(api.get("/objects/meta", params={"objectID": 0}))["0"]["fields"]
    assert meta[tier]["type"] == "drop" and sorted(meta[tier]["options"].values()) == [
        "Bronze",
        "Gold",
        "Silver",
    ]
    gold = next(k for k, v in meta[tier]["options"].items() if v == "Gold")
    ok(api.put("/Contacts", json={"id": 2, tier: gold, points: 120}))
    assert ok(api.get("/Contact", params={"id": 2}))[points] == "120"
    err(api.put("/Contacts", json={"id": 2, tier: "12345"}), 400)  # not an option id
    field = ok(api.get("/objects/fieldeditor", params={"objectID": 0, "field": tier}))
    assert field["field"] == tier and isinstance(field["required"], int)
    upd = ok(
        api.put(
            "/objects/fieldeditor",
            json={
                "objectID": 0,
                "name": "Loyalty",
                "description": "Loyalty v2",
                "fields": [
                    [
                        {
                            "field": tier,
                            "alias": "Tier",
                            "options": {"remove": ["Bronze"], "add": ["Platinum"]},
                        }
                    ]
                ],
            },
        )
    )
    assert upd["success"][tier] == "Tier" and upd["success"]["description"] == "Loyalty v2"
    meta = ok(api.get("/objects/meta", params={"objectID": 0}))["0"]["fields"]
    assert meta[tier]["alias"] == "Tier" and "Bronze" not in meta[tier]["options"].values()
    err(
        api.put(
            "/objects/fieldeditor",
            json={
                "objectID": 0,
                "name": "Loyalty",
                "fields": [[{"field": points, "type": "drop"}]],
            },
        ),
        400,
    )
    err(
        api.delete("/objects/fieldeditor", params={"objectID": 0, "section": "Loyalty"}), 400
    )  # not empty
    err(
        api.delete("/objects/fieldeditor", params={"objectID": 0, "field": "firstname"}), 400
    )  # system field
    assert (
        ok(api.delete("/objects/fieldeditor", params={"objectID": 0, "field": tier})) == "Deleted"
    )
    assert (
        ok(api.delete("/objects/fieldeditor", params={"objectID": 0, "field": points})) == "Deleted"
    )
    assert (
        ok(api.delete("/objects/fieldeditor", params={"objectID": 0, "section": "Loyalty"}))
        == "Deleted"
    )
    meta = ok(api.get("/objects/meta", params={"objectID": 0}))["0"]["fields"]
    assert tier not in meta and points not in meta
    assert tier not in ok(api.get("/Contact", params={"id": 2}))


def test_tags_crud(api: httpx.Client) -> None:
    tag = ok(api.post("/Tags", data={"tag_name": "Sandbox Test Tag"}))
    assert (
        tag["tag_name"] == "Sandbox Test Tag"
        and tag["object_type_id"] == "0"
        and tag["tag_id"].isdigit()
    )
    err(
        api.post("/Tags", data={"tag_name": "sandbox test tag"}), 400
    )  # tag names are unique per type
    err(api.post("/Tags", data={}), 400)
    got = ok(api.get("/Tag", params={"id": tag["tag_id"]}))
    assert got["tag_name"] == "Sandbox Test Tag"
    attrs = ok(api.put("/Tags", data={"id": tag["tag_id"], "tag_name": "Renamed Tag"}))["attrs"]
    assert attrs["tag_name"] == "Renamed Tag" and attrs["id"] == tag["tag_id"]
    names = [t["tag_name"] for t in ok(api.get("/Tags", params={"range": 50}))]
    assert "Renamed Tag" in names and "VIP" in names
    ok(api.delete("/Tag", params={"id": tag["tag_id"]}))
    err(api.get("/Tag", params={"id": tag["tag_id"]}), 404)


def test_offers_validate_their_data(api: httpx.Client) -> None:
    offer = {
        "products": [
            {
                "id": 1,
                "quantity": 1,
                "type": "single",
                "price": [{"price": 49, "payment_count": 1, "unit": "month"}],
            }
        ]
    }
    created = ok(
        api.post("/Offers", json={"name": "Test offer", "public": 1, "data": json.dumps(offer)})
    )
    assert json.loads(created["data"])["products"][0]["id"] == 1
    err(api.post("/Offers", json={"name": "Broken", "data": "{not json"}), 400)
    err(api.post("/Offers", json={"data": json.dumps(offer)}), 400)  # name is required
    attrs = ok(api.put("/Offers", json={"id": created["id"], "name": "Renamed offer"}))["attrs"]
    assert attrs["name"] == "Renamed offer"
