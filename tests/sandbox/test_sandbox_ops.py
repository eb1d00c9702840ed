"""Rate limiting, fault injection, the request log, robustness against bad input, seeding, CLI."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from ontraport_mcp.sandbox import SandboxConfig, catalog, create_app
from ontraport_mcp.sandbox.app import open_store
from ontraport_mcp.sandbox.catalog import snapshot
from ontraport_mcp.sandbox.cli import build_parser
from ontraport_mcp.sandbox.seed import ANCHORS
from ontraport_mcp.sandbox.testing import SandboxServer
from tests.sandbox.sbx_util import err, ok


def test_rate_limit_headers_and_429(fresh_sandbox: SandboxServer) -> None:
    fresh_sandbox.set_rate_limit(5, 60)
    with fresh_sandbox.client() as c:
        remaining = []
        for _ in range(5):
            r = c.get("/Contact", params={"id": 1})
            assert r.status_code == 200 and r.headers["X-Rate-Limit-Limit"] == "5"
            remaining.append(int(r.headers["X-Rate-Limit-Remaining"]))
            assert 0 < int(r.headers["X-Rate-Limit-Reset"]) <= 60
        assert remaining == [4, 3, 2, 1, 0]
        r = c.get("/Contact", params={"id": 1})
        assert "180" not in err(r, 429) and "5 requests" in err(r, 429)
        assert int(r.headers["Retry-After"]) >= 1 and r.headers["X-Rate-Limit-Remaining"] == "0"
        bad = c.get("/NoSuchThing")  # errors carry the headers too
        assert bad.status_code == 429 and "X-Rate-Limit-Reset" in bad.headers
    fresh_sandbox.set_rate_limit(
        3, 0.5
    )  # rolling window: requests are allowed again after it passes
    with fresh_sandbox.client() as c:
        assert [c.get("/Tags").status_code for _ in range(4)] == [200, 200, 200, 429]
        time.sleep(0.6)
        r = c.get("/Tags")
        assert r.status_code == 200 and r.headers["X-Rate-Limit-Remaining"] == "2"
        e = c.get("/objects", params={"objectID": 9999})
        assert e.status_code == 400 and e.headers["X-Rate-Limit-Remaining"] == "1"


def _statuses(sb: SandboxServer, n: int = 30) -> list[int]:
    with sb.client() as c:
        return [c.get("/Contact", params={"id": 1}).status_code for _ in range(n)]


def test_faults_are_seeded_and_reproducible(fresh_sandbox: SandboxServer) -> None:
    fresh_sandbox.set_faults(error_rate=0.4, error_statuses=[500, 502, 503], seed=7)
    first = _statuses(fresh_sandbox)
    assert {500, 502, 503} & set(first) and 200 in first
    fresh_sandbox.set_faults(seed=7)  # re-seeding restarts the same sequence
    assert _statuses(fresh_sandbox) == first
    fresh_sandbox.set_faults(seed=8)
    assert _statuses(fresh_sandbox) != first
    with fresh_sandbox.client() as c:
        fresh_sandbox.set_faults(seed=7)
        r = next(
            r
            for r in (c.get("/Contact", params={"id": 1}) for _ in range(30))
            if r.status_code >= 500
        )
        assert r.json()["code"] == r.status_code and "X-Rate-Limit-Limit" in r.headers
    fresh_sandbox.clear_faults()
    assert set(_statuses(fresh_sandbox, 5)) == {200}


def test_fault_kinds(fresh_sandbox: SandboxServer) -> None:
    sb = fresh_sandbox
    with sb.client() as c:
        sb.set_faults(force_429=True)
        r = c.get("/Tags")
        err(r, 429)
        assert r.headers["X-Rate-Limit-Remaining"] == "0" and "Retry-After" in r.headers
        sb.set_faults(force_429=False, malformed_rate=1.0)
        r = c.get("/Tags")
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
        with pytest.raises(json.JSONDecodeError):
            json.loads(r.content)
        sb.set_faults(malformed_rate=0.0, latency_ms=150)
        t = time.perf_counter()
        ok(c.get("/Tags"))
        assert time.perf_counter() - t >= 0.15
        sb.set_faults(latency_ms=0, hang_rate=1.0, hang_s=0.3)
        t = time.perf_counter()
        err(c.get("/Tags"), 504)
        assert time.perf_counter() - t >= 0.3
        sb.set_faults(hang_rate=0.0)
        attempts = ok(c.get("/Transaction", params={"id": 6}))["recharge_attempts"]
        sb.set_faults(error_rate=1.0, error_statuses=[503], paths=["/transaction"])
        ok(c.get("/Tags"))  # other paths are not affected
        err(c.post("/transaction/rerun", json={"ids": [6]}), 503)
        assert (
            ok(c.get("/Transaction", params={"id": 6}))["recharge_attempts"] == attempts
        )  # nothing happened
        with httpx.Client(base_url=sb.root_url) as admin:  # faults never apply outside /1
            assert admin.get("/_admin/health").status_code == 200
            bad = admin.put("/_admin/faults", json={"error_rate": 3})
            assert bad.status_code == 400 and bad.json()["code"] == 400
            assert admin.put("/_admin/faults", json={"nonsense": 1}).status_code == 400
            assert admin.get("/_admin/faults").json()["error_statuses"] == [503]
    sb.clear_faults()


def test_faults_from_config_at_start() -> None:
    from ontraport_mcp.sandbox.config import FaultSettings

    cfg = SandboxConfig(
        rate_limit=1000, faults=FaultSettings(error_rate=1.0, error_statuses=[502], seed=3)
    )
    with SandboxServer(cfg) as sb, sb.client() as c:
        err(c.get("/Tags"), 502)


def test_request_log(fresh_sandbox: SandboxServer) -> None:
    sb = fresh_sandbox
    sb.clear_requests()
    with sb.client() as c:
        ok(c.get("/Contacts", params={"range": 2, "listFields": "email"}))
        ok(c.put("/objects/tag", data={"objectID": 0, "ids": "1", "add_list": "3"}))
        ok(
            c.post(
                "/objects", json={"objectID": 0, "firstname": "Logged", "api_key": "sandbox-key"}
            )
        )
    with httpx.Client(base_url=sb.base_url) as anon:
        anon.get("/Contacts", headers={"Api-Key": "sandbox-key", "Api-Appid": "wrong"})
    log = sb.requests()
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("GET", "/Contacts", 200),
        ("PUT", "/objects/tag", 200),
        ("POST", "/objects", 200),
        ("GET", "/Contacts", 401),
    ]
    assert log[0]["query"] == {"range": "2", "listFields": "email"} and log[0]["body"] is None
    assert log[1]["body"] == {"objectID": "0", "ids": "1", "add_list": "3"}
    assert (
        log[2]["body"]["firstname"] == "Logged"
        and log[2]["account"] == 204817
        and log[3]["account"] is None
    )
    text = json.dumps(log)
    assert "sandbox-key" not in text and "2_AppID_SANDBOX" not in text
    assert [e["seq"] for e in log] == sorted(e["seq"] for e in log)
    sb.clear_requests()
    assert sb.requests() == []


BAD_REQUESTS = [
    ("GET", "/objects", {"objectID": "-1"}, None),
    ("GET", "/objects", {"objectID": "0", "range": "x"}, None),
    ("GET", "/objects", {"objectID": "0", "ids": "a,b"}, None),
    ("GET", "/objects", {"objectID": "0", "start": "99999999999999999999999"}, None),
    (
        "GET",
        "/objects",
        {"objectID": "0", "condition": json.dumps([[[[[[[[[[[[{"a": 1}]]]]]]]]]]]])},
        None,
    ),
    (
        "GET",
        "/objects",
        {
            "objectID": "0",
            "condition": json.dumps(
                [{"field": {"field": "id"}, "op": "IS", "value": {"value": 5}}]
            ),
        },
        None,
    ),
    ("GET", "/objects", {"objectID": "0", "group_id": "x"}, None),
    ("GET", "/objects", {"objectID": "0", "searchNotes": "maybe", "search": "a"}, None),
    ("GET", "/objects/meta", {"objectID": "zero"}, None),
    ("GET", "/object/getByEmail", {"objectID": "0"}, None),
    ("POST", "/objects", None, "[1, 2, 3]"),
    ("POST", "/objects", None, '{"objectID": 0, '),
    ("POST", "/objects", None, "\x00\x01garbage"),
    ("PUT", "/objects", None, json.dumps({"objectID": 0, "id": 1, "contact_cat": "*/*x*/*"})),
    ("PUT", "/objects", None, json.dumps({"objectID": 0, "id": 1, "birthday": [1, 2]})),
    ("PUT", "/objects", None, json.dumps({"objectID": 0, "id": True})),
    ("POST", "/objects/saveorupdate", None, json.dumps({"objectID": 46})),
    (
        "PUT",
        "/objects/tagByName",
        None,
        json.dumps({"objectID": 0, "ids": [1], "add_names": [{"x": 1}]}),
    ),
    (
        "POST",
        "/objects/fieldeditor",
        None,
        json.dumps({"objectID": 0, "name": "S", "fields": [[{"alias": "A", "type": "blob"}]]}),
    ),
    (
        "POST",
        "/objects/fieldeditor",
        None,
        json.dumps({"objectID": 0, "name": "S", "fields": "nope"}),
    ),
    ("POST", "/task/complete", None, json.dumps({"ids": [1], "data": "x"})),
    ("POST", "/task/assign", None, json.dumps({"ids": [1], "message": "not json"})),
    ("POST", "/task/reschedule", None, json.dumps({"id": 1, "newtime": "soon"})),
    (
        "POST",
        "/transaction/processManual",
        None,
        json.dumps(
            {
                "contact_id": 1,
                "chargeNow": "chargeLog",
                "offer": {"products": [{"id": 1, "price": [{"price": "NaN"}]}]},
            }
        ),
    ),
    (
        "POST",
        "/transaction/processManual",
        None,
        json.dumps(
            {
                "contact_id": 1,
                "chargeNow": "chargeNow",
                "gateway_id": 1,
                "payer": {"ccnumber": "12"},
                "offer": {"products": [{"id": 1}]},
            }
        ),
    ),
    ("PUT", "/transaction/markPaid", None, json.dumps({"id": 2, "type": 9})),
    ("PUT", "/transaction/order", None, json.dumps({"offer": []})),
    ("PUT", "/CreditCard/default", None, json.dumps({"id": "abc"})),
    ("DELETE", "/objects/fieldeditor", {"objectID": "0"}, None),
    ("PUT", "/Tasks", None, json.dumps({"id": 1, "item_id": "1.5"})),
    ("POST", "/objects", None, "[" * 5000 + "]" * 5000),
    ("POST", "/objects", None, json.dumps({"objectID": 0, "x": json.loads("[" * 200 + "]" * 200)})),
    ("GET", "/objects", {"objectID": "0", "condition": "[" * 3000 + "]" * 3000}, None),
    ("GET", "/objects", {"objectID": "0", "ids": "\u00b9,\u0663"}, None),
    ("POST", "/message", None, json.dumps({"type": ["task"]})),
]


@pytest.mark.parametrize(("method", "path", "query", "body"), BAD_REQUESTS)
def test_bad_input_is_4xx_never_500(
    msb: SandboxServer, method: str, path: str, query: dict | None, body: str | None
) -> None:
    with msb.client() as c:
        r = c.request(
            method,
            path,
            params=query,
            content=body,
            headers={"Content-Type": "application/json"} if body else {},
        )
        assert 400 <= r.status_code < 500, r.text
        assert r.json()["code"] == r.status_code and "Traceback" not in r.text


def test_unicode_digits_are_not_numbers(msb: SandboxServer) -> None:
    with msb.client() as c:
        assert (
            ok(c.get("/Tasks", params={"search": "\u00b9"})) == []
        )  # superscript one is not an id
        ok(c.get("/Contacts", params={"search": "\u0663"}))
        err(c.put("/Contacts", json={"id": 1, "grade": "\u0663"}), 400)
        r = c.get("/Contacts", params={"x" + "[a]" * 500: "1"})  # deep bracket keys are cut off
        assert r.status_code == 200


def test_seed_is_deterministic() -> None:
    def dump(seed: int) -> dict:
        store = open_store(SandboxConfig(seed=seed, contacts=40))
        try:
            return {tid: store.select(tid) for tid in store.types}
        finally:
            store.close()

    a, b, c = dump(5), dump(5), dump(6)
    assert a == b
    assert a[0] != c[0]
    assert a[0][0]["email"] == c[0][0]["email"] == ANCHORS["contact_email"]  # anchors are fixed
    for type_id in snapshot():
        assert a[int(type_id)], f"no seeded records for object type {type_id}"


def test_custom_objects_option_extends_meta(tmp_path: Path) -> None:
    with (
        SandboxServer(SandboxConfig(custom_objects=4, contacts=20, rate_limit=1000)) as sb,
        sb.client() as c,
    ):
        meta = ok(c.get("/objects/meta"))
        known = {int(k): entry["name"] for k, entry in snapshot().items()}
        extra = sorted(int(k) for k in meta if int(k) not in known)
        first = max(known) + 1  # above every type of the snapshot, custom ones included
        assert extra == list(range(first, first + 4))
        assert {int(k): meta[k]["name"] for k in meta if int(k) in known} == known
        for tid in extra:
            assert {"name", "fields"} == set(meta[str(tid)])
            rows = ok(c.get("/objects", params={"objectID": tid}))
            assert len(rows) == 2
        dlms = [
            int(
                ok(c.get("/objects", params={"objectID": t, "sort": "dlm", "sortDir": "desc"}))[0][
                    "dlm"
                ]
            )
            for t in extra
        ]
        assert dlms == sorted(dlms)  # newer custom object types have more recent records


def test_synthetic_custom_objects_never_replace_a_type_of_the_snapshot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A snapshot taken from an account whose custom object ids have a gap (10003 deleted,
    10004 kept): the synthetic types are numbered above all of them, their fields and options
    above the snapshot's, and every snapshot type keeps its name, fields and (no) records."""
    data = snapshot()
    pet_fields = {
        "f1801": {"alias": "Pet Name", "type": "text"},
        "f1802": {"alias": "Species", "type": "drop", "options": {"9005": "Cat", "9011": "Dog"}},
    }
    data["10004"] = {"name": "Pet", "fields": pet_fields}
    text = json.dumps({"code": 0, "data": data, "account_id": 1})
    monkeypatch.setattr(catalog, "_snapshot_text", lambda: text)

    meta = catalog.initial_meta(3)
    assert {k: meta[k]["name"] for k in data} == {k: entry["name"] for k, entry in data.items()}
    assert set(meta["10004"]["fields"]) == set(pet_fields)
    synthetic = sorted(int(k) for k in meta if k not in data)
    assert synthetic == [10005, 10006, 10007]

    def numbered(type_ids: list[str]) -> tuple[set[str], set[str]]:
        fields = [meta[t]["fields"] for t in type_ids]
        numbers = {f for each in fields for f in each if f[:1] == "f" and f[1:].isdigit()}
        options = {o for each in fields for m in each.values() for o in m.get("options") or {}}
        return numbers, {o for o in options if o.isdigit()}

    snapshot_fields, snapshot_options = numbered(list(data))
    synthetic_fields, synthetic_options = numbered([str(t) for t in synthetic])
    assert min(int(f[1:]) for f in synthetic_fields) > max(int(f[1:]) for f in snapshot_fields)
    assert min(map(int, synthetic_options)) > max(map(int, snapshot_options))

    store = open_store(SandboxConfig(custom_objects=3, contacts=10))
    try:
        assert store.types[10004].name == "Pet" and store.count(10004) == 0
        assert [store.count(t) for t in synthetic] == [2, 2, 2]
    finally:
        store.close()


def test_file_database_persists(tmp_path: Path) -> None:
    db = str(tmp_path / "sandbox.sqlite3")
    with SandboxServer(SandboxConfig(db=db, contacts=15, rate_limit=1000)) as sb, sb.client() as c:
        cid = ok(c.post("/Contacts", json={"firstname": "Persisted"}))["id"]
    app = create_app(SandboxConfig(db=db, contacts=15, seed=99))
    store = app.state.sandbox.store
    try:
        assert store.get(0, int(cid))["firstname"] == "Persisted"
        assert store.count(0) == 16  # not re-seeded
    finally:
        store.close()


def test_cli_parser_defaults() -> None:
    args = build_parser().parse_args([])
    assert (args.host, args.port, args.db, args.api_key, args.app_id, args.rate_limit) == (
        "127.0.0.1",
        8081,
        ":memory:",
        "sandbox-key",
        "2_AppID_SANDBOX",
        180,
    )
    args = build_parser().parse_args(
        ["--db", "x.db", "--seed", "3", "--contacts", "10", "--custom-objects", "2"]
    )
    assert (args.db, args.seed, args.contacts, args.custom_objects) == ("x.db", 3, 10, 2)
